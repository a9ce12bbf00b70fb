"""Length metrics: how many words a prediction has, alone and relative to the reference.

Neither has a better direction (shorter is not always better): they are
registered with ``higher_is_better=None``, so a comparison reports their change
("changed") and never calls it better or worse, a regression gate ignores them,
and neither decides which answers are right.
"""

from __future__ import annotations

from collections.abc import Sequence

from assay.metrics.base import MetricFn, Score, ScoreInput, require_reference
from assay.metrics.registry import register_metric


def word_count(text: str) -> int:
    """The number of whitespace-separated words in the text."""
    return len(text.split())


@register_metric("length", higher_is_better=None)
def length() -> MetricFn:
    """Number of whitespace-separated words in the prediction."""

    def score(items: Sequence[ScoreInput]) -> list[Score]:
        return [Score(float(word_count(item.prediction))) for item in items]

    return score


@register_metric("length_ratio", higher_is_better=None)
def length_ratio() -> MetricFn:
    """Words in the prediction divided by words in the reference (1.0 = same length).

    An empty reference counts as one word, so the ratio is the prediction's word
    count rather than a division by zero. The detail reads "42 words vs 10".
    """

    def score(items: Sequence[ScoreInput]) -> list[Score]:
        scores = []
        for item in items:
            predicted = word_count(item.prediction)
            expected = word_count(require_reference(item, "length_ratio"))
            words = "word" if predicted == 1 else "words"
            detail = f"{predicted} {words} vs {expected}"
            scores.append(Score(predicted / max(expected, 1), detail))
        return scores

    return score

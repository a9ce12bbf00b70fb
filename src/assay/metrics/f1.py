"""Token F1 as in SQuAD: the overlap of normalised answer tokens."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from assay.metrics.base import MetricFn, Score, ScoreInput, require_reference
from assay.metrics.normalize import normalize_answer
from assay.metrics.registry import register_metric


def token_f1(prediction: str, reference: str) -> Score:
    """SQuAD token F1 of one prediction against one reference, with precision and recall in detail.

    Both sides go through :func:`~assay.metrics.normalize.normalize_answer`.
    Two empty answers agree (1.0); an empty answer against a non-empty one
    scores 0.0.
    """
    predicted = normalize_answer(prediction).split()
    expected = normalize_answer(reference).split()
    if not predicted or not expected:
        return Score(float(predicted == expected))
    overlap = sum((Counter(predicted) & Counter(expected)).values())
    if overlap == 0:
        return Score(0.0, "precision 0.00, recall 0.00")
    precision = overlap / len(predicted)
    recall = overlap / len(expected)
    f1 = 2 * precision * recall / (precision + recall)
    return Score(f1, f"precision {precision:.2f}, recall {recall:.2f}")


@register_metric("f1")
def f1() -> MetricFn:
    """SQuAD token F1 between prediction and reference (lowercased, no punctuation or articles)."""

    def score(items: Sequence[ScoreInput]) -> list[Score]:
        return [token_f1(item.prediction, require_reference(item, "f1")) for item in items]

    return score

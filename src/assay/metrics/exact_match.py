"""Exact match: the prediction is the reference, up to whitespace, case and punctuation if asked."""

from __future__ import annotations

from collections.abc import Sequence

from assay.metrics.base import MetricFn, Score, ScoreInput, require_reference
from assay.metrics.normalize import normalize_text
from assay.metrics.registry import register_metric


@register_metric("exact_match", pass_fail=True)
def exact_match(ignore_case: bool = False, ignore_punctuation: bool = False) -> MetricFn:
    """1.0 when the prediction equals the reference after collapsing whitespace, else 0.0.

    Args:
        ignore_case: Compare case-insensitively.
        ignore_punctuation: Drop punctuation from both sides before comparing.
    """

    def normalize(text: str) -> str:
        return normalize_text(text, ignore_case=ignore_case, ignore_punctuation=ignore_punctuation)

    def score(items: Sequence[ScoreInput]) -> list[Score]:
        return [
            Score(
                float(
                    normalize(item.prediction) == normalize(require_reference(item, "exact_match"))
                )
            )
            for item in items
        ]

    return score

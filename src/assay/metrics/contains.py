"""Contains: the reference answer appears somewhere in the prediction."""

from __future__ import annotations

from collections.abc import Sequence

from assay.metrics.base import MetricFn, Score, ScoreInput, require_reference
from assay.metrics.normalize import normalize_text
from assay.metrics.registry import register_metric


@register_metric("contains", pass_fail=True)
def contains(ignore_case: bool = True) -> MetricFn:
    """1.0 when the reference occurs in the prediction (whitespace collapsed), else 0.0.

    Matching is on substrings, so "Paris" is found in "Parisian"; an empty
    reference is found in every prediction.

    Args:
        ignore_case: Match case-insensitively (the default).
    """

    def score(items: Sequence[ScoreInput]) -> list[Score]:
        return [
            Score(
                float(
                    normalize_text(require_reference(item, "contains"), ignore_case=ignore_case)
                    in normalize_text(item.prediction, ignore_case=ignore_case)
                )
            )
            for item in items
        ]

    return score

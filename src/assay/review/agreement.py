"""Agreement between reviewers who labelled the same examples: Cohen's kappa for each
pair of reviewers, Fleiss' kappa over all of them.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from assay.review.labels import VERDICTS, Label


@dataclass
class Agreement:
    """How much reviewers agree on verdicts.

    Attributes:
        reviewers: Everyone who labelled, sorted.
        cohen: (reviewer, reviewer) -> (Cohen's kappa, examples both labelled).
        fleiss: Fleiss' kappa over examples with two or more labels (NaN if none).
        n_items: Examples with two or more labels.
    """

    reviewers: list[str]
    cohen: dict[tuple[str, str], tuple[float, int]] = field(default_factory=dict)
    fleiss: float = math.nan
    n_items: int = 0


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> float:
    """Cohen's kappa of two raters' categories on the same items (NaN if undefined)."""
    if len(first) != len(second):
        raise ValueError("both raters must rate the same items")
    n = len(first)
    if n == 0:
        return math.nan
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    ca, cb = Counter(first), Counter(second)
    expected = sum(ca[k] * cb[k] for k in ca) / (n * n)
    if expected == 1.0:
        return 1.0 if observed == 1.0 else math.nan
    return (observed - expected) / (1.0 - expected)


def fleiss_kappa(items: Sequence[Sequence[str]]) -> float:
    """Fleiss' kappa for items rated by two or more raters each (counts may differ
    between items); NaN when undefined."""
    rated = [item for item in items if len(item) >= 2]
    if not rated:
        return math.nan
    totals: Counter[str] = Counter()
    agreement = 0.0
    for item in rated:
        counts = Counter(item)
        n = len(item)
        totals.update(counts)
        agreement += (sum(c * c for c in counts.values()) - n) / (n * (n - 1))
    observed = agreement / len(rated)
    all_ratings = sum(totals.values())
    expected = sum((c / all_ratings) ** 2 for c in totals.values())
    if expected == 1.0:
        return 1.0 if observed == 1.0 else math.nan
    return (observed - expected) / (1.0 - expected)


def agreement(labels: Sequence[Label]) -> Agreement:
    """Cohen's kappa per pair of reviewers and Fleiss' kappa, on verdicts."""
    by_example: dict[str, dict[str, str]] = {}
    for label in labels:
        if label.verdict in VERDICTS:
            by_example.setdefault(label.example_id, {})[label.reviewer] = label.verdict
    reviewers = sorted({r for verdicts in by_example.values() for r in verdicts})
    result = Agreement(reviewers=reviewers)
    for a, b in itertools.combinations(reviewers, 2):
        both = [v for v in by_example.values() if a in v and b in v]
        if both:
            kappa = cohen_kappa([v[a] for v in both], [v[b] for v in both])
            result.cohen[(a, b)] = (kappa, len(both))
    items = [list(v.values()) for v in by_example.values() if len(v) >= 2]
    result.fleiss = fleiss_kappa(items)
    result.n_items = len(items)
    return result

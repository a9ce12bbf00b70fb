"""Paired statistics for comparing two runs on the same examples."""

from __future__ import annotations

import numpy as np

_MAX_CELLS = 4_000_000


def mcnemar(a: np.ndarray, b: np.ndarray) -> float:
    """Exact McNemar p-value (two-sided binomial test on the discordant pairs) for 0/1 outcomes."""
    from scipy.stats import binomtest

    only_a = int(np.sum((a == 1) & (b == 0)))
    only_b = int(np.sum((a == 0) & (b == 1)))
    if only_a + only_b == 0:
        return 1.0
    return float(binomtest(min(only_a, only_b), only_a + only_b, 0.5).pvalue)


def permutation_test(diff: np.ndarray, *, rounds: int = 5000, seed: int = 0) -> float:
    """Paired sign-flip permutation p-value for a mean difference of zero (two-sided).

    Monte Carlo over random sign flips, counting the observed statistic as one of the
    draws ((extreme + 1) / (rounds + 1)), so the p-value is never below its nominal level.
    """
    n = diff.size
    if n == 0 or not np.any(diff):
        return 1.0
    rng = np.random.default_rng(seed)
    observed = abs(float(diff.sum()))
    # Sums of the same values in another order differ by rounding; a relative slack keeps
    # an exact tie (the identity flip, a symmetric one) counted whatever the score scale.
    slack = 1e-9 * float(np.abs(diff).sum())
    extreme = 0
    chunk = max(1, _MAX_CELLS // n)
    for start in range(0, rounds, chunk):
        size = min(chunk, rounds - start)
        signs = rng.integers(0, 2, size=(size, n), dtype=np.int8) * 2 - 1
        sums = np.abs(signs @ diff)
        extreme += int(np.sum(sums >= observed - slack))
    return (extreme + 1) / (rounds + 1)


def bootstrap_interval(
    diff: np.ndarray, *, rounds: int = 2000, seed: int = 0, confidence: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of paired differences."""
    n = diff.size
    if n == 0:
        return float("nan"), float("nan")
    if np.all(diff == diff[0]):
        return float(diff[0]), float(diff[0])
    rng = np.random.default_rng(seed)
    chunk = max(1, _MAX_CELLS // n)
    means = np.concatenate(
        [
            diff[rng.integers(0, n, size=(min(chunk, rounds - s), n))].mean(axis=1)
            for s in range(0, rounds, chunk)
        ]
    )
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)

"""The mean of a metric over a run, and its 95% interval.

The rule, the same in every view (terminal, JSON, report, review app):

- values that are all 0 or 1 (a proportion: exact match, accuracy) get the Wilson
  score interval, which never leaves [0, 1] and stays honest at 0% and 100%
  (0 of 25 right is [0, 0.133], not a point);
- other values (F1, similarity, a judge's 1-10) get the percentile bootstrap
  interval, which stays within the range of the values themselves;
- an average over several tasks (the leaderboard average, MMLU over subjects) gets
  a stratified bootstrap: each task's questions resampled on their own.

NaN values (examples a metric could not score) are left out, and counted as
``unscored`` beside ``n``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from assay.exceptions import OptionError
from assay.metrics.base import MetricSummary

# Bootstrap resamples are drawn in chunks of at most this many indices, so a
# large run does not allocate rounds x n integers at once.
_MAX_CHUNK = 4_000_000


def summarize(
    metric: str,
    values: Sequence[float],
    *,
    rounds: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> MetricSummary:
    """The mean of a metric's values and its confidence interval (the module's rule).

    Args:
        metric: The metric's name, carried into the summary.
        values: One value per example scored; NaN for one the metric could not score.
        rounds: Bootstrap resamples (values that are not all 0 or 1).
        seed: Seed for the resampling, so the same values give the same interval.
        confidence: Coverage of the interval (0.95 = the 2.5th to 97.5th percentile).

    Raises:
        OptionError: ``rounds`` is below 1 or ``confidence`` is not between 0 and 1.
    """
    _check(rounds, confidence)
    data = np.asarray(values, dtype=np.float64).reshape(-1)
    missing = int(np.isnan(data).sum())
    data = data[~np.isnan(data)]
    n = int(data.size)
    if n == 0:
        return MetricSummary(metric, math.nan, math.nan, math.nan, 0, missing)
    mean = float(data.mean())
    if is_proportion(data):
        low, high = wilson(int(data.sum()), n, confidence)
    elif np.all(data == data[0]):
        low = high = mean
    else:
        means = _bootstrap_means(data, rounds, np.random.default_rng(seed))
        low, high = _percentiles(means, confidence)
    return MetricSummary(metric, mean, low, high, n, missing)


def is_proportion(data: np.ndarray) -> bool:
    """Whether every value is 0 or 1, so that the mean is a proportion."""
    return bool(np.all((data == 0.0) | (data == 1.0)))


def wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (Wilson 1927), inside [0, 1]."""
    if n == 0:
        return math.nan, math.nan
    # Imported here: scipy.stats takes most of a second, which every CLI command
    # (--help too) would pay at start.
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def stratified_mean(
    parts: Sequence[Sequence[float]],
    *,
    rounds: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """The mean of the parts' means (each task counts once) and its stratified bootstrap
    interval: every round resamples each part's values on their own.

    Returns:
        (mean, ci_low, ci_high); NaN when a part is empty.
    """
    _check(rounds, confidence)
    arrays = [np.asarray(p, dtype=np.float64) for p in parts]
    if not arrays or any(a.size == 0 for a in arrays):
        return math.nan, math.nan, math.nan
    mean = float(np.mean([a.mean() for a in arrays]))
    rng = np.random.default_rng(seed)
    per_part = np.stack([_bootstrap_means(a, rounds, rng) for a in arrays])
    low, high = _percentiles(per_part.mean(axis=0), confidence)
    return mean, low, high


def _check(rounds: int, confidence: float) -> None:
    if rounds < 1:
        raise OptionError("rounds", f"must be 1 or more, got {rounds}")
    if not 0.0 < confidence < 1.0:
        raise OptionError("confidence", f"must be between 0 and 1 (exclusive), got {confidence}")


def _percentiles(means: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0
    low, high = np.percentile(means, [100.0 * tail, 100.0 * (1.0 - tail)])
    return float(low), float(high)


def _bootstrap_means(data: np.ndarray, rounds: int, rng: np.random.Generator) -> np.ndarray:
    n = data.size
    chunk = max(1, _MAX_CHUNK // n)
    parts = []
    for start in range(0, rounds, chunk):
        size = min(chunk, rounds - start)
        indices = rng.integers(0, n, size=(size, n))
        parts.append(data[indices].mean(axis=1))
    return np.concatenate(parts)

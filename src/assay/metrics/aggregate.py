"""Aggregating a metric over a run: the mean and a percentile bootstrap interval."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from assay.errors import MetricError
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
    """The mean of a metric's values and its percentile bootstrap confidence interval.

    NaN values (examples the metric could not score) are left out, and ``n`` is
    the number of values used. With no values the mean and interval are NaN;
    with one value, or all values equal, the interval is that value.

    Args:
        metric: The metric's name, carried into the summary.
        values: One value per example.
        rounds: Bootstrap resamples.
        seed: Seed for the resampling, so the same values give the same interval.
        confidence: Coverage of the interval (0.95 = the 2.5th to 97.5th percentile).

    Raises:
        MetricError: ``rounds`` is below 1 or ``confidence`` is not between 0 and 1.
    """
    if rounds < 1:
        raise MetricError(f"Bootstrap rounds must be at least 1, got {rounds}.")
    if not 0.0 < confidence < 1.0:
        raise MetricError(f"Confidence must be between 0 and 1 (exclusive), got {confidence}.")
    data = np.asarray(values, dtype=np.float64).reshape(-1)
    data = data[~np.isnan(data)]
    n = int(data.size)
    if n == 0:
        return MetricSummary(metric, math.nan, math.nan, math.nan, 0)
    mean = float(data.mean())
    if np.all(data == data[0]):
        return MetricSummary(metric, mean, mean, mean, n)
    means = _bootstrap_means(data, rounds, np.random.default_rng(seed))
    tail = (1.0 - confidence) / 2.0
    low, high = np.percentile(means, [100.0 * tail, 100.0 * (1.0 - tail)])
    return MetricSummary(metric, mean, float(low), float(high), n)


def _bootstrap_means(data: np.ndarray, rounds: int, rng: np.random.Generator) -> np.ndarray:
    n = data.size
    chunk = max(1, _MAX_CHUNK // n)
    parts = []
    for start in range(0, rounds, chunk):
        size = min(chunk, rounds - start)
        indices = rng.integers(0, n, size=(size, n))
        parts.append(data[indices].mean(axis=1))
    return np.concatenate(parts)

"""summarize: the mean and its bootstrap interval."""

from __future__ import annotations

import math

import numpy as np
import pytest

from assay.errors import MetricError
from assay.metrics import MetricSummary, aggregate, summarize


def test_constant_values_collapse_the_interval() -> None:
    assert summarize("em", [1.0] * 50) == MetricSummary("em", 1.0, 1.0, 1.0, 50)
    assert summarize("em", [0.0, 0.0, 0.0]) == MetricSummary("em", 0.0, 0.0, 0.0, 3)


def test_single_value() -> None:
    assert summarize("f1", [0.25]) == MetricSummary("f1", 0.25, 0.25, 0.25, 1)


def test_no_values_is_nan() -> None:
    summary = summarize("f1", [])
    assert summary.n == 0
    assert math.isnan(summary.mean) and math.isnan(summary.ci_low) and math.isnan(summary.ci_high)


def test_known_mean_and_an_interval_around_it() -> None:
    values = [1.0, 0.0, 1.0, 1.0]
    summary = summarize("em", values)
    assert summary.mean == 0.75
    assert summary.n == 4
    assert 0.0 <= summary.ci_low <= summary.mean <= summary.ci_high <= 1.0
    assert summary.ci_low < summary.ci_high


def test_interval_matches_the_textbook_bootstrap() -> None:
    values = np.random.default_rng(1).random(200)
    summary = summarize("x", values.tolist(), rounds=500, seed=3)
    rng = np.random.default_rng(3)
    means = values[rng.integers(0, 200, size=(500, 200))].mean(axis=1)
    assert summary.ci_low == pytest.approx(np.percentile(means, 2.5))
    assert summary.ci_high == pytest.approx(np.percentile(means, 97.5))


def test_interval_narrows_with_more_data_and_lower_confidence() -> None:
    small = summarize("em", [1.0, 0.0] * 10)
    large = summarize("em", [1.0, 0.0] * 1000)
    narrow = summarize("em", [1.0, 0.0] * 10, confidence=0.5)
    assert large.ci_high - large.ci_low < small.ci_high - small.ci_low
    assert narrow.ci_high - narrow.ci_low < small.ci_high - small.ci_low
    assert large.ci_low == pytest.approx(0.5, abs=0.05)


def test_deterministic_for_a_seed() -> None:
    values = [0.1, 0.9, 0.4, 0.7, 0.3]
    assert summarize("f1", values, seed=7) == summarize("f1", values, seed=7)
    assert summarize("f1", values, seed=7) != summarize("f1", values, seed=8)


def test_nan_values_are_left_out() -> None:
    summary = summarize("judge", [1.0, math.nan, 0.0, math.nan])
    assert summary.n == 2
    assert summary.mean == 0.5
    assert summarize("judge", [math.nan, math.nan]).n == 0


def test_chunked_resampling_gives_the_same_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    values = [0.1, 0.9, 0.4, 0.7, 0.3, 0.2]
    whole = summarize("x", values, rounds=100)
    monkeypatch.setattr(aggregate, "_MAX_CHUNK", 13)  # two rounds per chunk
    assert summarize("x", values, rounds=100) == whole


def test_bad_settings() -> None:
    with pytest.raises(MetricError, match="rounds"):
        summarize("x", [1.0, 0.0], rounds=0)
    with pytest.raises(MetricError, match="Confidence"):
        summarize("x", [1.0, 0.0], confidence=95)

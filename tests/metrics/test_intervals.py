"""summarize: the mean and its bootstrap interval."""

from __future__ import annotations

import math

import numpy as np
import pytest

from assay.exceptions import OptionError
from assay.metrics import MetricSummary, intervals, summarize
from assay.metrics.intervals import stratified_mean, wilson


def test_constant_scores_collapse_the_interval() -> None:
    assert summarize("f1", [0.5] * 50) == MetricSummary("f1", 0.5, 0.5, 0.5, 50)


def test_all_right_or_all_wrong_proportions_keep_an_honest_interval() -> None:
    """0 of 25 right is not 'exactly 0': Wilson gives [0, 0.133], inside [0, 1]."""
    none = summarize("acc", [0.0] * 25)
    every = summarize("acc", [1.0] * 25)
    assert (none.mean, none.ci_low) == (0.0, 0.0)
    assert none.ci_high == pytest.approx(0.1332, abs=1e-4)
    assert (every.mean, every.ci_high) == (1.0, 1.0)
    assert every.ci_low == pytest.approx(1 - 0.1332, abs=1e-4)


def test_proportions_never_leave_zero_to_one() -> None:
    """The harness's mean +- 1.96 stderr gives [-0.19, 0.59] for 1 of 5; Wilson does not."""
    for right in range(6):
        summary = summarize("acc", [1.0] * right + [0.0] * (5 - right))
        assert 0.0 <= summary.ci_low <= summary.mean <= summary.ci_high <= 1.0
    assert wilson(1, 5) == pytest.approx((0.0362, 0.6245), abs=1e-4)  # textbook values


def test_stratified_average_resamples_each_part() -> None:
    mean, low, high = stratified_mean([[1.0, 0.0] * 20, [1.0] * 40])
    assert mean == pytest.approx(0.75)
    assert 0.6 < low < 0.75 < high < 0.9


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
    assert (summary.n, summary.unscored) == (2, 2)
    assert summary.mean == 0.5
    assert summarize("judge", [math.nan, math.nan]).n == 0


def test_chunked_resampling_gives_the_same_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    values = [0.1, 0.9, 0.4, 0.7, 0.3, 0.2]
    whole = summarize("x", values, rounds=100)
    monkeypatch.setattr(intervals, "_MAX_CHUNK", 13)  # two rounds per chunk
    assert summarize("x", values, rounds=100) == whole


def test_bad_settings() -> None:
    with pytest.raises(OptionError, match="rounds"):
        summarize("x", [1.0, 0.0], rounds=0)
    with pytest.raises(OptionError, match="confidence"):
        summarize("x", [1.0, 0.0], confidence=95)

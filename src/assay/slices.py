"""Slices: a run's metrics, and two runs' paired differences, per value of a metadata
field (an eval's "topic", "difficulty", "source"; a bench run's "task").

Every slice carries its own n and interval (the one interval rule of
metrics/intervals.py, and compare's paired tests), and a slice under SMALL_SLICE
examples is flagged ``small``: its interval is wide and a difference there is
rarely more than noise. Failed examples (no output) are in no slice's n, as in the
run's own summary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from assay.exceptions import OptionError
from assay.metrics.base import MetricSummary
from assay.metrics.intervals import summarize
from assay.runs.records import ExampleResult, Run

if TYPE_CHECKING:
    from assay.compare import Comparison

SMALL_SLICE = 20
"""Fewer scored examples than this make a slice "small"."""

NO_VALUE = "(none)"
"""The slice of the examples that lack the field."""


@dataclass(frozen=True)
class SliceSummary:
    """One metric over one slice of a run.

    Attributes:
        field: The metadata field sliced on.
        value: The slice's value of it (NO_VALUE for examples without the field).
        summary: The metric's mean, interval, n and unscored over the slice.
        small: n is under SMALL_SLICE.
    """

    field: str
    value: str
    summary: MetricSummary
    small: bool


def slice_value(result: ExampleResult, by: str) -> str:
    """The example's value of the field, as the slice's label."""
    value = result.metadata.get(by)
    if value is None or value == "":
        return NO_VALUE
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def split(results: Sequence[ExampleResult], by: str) -> dict[str, list[ExampleResult]]:
    """The results per value of the field, values in sorted order (NO_VALUE last).

    Raises:
        OptionError: No result has the field (the message lists those they have).
    """
    if results and not any(by in r.metadata for r in results):
        fields = sorted({key for r in results for key in r.metadata})
        have = ", ".join(fields) or "none"
        raise OptionError("by", f"{by!r}: no example has this field; the examples have: {have}")
    groups: dict[str, list[ExampleResult]] = {}
    for result in results:
        groups.setdefault(slice_value(result, by), []).append(result)
    return dict(sorted(groups.items(), key=lambda item: (item[0] == NO_VALUE, _order(item[0]))))


def _order(value: str) -> tuple[int, float, str]:
    """Numbers in numeric order before text in text order."""
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, math.nan, value)


def slice_summaries(run: Run, by: str) -> list[SliceSummary]:
    """Each metric of the run per slice (slices in order, the run's metric order within)."""
    metrics = [*run.info.metrics, *sorted({m for r in run.results for m in r.scores})]
    metrics = list(dict.fromkeys(m for m in metrics if any(m in r.scores for r in run.results)))
    found = []
    for value, members in split(run.results, by).items():
        usable = [r for r in members if not r.failed]
        for metric in metrics:
            values = [r.scores[metric].value for r in usable if metric in r.scores]
            summary = summarize(metric, values)
            found.append(SliceSummary(by, value, summary, summary.n < SMALL_SLICE))
    return found


def slice_frame(run: Run, by: str) -> pd.DataFrame:
    """slice_summaries as a frame indexed by (by, "metric"): what Run.summary(by=) returns."""
    rows: list[dict[str, Any]] = [
        {
            by: s.value,
            "metric": s.summary.metric,
            "mean": s.summary.mean,
            "ci_low": s.summary.ci_low,
            "ci_high": s.summary.ci_high,
            "n": s.summary.n,
            "unscored": s.summary.unscored,
            "small": s.small,
        }
        for s in slice_summaries(run, by)
    ]
    columns = [by, "metric", "mean", "ci_low", "ci_high", "n", "unscored", "small"]
    frame = pd.DataFrame(rows, columns=columns)
    frame = frame.astype({"n": "int64", "unscored": "int64", "small": "bool"})
    return frame.set_index([by, "metric"])


def sub_run(run: Run, results: Sequence[ExampleResult]) -> Run:
    """The run restricted to some of its results (same info): what a slice is compared as."""
    return Run(info=run.info, results=list(results))


@dataclass(frozen=True)
class SliceComparison:
    """Run B against run A on one slice (the baseline's value of the field).

    Attributes:
        field / value: The slice.
        comparison: compare_runs on the slice's matched examples, with the main metric
            and threshold of the whole comparison.
        small: Fewer than SMALL_SLICE examples matched.
    """

    field: str
    value: str
    comparison: Comparison
    small: bool

    @property
    def n(self) -> int:
        return self.comparison.n_matched


def compare_slices(
    run_a: Run,
    run_b: Run,
    by: str,
    *,
    metric: str | None = None,
    threshold: float | None = None,
    alpha: float = 0.05,
    allow_incomplete: bool = False,
    rounds: int = 2000,
) -> list[SliceComparison]:
    """B against A per value of the field (read from A, the baseline): paired
    differences with intervals and tests on each slice.

    Raises:
        OptionError: No example of A has the field; a run is not complete (see
            compare_runs).
    """
    from assay.compare import compare_runs

    whole = compare_runs(
        run_a,
        run_b,
        metric=metric,
        threshold=threshold,
        alpha=alpha,
        rounds=rounds,
        allow_incomplete=allow_incomplete,
    )
    matched = {e.example_id for e in whole.examples}
    by_id = {r.example_id: r for r in run_b.results}
    partner = _partners(run_a, run_b, whole.matched_by)
    found = []
    for value, members in split(run_a.results, by).items():
        pairs = [(a, partner.get(a.example_id)) for a in members if a.example_id in matched]
        kept_a = [a for a, b in pairs if b is not None]
        kept_b = [b for _, b in pairs if b is not None]
        if not kept_a:
            continue
        if whole.matched_by == "id":
            kept_b = [by_id[a.example_id] for a in kept_a]
        comparison = compare_runs(
            sub_run(run_a, kept_a),
            sub_run(run_b, kept_b),
            metric=whole.main_metric,
            threshold=whole.threshold,
            alpha=alpha,
            rounds=rounds,
            min_overlap=0.0,
            allow_incomplete=True,  # the whole runs were checked above
        )
        found.append(SliceComparison(by, value, comparison, comparison.n_matched < SMALL_SLICE))
    return found


def _partners(run_a: Run, run_b: Run, matched_by: str) -> dict[str, ExampleResult]:
    """A's example id -> B's matching result, as compare matched them."""
    if matched_by == "id":
        ids = {r.example_id: r for r in run_b.results}
        return {a.example_id: ids[a.example_id] for a in run_a.results if a.example_id in ids}
    from assay.datacheck.minhash import normalize

    inputs = {normalize(r.input): r for r in run_b.results}
    return {
        a.example_id: inputs[normalize(a.input)]
        for a in run_a.results
        if normalize(a.input) in inputs
    }

"""What a benchmark run reports: per task metrics with stderr, groups, suites, and the
harness's results JSON layout for tools that read lm-evaluation-harness output."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.exceptions import AssayError
from assay.runs.records import RunStats

HARNESS_METRIC = {"mc2": "acc", "acc_subjects": "acc_subjects"}
"""assay's metric name -> the harness's, where they differ (the harness calls mc2 "acc")."""


@dataclass(frozen=True)
class MetricValue:
    """One reported number: a task (or group, or suite), its metric, value and size.

    Attributes:
        task: The task, group or suite.
        shots: Few-shot examples (None for a suite).
        metric: "acc", "acc_norm", "mc2", "acc_subjects" or "average".
        value: The mean, 0 to 1.
        ci_low / ci_high: Its 95% interval (Wilson for accuracies, bootstrap otherwise;
            see metrics/intervals.py), inside [0, 1].
        stderr: The harness's standard error, for its JSON layout.
        n: Questions.
        group: The group a task was run as part of (an MMLU subject under "mmlu").
    """

    task: str
    shots: int | None
    metric: str
    value: float
    ci_low: float
    ci_high: float
    stderr: float
    n: int
    group: str | None = None


@dataclass
class BenchResult:
    """A finished benchmark run.

    Attributes:
        run_id: The stored run's id.
        model: The model spec.
        status: The run's status ("complete" unless it stopped early).
        rows: Every task's and group's metrics, in report order.
        averages: Suite name -> its average (the leaderboard average), as a MetricValue.
        versions: Task name -> the harness's version of it.
        shots: Task name -> few-shot examples used.
        sizes: Task name -> (questions in the split, questions used).
        groups: Group name -> its tasks.
        stats: What the run did (questions scored, cached requests, engine counts, seconds).
        config: How it was run (batch size, dtype, limit, few-shot seed).
    """

    run_id: str
    model: str
    status: str
    rows: list[MetricValue]
    averages: dict[str, MetricValue] = field(default_factory=dict)
    versions: dict[str, float] = field(default_factory=dict)
    shots: dict[str, int] = field(default_factory=dict)
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    stats: RunStats = field(default_factory=RunStats)
    config: dict[str, Any] = field(default_factory=dict)

    def value(self, task: str, metric: str) -> float:
        for row in self.rows:
            if row.task == task and row.metric == metric:
                return row.value
        raise KeyError(f"{task}/{metric}")

    def to_harness(self) -> dict[str, Any]:
        """The results in lm-evaluation-harness's JSON layout."""
        results: dict[str, dict[str, Any]] = {}
        for row in self.rows:
            entry = results.setdefault(row.task, {"alias": row.task})
            name, filtered = _harness_name(row.task, row.metric)
            entry[f"{name},{filtered}"] = row.value
            entry[f"{name}_stderr,{filtered}"] = _number(row.stderr)
        for suite, average in self.averages.items():
            results[suite] = {
                "alias": suite,
                f"{average.metric},none": average.value,
                f"{average.metric}_stderr,none": _number(average.stderr),
            }
        return {
            "results": results,
            "groups": {g: results[g] for g in self.groups if g in results},
            "group_subtasks": {g: list(t) for g, t in self.groups.items()},
            "configs": {
                task: {"task": task, "num_fewshot": shots, "output_type": _output_type(task)}
                for task, shots in self.shots.items()
            },
            "versions": dict(self.versions),
            "n-shot": dict(self.shots),
            "higher_is_better": {
                task: {
                    _harness_name(r.task, r.metric)[0]: True for r in self.rows if r.task == task
                }
                for task in results
            },
            "n-samples": {
                task: {"original": total, "effective": used}
                for task, (total, used) in self.sizes.items()
            },
            "config": {
                "model": "assay",
                "model_args": self.model,
                **self.config,
                "seconds": self.stats.seconds,
            },
            "assay_run_id": self.run_id,
        }

    def write_harness_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_harness(), indent=2, default=str) + "\n")


def _harness_name(task: str, metric: str) -> tuple[str, str]:
    """The harness's (metric, filter) for one of assay's metrics of a task or group."""
    from assay.bench.tasks import get_group, get_task

    group = get_group(task)
    first = group.tasks[0] if group else task
    base, suffix = metric, ""
    if group is not None and metric.endswith("_" + group.parts):
        base, suffix = metric.removesuffix("_" + group.parts), "_" + group.parts
    try:
        named = get_task(first).harness_metrics.get(base)
    except AssayError:  # a task no longer registered
        named = None
    if named:
        name, _, filtered = named.partition(",")
        return name + suffix, filtered or "none"
    return HARNESS_METRIC.get(metric, metric), "none"


def _output_type(task: str) -> str:
    from assay.bench.tasks import get_task

    try:
        return get_task(task).output_type
    except AssayError:  # pragma: no cover - a task no longer registered
        return "multiple_choice"


def _number(value: float) -> float | str:
    return "N/A" if math.isnan(value) else value

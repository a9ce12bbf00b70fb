"""What a benchmark run reports: per task metrics with stderr, groups, suites, and the
harness's results JSON layout for tools that read lm-evaluation-harness output."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HARNESS_METRIC = {"mc2": "acc", "acc_subjects": "acc_subjects"}
"""assay's metric name -> the harness's, where they differ (the harness calls mc2 "acc")."""


@dataclass(frozen=True)
class MetricValue:
    """One reported number: a task (or group, or suite), its metric, value, stderr and size.

    `group` names the group a task was run as part of (an MMLU subject under "mmlu").
    """

    task: str
    shots: int | None
    metric: str
    value: float
    stderr: float
    n: int
    group: str | None = None


@dataclass
class BenchResult:
    """A finished benchmark run.

    Attributes:
        run_id: The stored run's id.
        model: The model spec.
        rows: Every task's and group's metrics, in report order.
        averages: Suite name -> its average (the leaderboard average), as a MetricValue.
        versions: Task name -> the harness's version of it.
        shots: Task name -> few-shot examples used.
        sizes: Task name -> (questions in the split, questions used).
        groups: Group name -> its tasks.
        config: How it was run (model, batch size, limit, dtype, seconds, engine stats).
    """

    run_id: str
    model: str
    rows: list[MetricValue]
    averages: dict[str, MetricValue] = field(default_factory=dict)
    versions: dict[str, float] = field(default_factory=dict)
    shots: dict[str, int] = field(default_factory=dict)
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
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
            name = HARNESS_METRIC.get(row.metric, row.metric)
            entry[f"{name},none"] = row.value
            entry[f"{name}_stderr,none"] = _number(row.stderr)
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
                task: {"task": task, "num_fewshot": shots, "output_type": "multiple_choice"}
                for task, shots in self.shots.items()
            },
            "versions": dict(self.versions),
            "n-shot": dict(self.shots),
            "higher_is_better": {
                task: {
                    HARNESS_METRIC.get(r.metric, r.metric): True
                    for r in self.rows
                    if r.task == task
                }
                for task in results
            },
            "n-samples": {
                task: {"original": total, "effective": used}
                for task, (total, used) in self.sizes.items()
            },
            "config": {"model": "assay", "model_args": self.model, **self.config},
            "assay_run_id": self.run_id,
        }

    def write_harness_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_harness(), indent=2, default=str) + "\n")


def _number(value: float) -> float | str:
    return "N/A" if math.isnan(value) else value

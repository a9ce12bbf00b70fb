"""Aggregating question scores: per task (mean and the harness's stderr), per group (MMLU over
questions and over subjects), per suite (the leaderboard average)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from assay.benchmarks.results import MetricValue
from assay.benchmarks.scoring import mean_stderr, pooled_stderr
from assay.benchmarks.tasks import get_group
from assay.metrics.base import MetricSummary
from assay.run import ExampleResult

if TYPE_CHECKING:
    from assay.benchmarks.runner import Selection


def aggregate(
    selections: Sequence[Selection],
    tasks: Sequence[tuple[str, int]],
    results: Sequence[ExampleResult],
) -> tuple[list[MetricValue], dict[str, MetricValue]]:
    """Per task means with stderr, each group's aggregates, and each suite's average."""
    per_task: dict[str, dict[str, list[float]]] = {}
    for result in results:
        task = str(result.metadata["task"])
        for metric, score in result.scores.items():
            per_task.setdefault(task, {}).setdefault(metric, []).append(score.value)
    task_rows: dict[str, list[MetricValue]] = {}
    for name, shots in tasks:
        task_rows[name] = [
            MetricValue(name, shots, metric, *mean_stderr(values), len(values))
            for metric, values in per_task.get(name, {}).items()
        ]
    rows: list[MetricValue] = []
    headline: dict[str, list[MetricValue]] = {}
    for selection in selections:
        group = get_group(selection.name)
        if group is None:
            chosen = task_rows[selection.name]
            rows += chosen
        else:
            parts = [r for t in group.tasks for r in task_rows[t] if r.metric == "acc"]
            chosen = _group_rows(group.name, selection.shots, parts)
            rows += chosen
            rows += [
                MetricValue(r.task, r.shots, r.metric, r.value, r.stderr, r.n, group.name)
                for t in group.tasks
                for r in task_rows[t]
            ]
        if selection.suite:
            match = [r for r in chosen if r.metric == selection.metric]
            headline.setdefault(selection.suite, []).extend(match)
    averages = {
        suite: MetricValue(
            suite,
            None,
            "average",
            sum(r.value for r in parts) / len(parts),
            math.sqrt(sum(r.stderr**2 for r in parts)) / len(parts),
            len(parts),
        )
        for suite, parts in headline.items()
    }
    return rows, averages


def _group_rows(group: str, shots: int, parts: list[MetricValue]) -> list[MetricValue]:
    """A group's acc over questions (size-weighted, pooled stderr) and over subjects."""
    sizes = [p.n for p in parts]
    total = sum(sizes)
    if not parts or total == 0:
        return []
    by_question = sum(p.value * p.n for p in parts) / total
    by_subject = sum(p.value for p in parts) / len(parts)
    subject_stderr = math.sqrt(sum(p.stderr**2 for p in parts)) / len(parts)
    return [
        MetricValue(
            group, shots, "acc", by_question, pooled_stderr([p.stderr for p in parts], sizes), total
        ),
        MetricValue(group, shots, "acc_subjects", by_subject, subject_stderr, total),
    ]


def summaries(
    rows: list[MetricValue], averages: dict[str, MetricValue]
) -> dict[str, MetricSummary]:
    out = {}
    for row in [*rows, *averages.values()]:
        if row.group is not None:
            continue
        name = f"{row.task}/{row.metric}"
        half = 1.96 * row.stderr if not math.isnan(row.stderr) else 0.0
        out[name] = MetricSummary(name, row.value, row.value - half, row.value + half, row.n)
    return out

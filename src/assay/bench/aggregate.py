"""Aggregating question scores: per task (mean, 95% interval and the harness's stderr), per
group (MMLU over questions and over subjects), per suite (the leaderboard average).

Intervals follow metrics/intervals.py: Wilson for accuracies (every question scores
0 or 1), the percentile bootstrap for mc2, and a stratified bootstrap (each task's
questions resampled on their own) for averages over tasks or subjects.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assay.bench.choices import mean_stderr, pooled_stderr
from assay.bench.results import MetricValue
from assay.bench.tasks import TaskGroup, get_group
from assay.metrics.base import MetricSummary
from assay.metrics.intervals import stratified_mean, summarize
from assay.runs.records import ExampleResult

if TYPE_CHECKING:
    from assay.bench.run import Selection


@dataclass(frozen=True)
class _Scored:
    """A reported number with the per-question values behind it (for the suite average)."""

    row: MetricValue
    values: tuple[float, ...]


def aggregate(
    selections: Sequence[Selection],
    tasks: Sequence[tuple[str, int]],
    results: Sequence[ExampleResult],
) -> tuple[list[MetricValue], dict[str, MetricValue]]:
    """Per task means with intervals, each group's aggregates, and each suite's average."""
    per_task: dict[str, dict[str, list[float]]] = {}
    for result in results:
        task = str(result.metadata["task"])
        items = result.metadata.get("items") or {}
        for metric, score in result.scores.items():
            values = per_task.setdefault(task, {}).setdefault(metric, [])
            if metric in items:  # averaged over items (IFEval's instructions), not questions
                values.extend(float(v) for v in items[metric])
            else:
                values.append(score.value)
    task_rows: dict[str, list[_Scored]] = {
        name: [_task_row(name, shots, metric, values) for metric, values in metrics.items()]
        for name, shots in tasks
        for metrics in [per_task.get(name, {})]
    }
    rows: list[MetricValue] = []
    headline: dict[str, list[_Scored]] = {}
    for selection in selections:
        group = get_group(selection.name)
        if group is None:
            chosen = task_rows[selection.name]
            rows += [s.row for s in chosen]
        else:
            parts = [
                s for t in group.tasks for s in task_rows[t] if s.row.metric == group.main_metric
            ]
            chosen = _group_rows(group, selection.shots, parts)
            rows += [s.row for s in chosen]
            rows += [
                MetricValue(
                    s.row.task,
                    s.row.shots,
                    s.row.metric,
                    s.row.value,
                    s.row.ci_low,
                    s.row.ci_high,
                    s.row.stderr,
                    s.row.n,
                    group.name,
                )
                for t in group.tasks
                for s in task_rows[t]
            ]
        if selection.suite:
            match = [s for s in chosen if s.row.metric == selection.metric]
            headline.setdefault(selection.suite, []).extend(match)
    averages = {suite: _average(suite, parts) for suite, parts in headline.items()}
    return rows, averages


def _task_row(name: str, shots: int, metric: str, values: list[float]) -> _Scored:
    mean, stderr = mean_stderr(values)
    summary = summarize(metric, values)
    row = MetricValue(
        name, shots, metric, mean, summary.ci_low, summary.ci_high, stderr, len(values)
    )
    return _Scored(row, tuple(values))


def _group_rows(group: TaskGroup, shots: int, parts: list[_Scored]) -> list[_Scored]:
    """A group's main metric over questions (every question counts once) and over its
    tasks (every subject counts once: MMLU's acc_subjects)."""
    sizes = [p.row.n for p in parts]
    total = sum(sizes)
    if not parts or total == 0:
        return []
    pooled = [v for p in parts for v in p.values]
    metric = group.main_metric
    by_question = summarize(metric, pooled)
    stderr = pooled_stderr([p.row.stderr for p in parts], sizes)
    by_subject, low, high = stratified_mean([p.values for p in parts])
    subject_stderr = math.sqrt(sum(p.row.stderr**2 for p in parts)) / len(parts)
    return [
        _Scored(
            MetricValue(
                group.name,
                shots,
                metric,
                by_question.mean,
                by_question.ci_low,
                by_question.ci_high,
                stderr,
                total,
            ),
            tuple(pooled),
        ),
        _Scored(
            MetricValue(
                group.name,
                shots,
                f"{metric}_{group.parts}",
                by_subject,
                low,
                high,
                subject_stderr,
                total,
            ),
            tuple(pooled),
        ),
    ]


def _average(suite: str, parts: list[_Scored]) -> MetricValue:
    """The suite's average of its tasks' headline metrics, each task counting once."""
    mean, low, high = stratified_mean([p.values for p in parts])
    stderr = math.sqrt(sum(p.row.stderr**2 for p in parts)) / len(parts)
    return MetricValue(suite, None, "average", mean, low, high, stderr, len(parts))


def summaries(
    rows: list[MetricValue], averages: dict[str, MetricValue]
) -> dict[str, MetricSummary]:
    """The stored summary of a bench run: "task/metric" -> mean with its interval."""
    out = {}
    for row in [*rows, *averages.values()]:
        if row.group is not None:
            continue
        name = f"{row.task}/{row.metric}"
        out[name] = MetricSummary(name, row.value, row.ci_low, row.ci_high, row.n)
    return out

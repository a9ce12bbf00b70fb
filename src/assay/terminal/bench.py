"""The table `assay bench` prints: per task, group and suite, the value with its 95%
interval on the 0-1 scale of every other view, and a baseline beside it when asked."""

from __future__ import annotations

from collections.abc import Mapping

from rich import box
from rich.console import Console
from rich.table import Table

from assay.bench.results import BenchResult, MetricValue
from assay.terminal.text import escape, interval, number


def bench_table(
    console: Console,
    result: BenchResult,
    requested: set[str],
    baseline: tuple[str, Mapping[str, float]] | None = None,
) -> None:
    """Every task's metrics (a group's members only when asked for by name), then the
    suites' averages; with a baseline (model, "task/metric" -> value), its value and
    the difference."""
    table = Table(
        title=f"{escape(result.model)}  (run {result.run_id}, {result.status})",
        caption=f"baseline: {escape(baseline[0])}" if baseline is not None else None,
        box=box.SIMPLE_HEAD,
    )
    table.add_column("task", overflow="fold", min_width=14)
    table.add_column("shots", justify="right")
    table.add_column("metric")
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("95% interval", justify="right", no_wrap=True)
    table.add_column("n", justify="right")
    if baseline is not None:
        table.add_column("base", justify="right", no_wrap=True)
        table.add_column("Δ", justify="right")
    for row in result.rows:
        if row.group is not None and row.task not in requested:
            continue
        table.add_row(*_cells(row, row.task, baseline))
    for suite, average in result.averages.items():
        table.add_section()
        table.add_row(*_cells(average, f"[bold]{suite} average[/]", baseline))
    console.print(table)


def _cells(
    row: MetricValue, label: str, baseline: tuple[str, Mapping[str, float]] | None
) -> list[str]:
    cells = [
        label if label.startswith("[bold]") else escape(label),
        "" if row.shots is None else str(row.shots),
        row.metric,
        number(row.value),
        interval(row.ci_low, row.ci_high),
        str(row.n),
    ]
    if baseline is not None:
        old = baseline[1].get(f"{row.task}/{row.metric}")
        if old is None:
            cells += ["", ""]
        else:
            delta = row.value - old
            colour = "green" if delta > 0 else "red" if delta < 0 else "default"
            cells += [number(old), f"[{colour}]{delta:+.3f}[/]"]
    return cells

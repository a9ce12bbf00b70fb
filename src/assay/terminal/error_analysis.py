"""What `assay errors` prints: the categories most severe and most common first, with
suggestions, or the examples of one category."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from assay.error_analysis import ErrorReport
from assay.runs.records import Run
from assay.terminal.text import clip, escape


def categories(console: Console, run: Run, report: ErrorReport) -> None:
    title = f"errors in {run.name} ({report.n_examples} examples"
    if report.metric is not None:
        title += f"; wrong: {report.metric} below {report.threshold:g}"
    table = Table(title=escape(title + ")"), title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("category", "count", "share", "severity", "example"):
        table.add_column(
            column,
            justify="right" if column in ("count", "share") else "left",
            overflow="fold",
        )
    for c in report.categories:
        table.add_row(
            escape(c.category), str(c.count), f"{c.share:.0%}", c.severity, escape(c.example)
        )
    console.print(table if report.categories else "no errors found")
    for suggestion in report.suggestions:
        console.print(f"  • {escape(suggestion)}")


def examples(console: Console, run: Run, report: ErrorReport, category: str, limit: int) -> None:
    by_id = {r.example_id: r for r in run.results}
    found = report.examples(category)
    table = Table(title=f"{category}: {len(found)} examples", show_lines=True)
    for column in ("id", "input", "prediction", "detail"):
        table.add_column(column, overflow="fold")
    for error in found[:limit]:
        result = by_id[error.example_id]
        table.add_row(
            escape(error.example_id),
            escape(clip(result.input, 200)),
            escape(clip(result.prediction, 200)),
            escape(error.detail),
        )
    console.print(table)

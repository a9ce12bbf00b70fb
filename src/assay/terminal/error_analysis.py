"""What `assay errors` prints: the categories most severe and most common first, with
suggestions, or the examples of one category. Everything fits 80 columns: one line
per category (its example clipped to the room left), suggestions wrapped under their
bullet."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table

from assay.error_analysis import ErrorReport
from assay.runs.records import Run
from assay.scoring import asked
from assay.terminal.text import clip, escape

MIN_EXAMPLE = 20
"""Fewest characters of the example answer shown, however narrow the terminal."""
TABLE_FRAME = 14
"""Columns the category table spends on its edges, dividers and padding (five columns)."""


def categories(console: Console, run: Run, report: ErrorReport) -> None:
    """The category table, the failed generations left out, and the suggestions."""
    console.print(f"errors in {escape(run.name)}")
    wrong = f", {report.n_wrong} wrong ({escape(report.wrong)})" if report.metric else ""
    console.print(f"{report.n_analysed} answers analysed{wrong}")
    if report.n_failed:
        console.print(f"[yellow]{report.n_failed} failed generations (no output) not analysed[/]")
    if not report.categories:
        console.print("no errors found")
        return
    rows = [
        (escape(c.category), str(c.count), f"{c.share:.0%}", c.severity, c.example)
        for c in report.categories
    ]
    headers = ("category", "count", "share", "severity")
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    room = max(MIN_EXAMPLE, console.width - sum(widths) - TABLE_FRAME)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for header, width in zip(headers, widths, strict=True):
        right = header in ("count", "share")
        table.add_column(header, justify="right" if right else "left", min_width=width)
    table.add_column("example", no_wrap=True, max_width=room)
    for *cells, example in rows:
        table.add_row(*cells, escape(clip(example, room)))
    console.print(table)
    for suggestion in report.suggestions:
        bullet = Table.grid(padding=(0, 1))
        bullet.add_column(no_wrap=True)
        bullet.add_column()
        bullet.add_row("•", escape(suggestion))
        console.print(Padding(bullet, (0, 0, 0, 1)))


def examples(console: Console, run: Run, report: ErrorReport, category: str, limit: int) -> None:
    """The examples of one category, with what the detector saw."""
    by_id = {r.example_id: r for r in run.results}
    found = report.examples(category)
    shown = f"the first {limit} of " if len(found) > limit else ""
    table = Table(
        title=f"{escape(category)}: {shown}{len(found)} examples",
        title_justify="left",
        show_lines=True,
    )
    for column in ("id", "input", "prediction", "detail"):
        table.add_column(column, overflow="fold")
    for error in found[:limit]:
        result = by_id[error.example_id]
        table.add_row(
            escape(error.example_id),
            escape(clip(asked(result, run.info), 200)),
            escape(clip(result.prediction, 200)),
            escape(error.detail),
        )
    console.print(table)

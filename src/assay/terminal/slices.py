"""Terminal views of slices: a run's metrics per value of a field (`assay show --summary
--by`), and paired differences per value (`assay compare --by`, `assay card --by`)."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table

from assay.report.formatting import DIRECTIONLESS
from assay.slices import SMALL_SLICE, SliceComparison, SliceSummary
from assay.terminal.text import counted, escape, interval, number

SMALL = "[yellow]small[/]"


def summary_slices(console: Console, rows: Sequence[SliceSummary], title: str) -> None:
    """Mean, interval and n per (slice, metric); small slices flagged."""
    by = rows[0].field if rows else "slice"
    table = Table(title=escape(title), title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column(escape(by), overflow="fold")
    table.add_column("metric", overflow="fold")
    for column in ("mean", "95% interval", "n"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    previous = None
    for row in rows:
        s = row.summary
        first = row.value != previous
        previous = row.value
        table.add_row(
            escape(row.value) if first else "",
            escape(s.metric),
            number(s.mean),
            interval(s.ci_low, s.ci_high),
            counted(s),
            SMALL if row.small and first else "",
        )
    console.print(table)
    _small_note(console, any(r.small for r in rows))


def compared_slices(
    console: Console, slices: Sequence[SliceComparison], names: tuple[str, str]
) -> None:
    """Per slice: each metric of A and B, the paired difference with its interval, p."""
    if not slices:
        return
    by = slices[0].field
    table = Table(title=f"by {escape(by)}", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column(escape(by), overflow="fold")
    table.add_column("n", justify="right", no_wrap=True)
    table.add_column("metric", overflow="fold")
    for column in (names[0], names[1], "B - A", "95% interval", "p"):
        table.add_column(escape(column), justify="right", no_wrap=True, overflow="ellipsis")
    table.add_column("verdict", no_wrap=True)
    for piece in slices:
        for index, m in enumerate(piece.comparison.metrics):
            color = {"better": "green", "worse": "red"}.get(m.verdict, "white")
            said = "changed" if m.metric in DIRECTIONLESS and m.verdict != "same" else m.verdict
            flag = f" {SMALL}" if piece.small else ""
            table.add_row(
                f"{escape(piece.value)}{flag}" if index == 0 else "",
                str(piece.n) if index == 0 else "",
                escape(m.metric),
                number(m.a),
                number(m.b),
                f"{m.diff:+.3f}",
                f"{m.ci_low:+.3f}–{m.ci_high:+.3f}",
                f"{m.p_value:.3g}",
                f"[{color}]{said}[/]" if said == m.verdict else said,
            )
    console.print(table)
    _small_note(console, any(s.small for s in slices))


def _small_note(console: Console, any_small: bool) -> None:
    if any_small:
        console.print(
            f"[dim]small: fewer than {SMALL_SLICE} examples; the interval is wide, and a "
            "difference there is rarely more than noise.[/]"
        )

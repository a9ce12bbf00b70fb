"""Terminal views of slices: a run's metrics per value of a field (`assay show --summary
--by`), and paired differences per value (`assay compare --by`, `assay card --by`)."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table

from assay.compare.paired import MetricComparison
from assay.slices import SMALL_SLICE, SliceComparison, SliceSummary
from assay.terminal.text import TEST_LABELS, VERDICT_COLORS, counted, escape, interval, number

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
    title = f"by {escape(by)}: {escape(names[0])} → {escape(names[1])}"
    table = paired_table(title, escape(by), min_width=10)
    for piece in slices:
        for index, m in enumerate(piece.comparison.metrics):
            flag = f"\n[yellow]small[/], n={piece.n}" if piece.small else f"\nn={piece.n}"
            label = f"{escape(piece.value)}{flag}" if index == 0 else ""
            table.add_row(label, *paired_cells(m))
    console.print(table)
    _small_note(console, any(s.small for s in slices))


def paired_table(title: str, first: str, *, min_width: int) -> Table:
    """A table of paired differences that fits 80 columns: the first column, the metric,
    A → B, the difference and its verdict over the interval, p over the test."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column(first, overflow="fold", min_width=min_width)
    table.add_column("metric", overflow="fold", min_width=11)
    table.add_column("A → B", justify="right", no_wrap=True)
    table.add_column("B - A [95%]", justify="right", no_wrap=True)
    table.add_column("p", justify="right", no_wrap=True)
    return table


def paired_cells(m: MetricComparison) -> list[str]:
    """metric, "A → B", the difference with its verdict over its interval, p over its test."""
    return [escape(m.metric), f"{number(m.a)} → {number(m.b)}", *difference_cells(m)]


def difference_cells(m: MetricComparison) -> list[str]:
    """The difference with its verdict over the interval; p over the test's name."""
    verdict = f"[{VERDICT_COLORS.get(m.verdict, 'white')}]{m.verdict}[/]"
    test = TEST_LABELS.get(m.test, m.test)
    return [
        f"{m.diff:+.3f} {verdict}\n[dim][{m.ci_low:+.3f}, {m.ci_high:+.3f}][/]",
        f"{m.p_value:.3g}\n[dim]{test}[/]",
    ]


def _small_note(console: Console, any_small: bool) -> None:
    if any_small:
        console.print(
            f"[dim]small: fewer than {SMALL_SLICE} examples; the interval is wide, and a "
            "difference there is rarely more than noise.[/]"
        )

"""What `assay compare` prints: warnings, the metric table with paired tests, outcome
counts, and the examples fixed and broken."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from assay.compare.paired import Comparison, Outcome
from assay.terminal.text import TEST_LABELS, VERDICT_COLORS, clip, escape, number

LISTED: tuple[Outcome, ...] = ("broken", "fixed")


def comparison(console: Console, result: Comparison, limit: int) -> None:
    for mismatch in result.mismatches:
        console.print(
            f"[yellow]warning:[/] not comparable: {escape(mismatch.field)} differs "
            f"({escape(repr(mismatch.a))} vs {escape(repr(mismatch.b))})"
        )
    left_out = (
        f"; {result.left_out} left out: they failed in A or B (no output)"
        if result.left_out
        else ""
    )
    console.print(
        f"{result.n_matched} examples matched by {result.matched_by} "
        f"({result.only_a} only in A, {result.only_b} only in B{left_out})"
    )
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("metric", "A", "B", "B - A", "95% interval", "test", "p", "verdict"):
        table.add_column(
            column,
            justify="left" if column in ("metric", "test", "verdict") else "right",
            overflow="fold" if column == "metric" else "ellipsis",
            min_width=13 if column == "95% interval" else None,  # "-0.250–+0.250" whole
        )
    for m in result.metrics:
        color = VERDICT_COLORS.get(m.verdict, "white")
        table.add_row(
            escape(m.metric),
            number(m.a),
            number(m.b),
            f"{m.diff:+.3f}",
            f"{m.ci_low:+.3f}–{m.ci_high:+.3f}",
            TEST_LABELS.get(m.test, m.test),
            f"{m.p_value:.3g}",
            f"[{color}]{m.verdict}[/]",
        )
    console.print(table)
    console.print(
        ", ".join(f"{n} {o.replace('_', ' ')}" for o, n in result.counts().items())
        + f" (on {result.main_metric}, threshold {result.threshold:g})"
    )
    for outcome in LISTED:
        changes = result.changes(outcome)
        if not changes:
            continue
        listing = Table(title=f"{outcome} ({len(changes)})", show_lines=True, title_justify="left")
        for column in ("id", "input", "A", "B"):
            listing.add_column(column, overflow="fold")
        for change in changes[:limit]:
            listing.add_row(
                escape(change.example_id),
                escape(clip(change.question, 200)),
                escape(clip(change.prediction_a, 200)),
                escape(clip(change.prediction_b, 200)),
            )
        console.print(listing)

"""What `assay card` prints: the headline, the task's paired metrics and outcomes, the
error categories before and after, the benchmarks with their sentence, the verdicts,
and what was left out. The HTML page has the examples; this is the summary."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table

from assay.card.records import BenchSection, Card, Curve, TaskSection
from assay.compare.paired import MetricComparison
from assay.terminal.slices import (
    compared_slices,
    difference_cells,
    paired_cells,
    paired_table,
)
from assay.terminal.text import escape, interval, number, plural

LISTED = 5
"""Example ids listed per outcome."""


def card(console: Console, made: Card) -> None:
    for line in made.headline():
        console.print(f"[bold]{escape(line)}[/]")
    for part in made.tuned:
        for section in part.tasks:
            task(console, section)
        if part.bench is not None:
            bench(console, part.bench)
        if part.curve is not None:
            curve(console, part.curve)
    for refusal in made.refusals:
        against = f" against {escape(refusal.against)}" if refusal.against else ""
        console.print(
            f"[yellow]left out:[/] {escape(refusal.run)}{against}: {escape(refusal.reason)}"
        )


def task(console: Console, section: TaskSection) -> None:
    c = section.comparison
    names = (section.base.name, section.tuned.name)
    for m in c.mismatches:
        console.print(
            f"[yellow]warning:[/] not like for like: {escape(m.field)} differs "
            f"({escape(repr(m.a))} vs {escape(repr(m.b))})"
        )
    title = (
        f"the task: {section.tuned.dataset_name} ({c.n_matched} examples paired by {c.matched_by})"
    )
    console.print(_metric_table(c.metrics, names, escape(title), section))
    counts = ", ".join(f"{n} {o.replace('_', ' ')}" for o, n in c.counts().items())
    console.print(f"{counts} (on {escape(str(c.main_metric))})")
    for outcome in ("fixed", "broken"):
        ids = [e.example_id for e in c.changes(outcome)]
        if ids:
            more = f" and {len(ids) - LISTED} more" if len(ids) > LISTED else ""
            console.print(f"  {outcome}: {escape(', '.join(ids[:LISTED]))}{more}")
    if section.reference_changes:
        console.print(
            f"[yellow]{plural(len(section.reference_changes), 'reference differs', 'references differ')} between the runs[/] "
            "(matched by id: the test set was corrected):"
        )
        for change in section.reference_changes[:LISTED]:
            console.print(
                f"  {escape(change.example_id)}: {escape(repr(change.before))} → "
                f"{escape(repr(change.after))}"
            )
    if section.slices:
        compared_slices(console, section.slices, names)
    if section.errors:
        table = Table(
            title="error categories before and after", title_justify="left", box=box.SIMPLE_HEAD
        )
        table.add_column("category", overflow="fold", min_width=10)
        for column in (names[0], names[1], "fixed", "introduced"):
            table.add_column(escape(column), justify="right", no_wrap=True, overflow="ellipsis")
        for shift in section.errors:
            table.add_row(
                escape(shift.category),
                str(shift.before),
                str(shift.after),
                str(len(shift.fixed)),
                str(len(shift.introduced)),
            )
        console.print(table)
    for h in section.head_to_head:
        console.print(
            f"{h.source} verdicts: {escape(names[1])} won {h.tuned_wins}, {escape(names[0])} won "
            f"{h.base_wins}, {plural(h.ties, 'tie')} (sign test p = {h.p_value:.3g})"
        )
    for run_name, verdicts in section.labels.items():
        if verdicts:
            said = ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items()))
            console.print(f"human labels on {escape(run_name)}: {said}")


def bench(console: Console, section: BenchSection) -> None:
    names = (section.base.name, section.tuned.name)
    title = f"benchmarks, paired on the same questions: {escape(names[0])} → {escape(names[1])}"
    table = paired_table(title, "task", min_width=14)
    for item in section.tasks:
        for index, m in enumerate(item.metrics):
            cells = paired_cells(m)
            if m.metric == item.main_metric:
                cells[0] += "*"
            shots = f"{item.shots}-shot, " if item.shots is not None else ""
            label = f"{escape(item.task)}\n[dim]{shots}{m.n} q.[/]" if index == 0 else ""
            table.add_row(label, *cells)
    console.print(table)
    console.print("[dim]* the task's main metric[/]")
    style = "red" if "dropped" in section.sentence else "bold"
    console.print(f"[{style}]{escape(section.sentence)}[/]")


def curve(console: Console, made: Curve) -> None:
    """The checkpoints of a training run, best step per metric starred."""
    metrics = made.metrics
    table = Table(
        title=f"training run {escape(made.group)}", title_justify="left", box=box.SIMPLE_HEAD
    )
    table.add_column("step", justify="right", no_wrap=True)
    table.add_column("run", no_wrap=True)
    for name in metrics:
        table.add_column(escape(name), justify="right", no_wrap=True)
    for point in made.points:
        cells = []
        for name in metrics:
            s = point.summary.get(name)
            star = " ★" if made.best.get(name) == point.step else ""
            cells.append(
                ""
                if s is None
                else f"{number(s.mean)} [dim]{interval(s.ci_low, s.ci_high)}[/]{star}"
            )
        table.add_row(str(point.step), point.run_id, *cells)
    console.print(table)


def _metric_table(
    metrics: Sequence[MetricComparison], names: tuple[str, str], title: str, section: TaskSection
) -> Table:
    """Each metric: A and B with their intervals, the paired difference, p, the verdict."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("metric", overflow="fold", min_width=11)
    for column in names:
        table.add_column(escape(column), justify="right", no_wrap=True, overflow="ellipsis")
    table.add_column("B - A [95%]", justify="right", no_wrap=True)
    table.add_column("p", justify="right", no_wrap=True)
    for m in metrics:
        a = section.base.summary.get(m.metric)
        b = section.tuned.summary.get(m.metric)
        table.add_row(
            escape(m.metric),
            number(m.a) + (f"\n[dim]{interval(a.ci_low, a.ci_high)}[/]" if a else ""),
            number(m.b) + (f"\n[dim]{interval(b.ci_low, b.ci_high)}[/]" if b else ""),
            *difference_cells(m),
        )
    return table

"""`assay compare`: is run B better than run A beyond noise, and where did it change?"""

from __future__ import annotations

from typing import Annotated

import typer

from assay.cli.common import EXIT_REGRESSION, DbOption, ThresholdOption, console, user_errors
from assay.exceptions import at_least
from assay.runs.records import Run
from assay.terminal import compare as render
from assay.terminal.text import plural


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_command)


@user_errors
def compare_command(
    run_a: Annotated[str, typer.Argument(help="The baseline run (id, prefix or name).")],
    run_b: Annotated[str, typer.Argument(help="The candidate run (id, prefix or name).")],
    metric: Annotated[str | None, typer.Option(help="Main metric (and the one gated).")] = None,
    fail_on_regression: Annotated[
        bool,
        typer.Option(
            "--fail-on-regression", help="Exit with status 3 if B is significantly worse."
        ),
    ] = False,
    threshold: ThresholdOption = None,
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    allow_incomplete: Annotated[
        bool,
        typer.Option(
            "--allow-incomplete",
            help="Compare runs that are not complete, on the examples both answered.",
        ),
    ] = False,
    limit: Annotated[int, typer.Option(help="Most examples listed per outcome.")] = 10,
    by: Annotated[
        str | None,
        typer.Option(help="Also compare per value of this metadata field (topic, difficulty)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Compare run B against run A on the same examples: per-metric differences with
    paired tests, and the examples fixed and broken.

    Exit status 3 with --fail-on-regression when B is significantly worse. Runs that
    are not complete are refused unless --allow-incomplete.
    """
    from assay.compare import compare_runs
    from assay.store import open_store

    at_least("limit", limit, 1)
    with open_store(db, read_only=True) as store:
        a, b = store.load_run(run_a), store.load_run(run_b)
    result = compare_runs(
        a, b, metric=metric, threshold=threshold, alpha=alpha, allow_incomplete=allow_incomplete
    )
    render.comparison(console, result, limit)
    _reference_changes(a, b)
    if by is not None:
        from assay.slices import compare_slices
        from assay.terminal.slices import compared_slices

        slices = compare_slices(
            a,
            b,
            by,
            metric=result.main_metric,
            threshold=result.threshold,
            alpha=alpha,
            allow_incomplete=allow_incomplete,
        )
        compared_slices(console, slices, (a.name, b.name))
    if fail_on_regression and result.regressed(metric):
        console.print(
            f"[red]regression:[/] run {result.run_b} is significantly worse than {result.run_a}"
        )
        raise typer.Exit(EXIT_REGRESSION)


def _reference_changes(a: Run, b: Run) -> None:
    """Say which references changed when B ran on a corrected copy of A's test set."""
    from assay.card.build import reference_changes
    from assay.terminal.text import escape

    changed = reference_changes(a, b)
    if not changed:
        return
    console.print(
        f"[yellow]{plural(len(changed), 'reference differs', 'references differ')} between the runs[/] (examples matched by "
        "id; the test set was corrected between them):"
    )
    for change in changed:
        console.print(
            f"  {escape(change.example_id)}: {escape(repr(change.before))} → "
            f"{escape(repr(change.after))}"
        )

"""`assay errors`, `assay check-data` and `assay compare`: the iteration commands.

Exit codes: 1 for a user error, 3 when `compare --fail-on-regression` finds B
significantly worse, 4 when `check-data --strict` finds leaks or duplicates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from assay.commands.common import DbOption, PluginOption, console, import_plugins, user_errors
from assay.render import escape

REGRESSION_EXIT = 3
STRICT_EXIT = 4


def register(app: typer.Typer) -> None:
    app.command("errors")(errors_command)
    app.command("check-data")(check_data_command)
    app.command("compare")(compare_command)


@user_errors
def errors_command(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix of 4+ characters).")],
    examples: Annotated[
        str | None, typer.Option("--examples", help="List the examples of this category.")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG bar chart here.")] = None,
    metric: Annotated[
        str | None, typer.Option(help="Main metric (default: the run's first).")
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(help="Scores below it are wrong (default 1 pass/fail, else 0.5)."),
    ] = None,
    verbose_ratio: Annotated[
        float, typer.Option(help="Verbose above this x reference words.")
    ] = 3.0,
    expected_format: Annotated[
        str, typer.Option("--format", help="auto, none, letter, number, json or regex.")
    ] = "auto",
    format_regex: Annotated[str | None, typer.Option(help="Pattern for --format regex.")] = None,
    limit: Annotated[int, typer.Option(help="Most examples listed by --examples.")] = 20,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Do not store the categories.")
    ] = False,
    db: DbOption = None,
    plugin: PluginOption = None,
) -> None:
    """Categorise every example of a run (empty, truncated, repetition, verbose, ...),
    store the categories with the run, and suggest training-data fixes."""
    from assay.analysis import ErrorOptions, analyze_errors, get_category, save_errors
    from assay.analysis.plots import COLORS, bar_chart
    from assay.errors import AssayError
    from assay.store import open_store

    import_plugins(plugin)
    if expected_format not in ("auto", "none", "letter", "number", "json", "regex"):
        raise AssayError(
            f"--format {expected_format!r} is not one of auto, none, letter, number, json, regex"
        )
    options = ErrorOptions(
        verbose_ratio=verbose_ratio,
        expected_format=expected_format,  # type: ignore[arg-type]
        format_regex=format_regex,
        metric=metric,
        threshold=threshold,
    )
    with open_store(db) as store:
        run = store.load_run(run_id)
        report = analyze_errors(run, options)
        if not no_store:
            save_errors(store, run.id, report.errors)
    if examples is not None:
        get_category(examples)
        by_id = {r.example_id: r for r in run.results}
        table = Table(
            title=f"{examples}: {len(report.examples(examples))} examples", show_lines=True
        )
        for column in ("id", "input", "prediction", "detail"):
            table.add_column(column, overflow="fold")
        for error in report.examples(examples)[:limit]:
            result = by_id[error.example_id]
            table.add_row(
                escape(error.example_id),
                escape(_clip(result.input)),
                escape(_clip(result.prediction)),
                escape(error.detail),
            )
        console.print(table)
        return
    table = Table(
        title=escape(f"errors in {run.name} ({report.n_examples} examples)"), title_justify="left"
    )
    for column in ("category", "count", "share", "severity", "example"):
        table.add_column(column, justify="right" if column in ("count", "share") else "left")
    for c in report.categories:
        table.add_row(
            escape(c.category), str(c.count), f"{c.share:.0%}", c.severity, escape(c.example)
        )
    console.print(table if report.categories else "no errors found")
    for suggestion in report.suggestions:
        console.print(f"  • {escape(suggestion)}")
    if plot is not None and report.categories:
        bar_chart(
            plot,
            [c.category for c in report.categories],
            [c.count for c in report.categories],
            title=f"errors in run {run.id}",
            xlabel="examples",
            colors=[COLORS.get(c.severity, "#888888") for c in report.categories],
        )
        console.print(f"plot written to {escape(str(plot))}")
    if not no_store:
        console.print(f"categories stored with run {run.id}")


@user_errors
def check_data_command(
    test: Annotated[str, typer.Argument(help="The test set (file, folder or hub id).")],
    train: Annotated[str | None, typer.Option(help="The training set, to find leaks.")] = None,
    input_field: Annotated[str | None, typer.Option(help="Column with the inputs.")] = None,
    reference_field: Annotated[str | None, typer.Option(help="Column with the references.")] = None,
    id_field: Annotated[str | None, typer.Option(help="Column with unique example ids.")] = None,
    threshold: Annotated[float, typer.Option(help="Near-duplicate similarity (Jaccard).")] = 0.65,
    ngram: Annotated[int, typer.Option(help="Word n-gram length of the overlap check.")] = 13,
    coverage: Annotated[bool, typer.Option(help="Embed and cluster the inputs.")] = True,
    clusters: Annotated[int, typer.Option(help="Coverage clusters.")] = 8,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG of cluster sizes here.")] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit with status 4 on leaks, duplicates or conflicts.")
    ] = False,
    limit: Annotated[int, typer.Option(help="Most findings listed per check.")] = 10,
) -> None:
    """Check a test set: duplicates, conflicting answers, leaks into the training set,
    empty references, lengths, coverage. Exit status 4 with --strict when it finds problems."""
    from assay.analysis import CheckOptions, check_data
    from assay.analysis.plots import bar_chart
    from assay.data import load_dataset

    test_set = load_dataset(
        test, input_field=input_field, reference_field=reference_field, id_field=id_field
    )
    train_set = (
        load_dataset(
            train,
            input_field=input_field,
            reference_field=reference_field,
            id_field=id_field,
        )
        if train
        else None
    )
    options = CheckOptions(
        near_threshold=threshold, ngram=ngram, coverage=coverage, clusters=clusters
    )
    report = check_data(test_set, train_set, options)
    console.print(
        f"checked {report.n_test} test examples"
        + (f" against {report.n_train} training rows" if train_set else "")
    )
    frame = report.to_pandas()
    for check, group in frame.groupby("check", sort=False):
        console.print(f"[bold]{escape(str(check))}[/]: {len(group)}")
        for _, row in group.head(limit).iterrows():
            ids = ", ".join(map(str, row["example_ids"]))
            console.print(f"  {escape(ids)}: {escape(_clip(str(row['detail'])))}")
    if frame.empty:
        console.print("no duplicates, conflicts, leaks or reference problems found")
    console.print(escape(report.lengths.round(1).to_string()))
    if report.coverage is not None:
        for cluster in report.coverage.clusters:
            console.print(
                f"cluster {cluster.index}: {cluster.size} ({cluster.share:.0%})  "
                + escape(" | ".join(_clip(e, 60) for e in cluster.examples))
            )
        for spot in report.coverage.blind_spots:
            console.print(
                f"[yellow]blind spot[/] (training cluster {spot.index}, {spot.size} rows): "
                + escape(" | ".join(_clip(e, 60) for e in spot.examples))
            )
        if plot is not None:
            bar_chart(
                plot,
                [f"cluster {c.index}" for c in report.coverage.clusters],
                [c.size for c in report.coverage.clusters],
                title="test-set clusters",
                xlabel="examples",
            )
            console.print(f"plot written to {escape(str(plot))}")
    if strict and report.has_problems:
        raise typer.Exit(STRICT_EXIT)


@user_errors
def compare_command(
    run_a: Annotated[str, typer.Argument(help="The baseline run.")],
    run_b: Annotated[str, typer.Argument(help="The candidate run.")],
    metric: Annotated[str | None, typer.Option(help="Main metric (and the one gated).")] = None,
    fail_on_regression: Annotated[
        bool,
        typer.Option(
            "--fail-on-regression", help="Exit with status 3 if B is significantly worse."
        ),
    ] = False,
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    limit: Annotated[int, typer.Option(help="Most examples listed per outcome.")] = 10,
    db: DbOption = None,
) -> None:
    """Compare run B against run A on the same examples: per-metric differences with
    paired tests, and the examples fixed and broken. Exit status 3 with
    --fail-on-regression when B is significantly worse."""
    from assay.analysis import compare_runs
    from assay.analysis.compare import Outcome
    from assay.store import open_store

    with open_store(db) as store:
        a, b = store.load_run(run_a), store.load_run(run_b)
    result = compare_runs(a, b, metric=metric, alpha=alpha)
    for mismatch in result.mismatches:
        console.print(
            f"[yellow]warning:[/] not comparable: {escape(mismatch.field)} differs "
            f"({escape(repr(mismatch.a))} vs {escape(repr(mismatch.b))})"
        )
    console.print(
        f"{result.n_matched} examples matched by {result.matched_by} ({result.only_a} only in A, {result.only_b} only in B)"
    )
    table = Table()
    for column in ("metric", "A", "B", "B - A", "95% interval", "test", "p", "verdict"):
        table.add_column(
            column, justify="left" if column in ("metric", "test", "verdict") else "right"
        )
    for m in result.metrics:
        color = {"better": "green", "worse": "red"}.get(m.verdict, "white")
        table.add_row(
            escape(m.metric),
            f"{m.a:.3f}",
            f"{m.b:.3f}",
            f"{m.diff:+.3f}",
            f"{m.ci_low:+.3f} – {m.ci_high:+.3f}",
            m.test,
            f"{m.p_value:.3g}",
            f"[{color}]{m.verdict}[/]",
        )
    console.print(table)
    console.print(
        ", ".join(f"{n} {o.replace('_', ' ')}" for o, n in result.counts().items())
        + f" (on {result.main_metric})"
    )
    outcomes: tuple[Outcome, ...] = ("broken", "fixed")
    for outcome in outcomes:
        changes = result.changes(outcome)
        if not changes:
            continue
        listing = Table(title=f"{outcome} ({len(changes)})", show_lines=True, title_justify="left")
        for column in ("id", "input", "A", "B"):
            listing.add_column(column, overflow="fold")
        for change in changes[:limit]:
            listing.add_row(
                escape(change.example_id),
                escape(_clip(change.input)),
                escape(_clip(change.prediction_a)),
                escape(_clip(change.prediction_b)),
            )
        console.print(listing)
    if fail_on_regression and result.regressed(metric):
        console.print(
            f"[red]regression:[/] run {result.run_b} is significantly worse than {result.run_a}"
        )
        raise typer.Exit(REGRESSION_EXIT)


def _clip(text: str, width: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"

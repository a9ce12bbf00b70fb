"""Reading the store: `assay runs`, `show`, `export`, and the catalogues `models` and `metrics`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, get_args

import typer

from assay.cli.common import (
    DbOption,
    ForceOption,
    PluginOption,
    ThresholdOption,
    console,
    import_plugins,
    output_file,
    user_errors,
)
from assay.exceptions import OptionError, at_least
from assay.runs.records import RunKind, RunStatus
from assay.terminal import catalog
from assay.terminal import runs as render
from assay.terminal.text import escape


def choice(option: str, value: str | None, allowed: Sequence[str]) -> Any:
    """The value if it is one of those allowed (or None); else an OptionError listing them."""
    if value is not None and value not in allowed:
        raise OptionError(option, f"{value!r} is not one of: {', '.join(allowed)}")
    return value


def register(app: typer.Typer) -> None:
    app.command("runs")(runs_command)
    app.command("show")(show_command)
    app.command("export")(export_command)
    app.command("rm")(rm_command)
    app.command("tag")(tag_command)
    app.command("rename")(rename_command)
    app.command("models")(models_command)
    app.command("metrics")(metrics_command)


@user_errors
def runs_command(
    kind: Annotated[str | None, typer.Option(help="Only runs of this kind: eval or bench.")] = None,
    model: Annotated[
        str | None, typer.Option(help="Only runs whose model spec contains this text.")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            help="Only runs in this status: running, complete, incomplete, failed or interrupted."
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Only runs whose name contains this text.")
    ] = None,
    tag: Annotated[str | None, typer.Option(help="Only runs with this tag.")] = None,
    group: Annotated[
        str | None,
        typer.Option(
            help="The checkpoints of this training run (tagged group:NAME by the training "
            "callback), by step, each metric's best starred."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """List the stored runs, newest first: id, name, status, kind, model, data, n and headline
    metrics."""
    from assay.store import RunFilter, open_store

    where = RunFilter(
        kind=choice("kind", kind, get_args(RunKind)),
        model=model,
        status=choice("status", status, get_args(RunStatus)),
        name=name,
        tag=tag,
    )
    with open_store(db, read_only=True) as store:
        if group is not None:
            from assay.card.build import curve
            from assay.terminal import card as card_views

            found = curve(store, group)
            if found is None:
                console.print(f"no checkpoints of a training run {escape(group)!r}")
                return
            card_views.curve(console, found)
            return
        render.runs_table(console, store.list_runs(where))


@user_errors
def show_command(
    run: Annotated[str, typer.Argument(help="Run id, unique id prefix or name.")],
    failures: Annotated[
        bool,
        typer.Option(
            help="Only the examples that failed (no output) or are wrong on the main metric."
        ),
    ] = False,
    metric: Annotated[
        str | None, typer.Option(help="The main metric for --failures (default: the run's first).")
    ] = None,
    threshold: ThresholdOption = None,
    limit: Annotated[int | None, typer.Option(help="Show at most N examples.")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table, csv or jsonl.")] = "table",
    summary: Annotated[
        bool, typer.Option("--summary", help="Only the metrics, with their intervals.")
    ] = False,
    by: Annotated[
        str | None,
        typer.Option(
            help="With --summary: the metrics per value of this metadata field (topic, ...), "
            "each with its interval and n; small slices flagged."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Show a run example by example: input, reference, prediction and scores (or, with
    --summary, its metrics; with --by, per slice)."""
    from assay.runs.verdicts import main_metric
    from assay.store import open_store

    if limit is not None:
        at_least("limit", limit, 1)
    if by is not None and not summary:
        raise OptionError("by", "goes with --summary (or use assay compare --by)")
    with open_store(db, read_only=True) as store:
        loaded = store.load_run(run)
    if summary:
        render.status(console, loaded.info)
        if by is None:
            render.metrics_table(console, loaded.info, list(loaded.info.summary))
            return
        from assay.slices import slice_summaries
        from assay.terminal.slices import summary_slices

        summary_slices(console, slice_summaries(loaded, by), f"{loaded.name} by {by}")
        return
    main = main_metric(loaded, metric, threshold)
    render.status(console, loaded.info)
    frame = render.examples_frame(loaded, main, failures_only=failures, limit=limit)
    render.examples(console, loaded, frame, output_format, failures_of=main if failures else None)


@user_errors
def export_command(
    run: Annotated[str, typer.Argument(help="Run id, unique id prefix or name.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="File to write: .parquet, .csv or .jsonl.")
    ],
    force: ForceOption = False,
    db: DbOption = None,
) -> None:
    """Write a run's examples and scores to a Parquet, CSV or JSONL file."""
    from assay.store import open_store

    output_file(output, "output", force)
    with open_store(db, read_only=True) as store:
        path = store.load_run(run).export(output)
    console.print(f"wrote {escape(str(path))}")


@user_errors
def rm_command(
    runs: Annotated[list[str], typer.Argument(help="Run ids, unique id prefixes or names.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
    db: DbOption = None,
) -> None:
    """Remove runs with everything that belongs to them: results, scores, metrics, error
    categories and labels. Battles stay (they name models, and ratings come from them)."""
    from assay.store import open_store

    with open_store(db, create=False) as store:
        infos = [store.get_run_info(run) for run in runs]
        for info in infos:
            console.print(
                f"{info.id}  {escape(info.name)}  ({info.kind}, {info.status}, "
                f"{info.n_examples} examples)"
            )
        if not yes:
            if not sys.stdin.isatty():
                raise OptionError("yes", "is needed to remove runs without a terminal to ask")
            if not typer.confirm(f"remove {len(infos)} run(s)?"):
                raise typer.Exit(1)
        for info in infos:
            removed = store.delete_run(info.id)
            rows = ", ".join(f"{n} {table}" for table, n in removed.items() if n)
            console.print(f"removed {info.id}: {rows or 'no rows'}")


@user_errors
def tag_command(
    run: Annotated[str, typer.Argument(help="Run id, unique id prefix or name.")],
    tags: Annotated[list[str], typer.Argument(help="Tags to add (or remove with --remove).")],
    remove: Annotated[bool, typer.Option("--remove", help="Remove these tags instead.")] = False,
    db: DbOption = None,
) -> None:
    """Add tags to a run (or remove them); `assay runs --tag T` lists the runs with one."""
    from assay.store import open_store

    with open_store(db, create=False) as store:
        info = store.get_run_info(run)
        kept = set(info.tags) - set(tags) if remove else set(info.tags) | set(tags)
        info = store.update_run(info.id, tags=sorted(kept))
    console.print(f"{info.id} tags: {escape(', '.join(info.tags)) or '(none)'}")


@user_errors
def rename_command(
    run: Annotated[str, typer.Argument(help="Run id, unique id prefix or name.")],
    name: Annotated[str, typer.Argument(help="The new name.")],
    db: DbOption = None,
) -> None:
    """Give a run a new name (runs can be named wherever an id is taken)."""
    from assay.store import open_store

    with open_store(db, create=False) as store:
        info = store.update_run(run, name=name)
    console.print(f"{info.id} is now named {escape(info.name)}")


def models_command() -> None:
    """List the bundled model aliases and the backend spec forms."""
    catalog.models_table(console)


@user_errors
def metrics_command(plugin: PluginOption = None) -> None:
    """List the registered metrics."""
    import_plugins(plugin)
    catalog.metrics_table(console)

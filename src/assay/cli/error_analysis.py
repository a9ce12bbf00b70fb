"""`assay errors`: where a run fails, sorted into categories, most severe and common first."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
from assay.terminal import error_analysis as render
from assay.terminal.text import escape


def register(app: typer.Typer) -> None:
    app.command("errors")(errors_command)


@user_errors
def errors_command(
    run: Annotated[str, typer.Argument(help="Run id, unique id prefix or name.")],
    examples: Annotated[
        str | None, typer.Option("--examples", help="List the examples of this category.")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG bar chart here.")] = None,
    metric: Annotated[
        str | None, typer.Option(help="Main metric (default: the run's first).")
    ] = None,
    threshold: ThresholdOption = None,
    verbose_ratio: Annotated[
        float, typer.Option(help="Verbose above this x reference words.")
    ] = 3.0,
    expected_format: Annotated[
        str, typer.Option("--format", help="auto, none, letter, number, json or regex.")
    ] = "auto",
    format_regex: Annotated[str | None, typer.Option(help="Pattern for --format regex.")] = None,
    train: Annotated[
        str | None,
        typer.Option(
            help="The training set (a file, folder or hub id): its words are known words, "
            "never misspellings."
        ),
    ] = None,
    limit: Annotated[int, typer.Option(help="Most examples listed by --examples.")] = 20,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Do not store the categories.")
    ] = False,
    export: Annotated[
        str | None,
        typer.Option(
            "--export",
            help="Write the examples of these categories (comma-separated) as chat "
            "fine-tuning rows to --output: messages with the reference as the assistant's turn.",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="The JSONL file --export writes.")
    ] = None,
    force: ForceOption = False,
    db: DbOption = None,
    plugin: PluginOption = None,
) -> None:
    """Sort every answer of a run into error categories (empty, truncated, repetition,
    verbose, ..., incorrect), store them with the run, and suggest training-data fixes.

    An answer is incorrect when the main metric calls it wrong and no other category
    (empty, truncated, repetition, refusal, format, language, prompt_echo) explains
    why. Failed generations have no answer: they are counted, not analysed.
    """
    from assay.charts import COLORS, bar_chart
    from assay.error_analysis import (
        ErrorOptions,
        analyze_errors,
        get_category,
        save_errors,
        training_vocabulary,
    )
    from assay.store import open_store

    output_file(plot, "plot", force, plot=True)
    at_least("limit", limit, 1)
    if (export is None) != (output is None):
        raise OptionError("export", "and --output go together: the categories, and the file")
    output_file(output, "output", force)
    exported = [c.strip() for c in export.split(",") if c.strip()] if export else []
    for name in exported:
        get_category(name)
    import_plugins(plugin)
    options = ErrorOptions(
        verbose_ratio=verbose_ratio,
        expected_format=expected_format,  # type: ignore[arg-type]
        format_regex=format_regex,
        metric=metric,
        threshold=threshold,
        train_vocabulary=training_vocabulary(train) if train is not None else frozenset(),
    )
    with open_store(db, read_only=no_store, create=False) as store:
        loaded = store.load_run(run, kind="eval")  # a name shared with a bench run: the eval
        report = analyze_errors(loaded, options)
        if not no_store:
            save_errors(store, loaded.id, report.errors)
    if exported and output is not None:
        from assay.error_analysis.export import export_training_rows

        written = export_training_rows(loaded, report, exported, output)
        skipped = (
            f" ({written.without_reference} without a reference left out)"
            if written.without_reference
            else ""
        )
        console.print(
            f"wrote {written.rows} training rows ({escape(', '.join(exported))}) to "
            f"{escape(str(written.path))}{skipped}"
        )
    if examples is not None:
        get_category(examples)
        render.examples(console, loaded, report, examples, limit)
        return
    render.categories(console, loaded, report)
    if plot is not None and report.categories:
        bar_chart(
            plot,
            [c.category for c in report.categories],
            [c.count for c in report.categories],
            title=f"errors in run {loaded.id}",
            xlabel="examples",
            colors=[COLORS.get(c.severity, "#888888") for c in report.categories],
        )
        console.print(f"plot written to {escape(str(plot))}")
    if not no_store:
        console.print(f"categories stored with run {loaded.id}")

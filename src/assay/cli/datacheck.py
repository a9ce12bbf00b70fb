"""`assay check-data`: is the test set itself sound (duplicates, conflicts, leaks, coverage)?"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from assay.cli.common import (
    EXIT_DATA_PROBLEMS,
    DbOption,
    ForceOption,
    console,
    output_file,
    user_errors,
)
from assay.exceptions import at_least
from assay.terminal import datacheck as render
from assay.terminal.text import escape

if TYPE_CHECKING:
    from assay.data.example import Dataset


def register(app: typer.Typer) -> None:
    app.command("check-data")(check_data_command)


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
    force: ForceOption = False,
    db: DbOption = None,
) -> None:
    """Check a test set: duplicates, conflicting answers, leaks into the training set,
    empty references, lengths, coverage, and the rows whose reference reviewers flagged
    and nobody has decided on yet (from the store, when there is one). Exit status 4
    with --strict when it finds problems."""
    from assay.charts import bar_chart
    from assay.data import load_dataset
    from assay.datacheck import CheckOptions, check_data

    output_file(plot, "plot", force, plot=True)
    at_least("limit", limit, 1)

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
    render.findings(console, report, limit, with_train=train_set is not None)
    _still_flagged(test_set, db)
    if plot is not None and report.coverage is not None:
        bar_chart(
            plot,
            [f"cluster {c.index}" for c in report.coverage.clusters],
            [c.size for c in report.coverage.clusters],
            title="test-set clusters",
            xlabel="examples",
        )
        console.print(f"plot written to {escape(str(plot))}")
    if strict and report.has_problems:
        raise typer.Exit(EXIT_DATA_PROBLEMS)


def _still_flagged(test_set: Dataset, db: str | None) -> None:
    """The rows of this test set whose reference is flagged and not yet decided."""
    from assay.exceptions import NotFoundError
    from assay.review.corrections import flags_on
    from assay.store import open_store
    from assay.terminal.corrections import flags_table

    try:
        store = open_store(db, read_only=True)
    except NotFoundError:
        return  # no store here: nobody has flagged anything
    with store:
        flags = flags_on(store, test_set)
    if flags:
        flags_table(console, flags, title=f"{len(flags)} references flagged and still open")

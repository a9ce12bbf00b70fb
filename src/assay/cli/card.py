"""`assay card` (a base model against its fine-tunes, on one page) and `assay curve` (a
training run's checkpoints against the step)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assay.cli.common import (
    DbOption,
    ForceOption,
    ThresholdOption,
    console,
    output_file,
    user_errors,
)
from assay.terminal.text import escape

CURVE_FORMATS = (".html", ".svg")


def register(app: typer.Typer) -> None:
    app.command("card")(card_command)
    app.command("curve")(curve_command)


@user_errors
def card_command(
    base: Annotated[
        str,
        typer.Argument(help="The base model's runs: a name (its eval and bench runs) or an id."),
    ],
    tuned: Annotated[
        list[str], typer.Argument(help="One or more fine-tunes' runs, named the same way.")
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the HTML page here.")
    ] = None,
    by: Annotated[
        str | None, typer.Option(help="Slice the task on this metadata field (topic, ...).")
    ] = None,
    metric: Annotated[
        str | None, typer.Option(help="The task's main metric (default: the base run's first).")
    ] = None,
    threshold: ThresholdOption = None,
    alpha: Annotated[float, typer.Option(help="Significance level of the paired tests.")] = 0.05,
    group: Annotated[
        str | None,
        typer.Option(help="A training run whose checkpoints to plot (default: the fine-tune's)."),
    ] = None,
    train: Annotated[
        str | None,
        typer.Option(help="The training set: its words are never misspellings in the errors."),
    ] = None,
    allow_incomplete: Annotated[
        bool,
        typer.Option(
            "--allow-incomplete",
            help="Compare runs that are not complete, on the examples both answered.",
        ),
    ] = False,
    force: ForceOption = False,
    db: DbOption = None,
) -> None:
    """The base model against one or more fine-tunes on one page: the task (metrics with
    intervals, paired differences and tests, the examples fixed and broken), the error
    categories before and after, the benchmarks per task with McNemar on the same
    questions, judge and human verdicts, and the training curve.

    Runs are named as anywhere else (id, id prefix or name; a name may stand for an
    eval and a bench run). A fine-tune's run on other examples or with other shots is
    left out, and the reason is printed.
    """
    from assay.card import build_card, write_card
    from assay.error_analysis import training_vocabulary
    from assay.store import open_store
    from assay.terminal import card as render

    output_file(output, "output", force)
    vocabulary = training_vocabulary(train) if train is not None else frozenset()
    with open_store(db, read_only=True) as store:
        made = build_card(
            store,
            base,
            tuned,
            by=by,
            metric=metric,
            threshold=threshold,
            alpha=alpha,
            allow_incomplete=allow_incomplete,
            train_vocabulary=vocabulary,
            group=group,
        )
    render.card(console, made)
    if output is not None:
        write_card(made, output)
        console.print(f"wrote {escape(str(output))}")


@user_errors
def curve_command(
    group: Annotated[str, typer.Argument(help="The training run's name (its checkpoints' group).")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the plot here: .svg, or .html with the table."),
    ] = None,
    force: ForceOption = False,
    db: DbOption = None,
) -> None:
    """Each metric of a training run's checkpoints against the step, with intervals, the
    best checkpoint of each metric starred (runs made by
    assay.integrations.transformers.AssayCallback)."""
    import base64

    from assay.card.build import curve
    from assay.card.html import curve_chart
    from assay.exceptions import NotFoundError, OptionError
    from assay.store import open_store
    from assay.terminal import card as render

    output_file(output, "output", force)
    if output is not None and output.suffix.lower() not in CURVE_FORMATS:
        raise OptionError("output", f"{output}: write a .svg or an .html file")
    with open_store(db, read_only=True) as store:
        made = curve(store, group)
    if made is None:
        raise NotFoundError(
            f"no checkpoints of a training run '{group}': runs tagged group:{group} with a "
            "step:N tag (see assay.integrations.transformers)"
        )
    render.curve(console, made)
    if output is None:
        return
    chart = curve_chart(made)
    if chart is None:
        raise NotFoundError(f"the checkpoints of '{group}' have no scores to plot")
    if output.suffix.lower() == ".svg":
        output.write_bytes(base64.b64decode(chart.split(",", 1)[1]))
    else:
        from assay.card.html import write_card
        from assay.card.records import Card, TunedCard

        write_card(
            Card(base=group, base_runs=[], tuned=[TunedCard(name=group, curve=made)]), output
        )
    console.print(f"wrote {escape(str(output))}")

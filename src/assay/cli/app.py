"""The `assay` command: one typer app; each module of this package adds the commands
of one area (``register(app)``).

User mistakes (AssayError) are printed as one line without a traceback and exit
with status 1; an interrupted run says how to resume and exits with 130.
"""

from __future__ import annotations

from typing import Annotated

import typer

from assay import __version__
from assay.cli import (
    bench,
    card,
    compare,
    corrections,
    datacheck,
    error_analysis,
    evaluate,
    judging,
    review,
    runs,
)
from assay.cli.common import quiet_libraries

app = typer.Typer(
    help="Evaluate fine-tuned language models on your own test set, and iterate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # docstring paragraphs reflow to the terminal's width
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"assay {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Evaluate fine-tuned language models on your own test set, and iterate."""
    quiet_libraries()


for area in (
    evaluate,
    runs,
    bench,
    error_analysis,
    datacheck,
    compare,
    card,
    corrections,
    judging,
    review,
):
    area.register(app)


def main() -> None:
    app()

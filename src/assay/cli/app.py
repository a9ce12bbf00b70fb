"""The `assay` command: one typer app; each module of this package adds the commands
of one area (``register(app)``).

User mistakes (AssayError) are printed as one line without a traceback and exit
with status 1; an interrupted run says how to resume and exits with 130.
"""

from __future__ import annotations

from typing import Annotated

import typer
from typer.exceptions import TyperException

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
from assay.cli.common import EXIT_INTERRUPTED, EXIT_USAGE, quiet_libraries, stderr
from assay.terminal.text import escape

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
    """Run the command; a flag typer cannot parse (`--port abc`, `--limit 1e9`, a misspelt
    command) is one line on stderr and exit status 2, as other user errors are one line."""
    try:
        code = app(standalone_mode=False)
    except (typer.Abort, KeyboardInterrupt):
        raise SystemExit(EXIT_INTERRUPTED) from None
    except typer.Exit as done:
        raise SystemExit(done.exit_code) from None
    except TyperException as error:  # click's usage errors (typer carries its own click)
        context = getattr(error, "ctx", None)
        hint = f" (see {context.command_path} --help)" if context is not None else ""
        message = error.format_message() if hasattr(error, "format_message") else str(error)
        stderr.print(f"[bold red]error:[/] {escape(message)}{hint}")
        raise SystemExit(getattr(error, "exit_code", EXIT_USAGE)) from None
    raise SystemExit(code if isinstance(code, int) else 0)

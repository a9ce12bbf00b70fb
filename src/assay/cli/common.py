"""What every `assay` command shares: consoles, the error wrapper, common options, and
the exit statuses.

Exit statuses: 0 success; 1 a user error (the message says what and where); 2 a flag
or command that cannot be parsed (click's usage errors, one line too); 3
`compare --fail-on-regression` found B significantly worse; 4 `check-data --strict`
found problems; 5 the run is incomplete (some examples failed and were not scored);
130 interrupted (Ctrl-C; the same command resumes).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from assay.exceptions import AssayError, OptionError
from assay.runs.records import Run
from assay.terminal.text import escape

console = Console()
stderr = Console(stderr=True, soft_wrap=True)  # a message stays one line at any width

F = TypeVar("F", bound=Callable[..., Any])

EXIT_USER_ERROR = 1
EXIT_USAGE = 2
EXIT_REGRESSION = 3
EXIT_DATA_PROBLEMS = 4
EXIT_INCOMPLETE = 5
EXIT_INTERRUPTED = 130

FLAG_NAMES = {"output_format": "format", "expected_format": "format"}
"""Library option names whose CLI flag is not the name with dashes."""


def flag(option: str) -> str:
    """The CLI flag of a library option name: max_new_tokens -> --max-new-tokens."""
    return "--" + FLAG_NAMES.get(option, option).replace("_", "-")


def message(error: AssayError) -> str:
    """The error as the CLI says it: options named by their flags."""
    if isinstance(error, OptionError):
        return f"{flag(error.option)} {error.problem}"
    return str(error)


DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Store URL or SQLite file (default .assay/assay.db or $ASSAY_DB)."),
]
PluginOption = Annotated[
    list[Path] | None,
    typer.Option("--plugin", help="A Python file to import first (e.g. one registering metrics)."),
]


def user_errors(command: F) -> F:
    """Turn AssayError into a one-line message and exit status 1; Ctrl-C into status 130."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except AssayError as error:
            stderr.print(f"[bold red]error:[/] {escape(message(error))}")
            raise typer.Exit(EXIT_USER_ERROR) from None
        except KeyboardInterrupt:
            stderr.print(
                "[yellow]interrupted:[/] every finished example is stored; "
                "run the same command again to resume."
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper  # type: ignore[return-value]


DtypeOption = Annotated[str, typer.Option(help="auto, float32, bfloat16 or float16.")]
QuantizeOption = Annotated[
    str | None,
    typer.Option(
        help="int8 (fastest for batches) or int4 (for one sequence at a time): quantised "
        "linear layers on a CPU; faster, outputs differ from float32's."
    ),
]
CompileOption = Annotated[
    bool,
    typer.Option(
        "--compile",
        help="Compile the decode step with torch.compile at load (a minute or more): "
        "faster one sequence at a time (--batch-size 1; on a CPU with --quantize int4).",
    ),
]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Overwrite an output file that exists already.")
]
ThresholdOption = Annotated[
    float | None,
    typer.Option(
        help="Scores below it are wrong (default 1 for pass/fail metrics, else the "
        "metric's own, 0.5 for most)."
    ),
]


def output_file(path: Path | None, option: str, force: bool, *, plot: bool = False) -> Path | None:
    """An output path checked before any work: an existing file is refused unless
    --force, and a plot needs an image format's extension.

    Raises:
        OptionError: The file exists (and no --force), or a plot's extension is wrong.
    """
    if path is None:
        return None
    if plot:
        from assay.charts import check_plot_path

        check_plot_path(path, option)
    if path.exists() and not force:
        raise OptionError(option, f"{path} exists already; add --force to overwrite it")
    if path.exists() and path.is_dir():
        raise OptionError(option, f"{path} is a folder, not a file")
    return path


def quiet_libraries() -> None:
    """Keep library noise out of the terminal: no progress bars or warnings from
    transformers and the hub; assay's own one-line notes (logger "assay") on stderr."""
    for name, value in (
        ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
        ("TRANSFORMERS_VERBOSITY", "error"),
        ("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1"),
        ("TOKENIZERS_PARALLELISM", "false"),
    ):
        os.environ.setdefault(name, value)
    log = logging.getLogger("assay")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def exit_if_incomplete(run: Run) -> None:
    """Exit with EXIT_INCOMPLETE when some of the run's examples failed."""
    if run.info.status == "incomplete":
        raise typer.Exit(EXIT_INCOMPLETE)


def store_url(db: str | None) -> str:
    from assay.store import resolve_url

    return resolve_url(db)


def import_plugins(paths: list[Path] | None) -> None:
    """Import user files so that their @assay.metric registrations take effect.

    A plugin that does not parse, raises or calls sys.exit while it is imported
    is a user error naming the plugin file and the line that failed (the
    deepest line of the plugin's own code in the traceback), and it leaves no
    half-imported module behind.
    """
    for path in paths or []:
        if not path.is_file():
            raise AssayError(f"--plugin {path}: no such file")
        spec = importlib.util.spec_from_file_location(f"assay_plugin_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise AssayError(f"--plugin {path}: not an importable Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        try:
            spec.loader.exec_module(module)
        except (Exception, SystemExit) as error:
            del sys.modules[spec.name]
            line = _plugin_line(path, error)
            where = f"--plugin {path}" + (f", line {line}" if line is not None else "")
            raise AssayError(f"{where}: {_plugin_problem(error)}") from None


def _plugin_line(path: Path, error: BaseException) -> int | None:
    """The line of the plugin where ``error`` arose: a syntax error's own line, else the
    deepest frame of the traceback that runs the plugin's file."""
    if isinstance(error, SyntaxError):
        return error.lineno
    line = None
    target = path.resolve()
    for frame, number in traceback.walk_tb(error.__traceback__):
        if Path(frame.f_code.co_filename).resolve() == target:
            line = number
    return line


def _plugin_problem(error: BaseException) -> str:
    """What went wrong, on one line."""
    if isinstance(error, SystemExit):
        return f"called sys.exit({error.code!r})"
    try:
        said = error.msg if isinstance(error, SyntaxError) else str(error)
    except Exception:  # an exception whose __str__ fails too
        said = ""
    if isinstance(error, AssayError) and said:
        text = said
    else:
        text = f"{type(error).__name__}: {said}" if said else type(error).__name__
    return " ".join(str(text).split())

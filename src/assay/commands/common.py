"""What every `assay` command shares: consoles, the error wrapper, common options."""

from __future__ import annotations

import functools
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from assay.errors import AssayError
from assay.render import escape

console = Console()
errors = Console(stderr=True, soft_wrap=True)  # a message stays one line at any width

F = TypeVar("F", bound=Callable[..., Any])

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
            errors.print(f"[bold red]error:[/] {escape(str(error))}")
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            errors.print(
                "[yellow]interrupted:[/] every finished example is stored; "
                "run the same command again to resume."
            )
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def store_url(db: str | None) -> str:
    from assay.store import resolve_url

    return resolve_url(db)


def import_plugins(paths: list[Path] | None) -> None:
    """Import user files so that their @assay.metric registrations take effect."""
    for path in paths or []:
        if not path.is_file():
            raise AssayError(f"--plugin {path}: no such file")
        spec = importlib.util.spec_from_file_location(f"assay_plugin_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise AssayError(f"--plugin {path}: not an importable Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)

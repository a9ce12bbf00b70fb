"""`assay review` (the review web app) and `assay report` (a self-contained HTML report)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

import typer

from assay.cli.common import DbOption, ForceOption, console, output_file, user_errors
from assay.terminal.text import escape


def register(app: typer.Typer) -> None:
    app.command("review")(review_command)
    app.command("report")(report_command)


@user_errors
def review_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            help="Require this token on every request (needed beyond 127.0.0.1): 16 or more "
            "characters, default $ASSAY_REVIEW_TOKEN. Generate one with: python -c "
            '"import secrets; print(secrets.token_urlsafe(32))".'
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Label outputs and vote blind between runs in a web app over the store."""
    import uvicorn

    from assay.web import check_bind, check_port, check_token, create_app
    from assay.web.security import TOKEN_ENV

    if token is None:
        token = os.environ.get(TOKEN_ENV) or None
    check_port(port)
    if token is not None:
        check_token(token)
    check_bind(host, token)
    app = create_app(db, token=token)
    shown = f"[{host}]" if ":" in host else host
    suffix = f"/?{urlencode({'token': token})}" if token else "/"
    console.print(f"assay review on http://{escape(shown)}:{port}{escape(suffix)}  (Ctrl-C stops)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


@user_errors
def report_command(
    run_ids: Annotated[list[str], typer.Argument(help="Run ids, unique prefixes or names.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = Path(
        "report.html"
    ),
    by: Annotated[
        str | None,
        typer.Option(help="Also show metrics and paired differences per value of this field."),
    ] = None,
    force: ForceOption = False,
    db: DbOption = None,
) -> None:
    """Write one self-contained HTML report of one or more runs: eval and bench runs
    apart, each later run paired with the first of its kind, charts with one panel per
    metric, and the examples as cards with filters."""
    from assay.report import write_report
    from assay.store import open_store

    output_file(output, "output", force)
    with open_store(db, create=False) as store:
        path = write_report(store, run_ids, output, by=by)
    console.print(f"wrote {escape(str(path))}")

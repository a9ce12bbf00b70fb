"""`assay corrections`: fix the test set itself. Flag a reference and propose a
correction, let a second reviewer accept or reject it, and export the test set with
the accepted corrections applied, with a changelog (the review app does the same
from an example's page)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assay.cli.common import DbOption, ForceOption, console, output_file, user_errors
from assay.terminal.text import clip, escape

corrections = typer.Typer(
    help="Fix the test set: flag references, decide on corrections, export the fixed set.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

ReviewerOption = Annotated[
    str, typer.Option("--reviewer", help="Who you are (as in the review app).")
]


def register(app: typer.Typer) -> None:
    app.add_typer(corrections, name="corrections")


@corrections.command("flag")
@user_errors
def flag_command(
    run: Annotated[str, typer.Argument(help="The run the example was seen in (id or name).")],
    example_id: Annotated[str, typer.Argument(help="The example's id.")],
    reviewer: ReviewerOption,
    reason: Annotated[str, typer.Option(help="wrong, ambiguous or outdated.")] = "wrong",
    propose: Annotated[str | None, typer.Option(help="The corrected reference.")] = None,
    note: Annotated[str, typer.Option(help="Why, for the second reviewer.")] = "",
    db: DbOption = None,
) -> None:
    """Flag an example's reference, and propose a corrected one."""
    from assay.review.corrections import flag_reference
    from assay.store import open_store

    with open_store(db, create=False) as store:
        flag = flag_reference(store, run, example_id, reviewer, reason, proposed=propose, note=note)
    proposal = f" → {escape(repr(flag.proposed))}" if flag.proposed else " (no correction proposed)"
    console.print(
        f"flag {flag.id}: {escape(flag.example_id)} {escape(repr(flag.original))}{proposal}; "
        "a second reviewer accepts or rejects it"
    )


@corrections.command("accept")
@user_errors
def accept_command(
    flag: Annotated[str, typer.Argument(help="The flag's id.")],
    reviewer: ReviewerOption,
    note: Annotated[str, typer.Option(help="Why.")] = "",
    db: DbOption = None,
) -> None:
    """Accept a proposed correction (not your own)."""
    _decide(flag, reviewer, accept=True, note=note, db=db)


@corrections.command("reject")
@user_errors
def reject_command(
    flag: Annotated[str, typer.Argument(help="The flag's id.")],
    reviewer: ReviewerOption,
    note: Annotated[str, typer.Option(help="Why.")] = "",
    db: DbOption = None,
) -> None:
    """Reject a flag (not your own)."""
    _decide(flag, reviewer, accept=False, note=note, db=db)


def _decide(flag: str, reviewer: str, *, accept: bool, note: str, db: str | None) -> None:
    from assay.review.corrections import decide
    from assay.store import open_store

    with open_store(db, create=False) as store:
        decided = decide(store, flag, reviewer, accept=accept, note=note)
    console.print(f"flag {decided.id} {decided.status} by {escape(reviewer)}")


@corrections.command("list")
@user_errors
def list_command(
    status: Annotated[
        str | None, typer.Option(help="Only flags in this status: open, accepted or rejected.")
    ] = None,
    db: DbOption = None,
) -> None:
    """List the flagged references, oldest first."""
    from assay.review.corrections import list_flags
    from assay.store import open_store
    from assay.terminal.corrections import flags_table

    with open_store(db, read_only=True) as store:
        flags_table(console, list_flags(store, status=status))


@corrections.command("apply")
@user_errors
def apply_command(
    data: Annotated[str, typer.Argument(help="The test set (a file or folder).")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The corrected test set to write (JSONL).")
    ],
    changelog: Annotated[
        Path | None,
        typer.Option(help="The changelog to write (default: OUTPUT.changes.jsonl)."),
    ] = None,
    force: ForceOption = False,
    db: DbOption = None,
) -> None:
    """Write the test set with the accepted corrections applied, and a changelog of
    every changed row (before, after, reason, who flagged it, who accepted it)."""
    from assay.review.corrections import apply_corrections
    from assay.store import open_store

    output_file(output, "output", force)
    log_path = changelog or output.with_name(output.name + ".changes.jsonl")
    output_file(log_path, "changelog", force)
    with open_store(db, read_only=True) as store:
        result = apply_corrections(store, data, output, changelog=log_path)
    for change in result.changes:
        console.print(
            f"  {escape(change.example_id)}: {escape(repr(clip(change.before, 60)))} → "
            f"{escape(repr(clip(change.after, 60)))} ({change.reason}; flagged by "
            f"{escape(change.flagged_by)}, accepted by {escape(change.decided_by)})"
        )
    for flag in result.stale:
        console.print(
            f"[yellow]not applied:[/] flag {flag.id} on {escape(flag.example_id)}: the row's "
            "reference is no longer the text that was flagged"
        )
    if result.still_open:
        console.print(
            f"[yellow]{len(result.still_open)} flags on this set are still open[/] "
            "(assay corrections list --status open)"
        )
    console.print(
        f"wrote {escape(str(result.path))} ({result.rows} rows, {len(result.changes)} corrected) "
        f"and {escape(str(result.changelog))}"
    )

"""Terminal views of flagged references (`assay corrections list`, `assay check-data`)."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table

from assay.review.corrections import Flag
from assay.terminal.text import clip, escape

STATUS_STYLE = {"open": "yellow", "accepted": "green", "rejected": "dim"}


def flags_table(console: Console, flags: Sequence[Flag], title: str | None = None) -> None:
    """One row per flag: id, example, the reference and its proposed correction, who, status."""
    if not flags:
        console.print("no flagged references")
        return
    table = Table(title=escape(title) if title else None, title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("flag", no_wrap=True)
    table.add_column("example", overflow="fold")
    table.add_column("reference → proposed", overflow="fold", ratio=1)
    table.add_column("why", overflow="fold")
    table.add_column("status", overflow="fold")
    for flag in flags:
        proposed = f" → {escape(clip(flag.proposed, 80))}" if flag.proposed else ""
        decided = f"\nby {escape(flag.decided_by)}" if flag.decided_by else ""
        style = STATUS_STYLE.get(flag.status, "white")
        table.add_row(
            flag.id,
            escape(flag.example_id),
            f"{escape(clip(flag.original, 80))}{proposed}",
            f"{flag.reason} ({escape(flag.reviewer)})"
            + (f"\n{escape(clip(flag.note, 80))}" if flag.note else ""),
            f"[{style}]{flag.status}[/]{decided}",
        )
    console.print(table)
    console.print(f"{len(flags)} flags")

"""Battles: one comparison of two models' answers and its outcome, as stored and as read.

Judges write battles now; the review app writes human votes into the same
table later; files in Chatbot Arena's public format (model_a, model_b, winner)
are imported as they are.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import pandas as pd
from sqlalchemy import Connection, insert, select

from assay.arena.tables import battles as battles_table
from assay.exceptions import DataError

if TYPE_CHECKING:
    from assay.store import Store

Winner = Literal["model_a", "model_b", "tie", "tie (bothbad)"]
Source = Literal["judge", "human", "import"]
WINNERS: tuple[str, ...] = get_args(Winner)
SOURCES: tuple[str, ...] = get_args(Source)


@dataclass(frozen=True)
class Battle:
    """One battle between two models.

    Attributes:
        model_a / model_b: The two models (as named in ratings).
        winner: "model_a", "model_b", "tie" or "tie (bothbad)".
        source: "judge", "human" (a reviewer's vote) or "import" (a file).
        decided_by: The judge's spec or the reviewer's name, if known.
        run_a / run_b: The runs the two answers came from, if any.
        example_id: The example both answered, if any.
        detail: Anything else worth keeping (the judge's verdicts in both orders, ...).
        created_at: When it was decided (UTC); now if not given.
    """

    model_a: str
    model_b: str
    winner: Winner
    source: Source = "import"
    decided_by: str | None = None
    run_a: str | None = None
    run_b: str | None = None
    example_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.winner not in WINNERS:
            raise DataError(f"battle winner '{self.winner}' is not one of {', '.join(WINNERS)}")
        if self.source not in SOURCES:
            raise DataError(f"battle source '{self.source}' is not one of {', '.join(SOURCES)}")


def save_battles(store: Store, battles: Sequence[Battle]) -> None:
    """Store battles, in one transaction."""
    if not battles:
        return
    with store.connection(write=True) as conn:
        insert_battles(conn, battles)


def insert_battles(conn: Connection, battles: Sequence[Battle]) -> None:
    """Insert battles within a transaction the caller holds (to commit them with other writes)."""
    if not battles:
        return
    now = datetime.now(timezone.utc)
    rows = [
        {
            "model_a": b.model_a,
            "model_b": b.model_b,
            "winner": b.winner,
            "source": b.source,
            "decided_by": b.decided_by,
            "run_a": b.run_a,
            "run_b": b.run_b,
            "example_id": b.example_id,
            "detail": dict(b.detail),
            "created_at": b.created_at or now,
        }
        for b in battles
    ]
    conn.execute(insert(battles_table), rows)


def load_battles(store: Store, source: Source | None = None) -> list[Battle]:
    """Every stored battle (of one source, if given), in the order they were stored."""
    query = select(battles_table).order_by(battles_table.c.id)
    if source is not None:
        query = query.where(battles_table.c.source == source)
    with store.connection() as conn:
        return [
            Battle(
                model_a=row.model_a,
                model_b=row.model_b,
                winner=row.winner,
                source=row.source,
                decided_by=row.decided_by,
                run_a=row.run_a,
                run_b=row.run_b,
                example_id=row.example_id,
                detail=dict(row.detail or {}),
                created_at=row.created_at,
            )
            for row in conn.execute(query)
        ]


def read_battles_file(path: str | Path) -> pd.DataFrame:
    """A battle file (JSONL, JSON list, CSV or Parquet) with model_a, model_b, winner columns.

    Chatbot Arena's public battle data is read as it is; other columns are ignored.

    Raises:
        DataError: The file is missing, unreadable, lacks a column, or has an unknown winner.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such battles file")
    frame = _read_frame(path)
    missing = [c for c in ("model_a", "model_b", "winner") if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {', '.join(missing)}; a battles file needs "
            "model_a, model_b and winner (model_a|model_b|tie|tie (bothbad))"
        )
    frame = frame[["model_a", "model_b", "winner"]].astype(str).reset_index(drop=True)
    bad = ~frame["winner"].isin(WINNERS)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise DataError(
            f"{path}: row {row + 1}: winner '{frame['winner'][row]}' is not one of "
            f"{', '.join(WINNERS)}"
        )
    return frame


def frame_to_battles(
    frame: pd.DataFrame, *, source: Source = "import", decided_by: str | None = None
) -> list[Battle]:
    """Battle records from a (model_a, model_b, winner) DataFrame."""
    return [
        Battle(a, b, w, source=source, decided_by=decided_by)
        for a, b, w in zip(frame["model_a"], frame["model_b"], frame["winner"], strict=True)
    ]


def _read_frame(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix == ".jsonl":
            return pd.read_json(path, lines=True)
        if suffix == ".json":
            return pd.DataFrame(json.loads(path.read_text()))
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix == ".parquet":
            return pd.read_parquet(path)
    except (ValueError, OSError) as exc:
        raise DataError(f"{path}: cannot read battles: {exc}") from exc
    raise DataError(f"{path}: battles files are .jsonl, .json, .csv or .parquet")

"""The battles table, on the store's one `metadata`, so that every Store creates it.

battles   one row per battle: two models, the winner, who decided (judge,
          human or import) and where it came from (runs, example)
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table, Text

from assay.store.tables import ID, UTCDateTime, metadata

battles = Table(
    "battles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_a", Text, nullable=False),
    Column("model_b", Text, nullable=False),
    Column("winner", String(16), nullable=False),
    Column("source", String(16), nullable=False),
    Column("decided_by", Text),
    Column("run_a", ID),
    Column("run_b", ID),
    Column("example_id", Text),
    Column("detail", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_battles_source", "source"),
)
"""`decided_by` is the judge's spec (source "judge") or the reviewer's name (source "human")."""

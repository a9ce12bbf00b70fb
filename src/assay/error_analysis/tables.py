"""The analysis area's table, on the store's own metadata so that the Store creates it.

example_errors  one row per (run, example, category): severity, detail, source
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table, Text

from assay.store.tables import ID, metadata

example_errors = Table(
    "example_errors",
    metadata,
    Column("run_id", ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("example_id", Text, primary_key=True),
    Column("category", String(64), primary_key=True),
    Column("severity", String(16), nullable=False),
    Column("detail", Text),
    Column("source", String(16), nullable=False),
)
"""``source`` is "detector" or "label" (a human label that overrode the detectors)."""

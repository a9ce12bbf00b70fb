"""The review tables, on the store's one :data:`~assay.store.tables.metadata`, so that
opening a store creates them with the others.

    labels            one row per (run, example, reviewer): verdict, note, time
    label_categories  one row per (run, example, reviewer, category), for indexed filtering
    pair_tickets      one row per blind pair shown to a reviewer; the vote is recorded on it
                      once (the ticket is what makes a vote idempotent under concurrency)
    reference_flags   one row per flagged reference: the reason, a proposed correction,
                      and a second reviewer's decision (see review/corrections.py)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import JSON, Column, Index, Integer, String, Table, Text

from assay.store.tables import ID, UTCDateTime, metadata

if TYPE_CHECKING:
    pass

REVIEWER = String(128)

labels = Table(
    "labels",
    metadata,
    Column("run_id", ID, primary_key=True),
    Column("example_id", Text, primary_key=True),
    Column("reviewer", REVIEWER, primary_key=True),
    Column("verdict", String(16), nullable=False),
    Column("categories", JSON, nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_labels_run_verdict", "run_id", "verdict"),
)
"""Relabelling an example replaces the reviewer's earlier label for it."""

label_categories = Table(
    "label_categories",
    metadata,
    Column("run_id", ID, primary_key=True),
    Column("example_id", Text, primary_key=True),
    Column("reviewer", REVIEWER, primary_key=True),
    Column("category", String(128), primary_key=True),
    Index("ix_label_categories_run_category", "run_id", "category"),
)

pair_tickets = Table(
    "pair_tickets",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("reviewer", REVIEWER, nullable=False),
    Column("example_id", Text, nullable=False),
    Column("left_run", ID, nullable=False),
    Column("right_run", ID, nullable=False),
    Column("runs", JSON, nullable=False),
    Column("winner", String(16)),
    Column("position", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("voted_at", UTCDateTime),
)
"""left_run is shown as answer A, right_run as B; winner is "model_a" (left), "model_b",
"tie" or "tie (bothbad)", set once."""

reference_flags = Table(
    "reference_flags",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("example_id", Text, nullable=False),
    Column("original", Text),
    Column("input", Text, nullable=False),
    Column("dataset", Text, nullable=False),
    Column("seen_in_run", ID, nullable=False),
    Column("reason", String(16), nullable=False),
    Column("proposed", Text),
    Column("note", Text, nullable=False),
    Column("reviewer", REVIEWER, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("decided_by", REVIEWER),
    Column("decided_at", UTCDateTime),
    Column("decision_note", Text),
    Index("ix_reference_flags_example", "example_id"),
)
"""A flag belongs to the test set, not to a run (no run_id column: removing the run where
it was seen keeps it); it names the example by id and the reference as it was, so a
correction applies only to the text it corrected."""

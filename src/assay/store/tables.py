"""The store's tables, as SQLAlchemy Core: portable types only, so one schema serves
SQLite and PostgreSQL alike.

    runs                 one row per run: every RunInfo field but the summary
    results              one row per (run, example): prompt, prediction, accounting
    scores               one row per (run, example, metric); NULL value means NaN
    run_metrics          one row per (run, metric): the aggregates, so listing runs is fast
    generation_cache     one row per cache key: a model output that can be reused
    loglikelihood_cache  one row per (model, context, continuation) key: a log-probability

At most one run per run key is "running" (a partial unique index): that is what
stops two processes from doing the same run at once. Columns added since the
first version are listed in ADDED_COLUMNS, so that an older store gains them when
it is opened (see store/migrate.py).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    SQLite keeps no offset, so values are converted to UTC on the way in and marked
    UTC on the way out; a naive datetime is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


metadata = MetaData()

ID = String(32)
KEY = String(128)

runs = Table(
    "runs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("run_key", KEY, nullable=False),
    Column("model_spec", Text, nullable=False),
    Column("model_fingerprint", KEY, nullable=False),
    Column("model_details", JSON, nullable=False),
    Column("dataset_name", Text, nullable=False),
    Column("dataset_fingerprint", KEY, nullable=False),
    Column("n_examples", Integer, nullable=False),
    Column("prompt_config", JSON, nullable=False),
    Column("generation_params", JSON, nullable=False),
    Column("metrics", JSON, nullable=False),
    Column("assay_version", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("seconds", Float, nullable=False),
    Column("stats", JSON, nullable=False),
    Column("message", Text),
    Column("owner", Text),
    Column("heartbeat_at", UTCDateTime),
    Column("tags", JSON),
    Index("ix_runs_run_key", "run_key"),
    Index("ix_runs_created_at", "created_at"),
)

one_running_run_per_key = Index(
    "ux_runs_running_key",
    runs.c.run_key,
    unique=True,
    sqlite_where=runs.c.status == "running",
    postgresql_where=runs.c.status == "running",
)
"""Two processes that start the same run race to insert (or take over) its one running row;
the loser sees the winner's run and waits for it."""

results = Table(
    "results",
    metadata,
    Column("run_id", ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("example_id", Text, primary_key=True),
    Column("position", Integer, nullable=False),
    Column("input", Text, nullable=False),
    Column("reference", Text),
    Column("prompt", Text, nullable=False),
    Column("prediction", Text, nullable=False),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("finish_reason", String(16), nullable=False),
    Column("seconds", Float, nullable=False),
    Column("truncated_tokens", Integer, nullable=False),
    Column("error", Text),
    Column("cached", Boolean, nullable=False),
    Column("metadata", JSON, nullable=False),
)
"""The primary key (run_id, example_id) is the uniqueness that makes writes idempotent."""

scores = Table(
    "scores",
    metadata,
    Column("run_id", ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("example_id", Text, primary_key=True),
    Column("metric", String(128), primary_key=True),
    Column("value", Float),
    Column("detail", Text),
)

run_metrics = Table(
    "run_metrics",
    metadata,
    Column("run_id", ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("metric", String(128), primary_key=True),
    Column("mean", Float),
    Column("ci_low", Float),
    Column("ci_high", Float),
    Column("n", Integer, nullable=False),
    Column("unscored", Integer),
)

generation_cache = Table(
    "generation_cache",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("text", Text, nullable=False),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("finish_reason", String(16), nullable=False),
    Column("truncated_tokens", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

loglikelihood_cache = Table(
    "loglikelihood_cache",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("logprob", Float, nullable=False),
    Column("is_greedy", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
"""Keyed by (model fingerprint, context, continuation): a benchmark re-run, or a larger
--limit after a smaller one, computes only what it has not seen."""

ADDED_COLUMNS = {
    "runs": ("message", "owner", "heartbeat_at", "tags"),
    "run_metrics": ("unscored",),
}
"""Columns that stores made by assay 0.1 lack; all nullable, added when such a store opens."""


AREA_TABLE_MODULES = ("assay.error_analysis.tables", "assay.arena.tables", "assay.review.tables")
"""Modules of other areas that define tables on :data:`metadata` (error categories,
battles, labels); imported before the schema is created so one store holds them all."""


def import_area_tables() -> None:
    import importlib

    for module in AREA_TABLE_MODULES:
        importlib.import_module(module)


def run_owned_tables() -> list[Table]:
    """Every table whose rows belong to one run (a ``run_id`` column), children first."""
    import_area_tables()
    owned = [table for table in metadata.sorted_tables if "run_id" in table.c]
    return list(reversed(owned))

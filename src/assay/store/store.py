"""The run store: where every run, its per-example results and scores, and the
generation cache are kept.

SQLite by default (a file under .assay/), PostgreSQL by URL; the same code serves
both. Every write is one transaction, so a killed process loses at most the batch in
flight, and writes are idempotent, so a resumed run never duplicates an example.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from assay.errors import StoreError
from assay.metrics.base import MetricSummary, Score
from assay.models.base import FinishReason, Generation
from assay.run import ExampleResult, Run, RunInfo
from assay.store import tables as t
from assay.store.engine import (
    display_url,
    make_engine,
    resolve_url,
    translate_errors,
    write_transaction,
)
from assay.store.rows import (
    example_result,
    float_or_nan,
    null_if_nan,
    ordered,
    result_row,
    run_info,
    run_row,
    score_row,
)

MIN_PREFIX = 4
"""Shortest run id prefix accepted in place of a full id."""

CHUNK = 500
"""Most values in one IN (...) list; SQLite's bound-parameter limit is far above it."""

SCHEMA_LOCK = 0x61737361  # "assa"
"""PostgreSQL advisory lock key held while the schema is created."""


def open_store(url: str | None = None, *, busy_timeout: float = 5.0) -> Store:
    """Open (and create, if new) the run store.

    Args:
        url: A database URL ("sqlite:///runs.db", "postgresql+psycopg://...") or a
            file path; None means $ASSAY_DB, else .assay/assay.db in the current directory.
        busy_timeout: Seconds to wait for another process's write lock (SQLite).

    Raises:
        StoreError: The store cannot be opened or created.
    """
    return Store(resolve_url(url), busy_timeout=busy_timeout)


class Store:
    """Reads and writes runs and the generation cache. Use as a context manager, or close()."""

    def __init__(self, url: str, *, busy_timeout: float = 5.0) -> None:
        self.url = url
        self.busy_timeout = busy_timeout
        self._engine = make_engine(url, busy_timeout=busy_timeout)
        try:
            self._create_schema()
        except BaseException:
            self._engine.dispose()
            raise

    def __repr__(self) -> str:
        return f"Store({display_url(self.url)!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release every connection (and, for SQLite, fold the WAL back into the file)."""
        self._engine.dispose()

    # -- runs --------------------------------------------------------------

    def create_run(self, info: RunInfo) -> None:
        """Record a new run (status as given, normally "running"), and its summary if any.

        A missing created_at is stored as now (UTC).

        Raises:
            StoreError: A run with this id exists already.
        """
        row = run_row(info)
        row["created_at"] = info.created_at or _now()
        try:
            with self._write() as conn:
                conn.execute(insert(t.runs), [row])
                _write_summary(conn, info.id, info.summary)
        except IntegrityError as exc:
            raise StoreError(f"a run with id '{info.id}' already exists in {self._where}") from exc

    def find_unfinished_run(self, run_key: str) -> RunInfo | None:
        """The newest run with this key that is still "running", to resume; else None."""
        query = (
            select(t.runs)
            .where(t.runs.c.run_key == run_key, t.runs.c.status == "running")
            .order_by(t.runs.c.created_at.desc(), t.runs.c.id.desc())
            .limit(1)
        )
        with self._read() as conn:
            row = conn.execute(query).first()
            return None if row is None else _with_summaries(conn, [row])[0]

    def done_example_ids(self, run_id: str) -> set[str]:
        """Ids of the examples of this run that are stored already."""
        query = select(t.results.c.example_id).where(t.results.c.run_id == run_id)
        with self._read() as conn:
            return set(conn.scalars(query))

    def add_results(self, run_id: str, results: Sequence[ExampleResult]) -> None:
        """Store a batch of results and their scores, in one transaction.

        Idempotent: an example already stored for the run (or repeated within the
        batch) is skipped, never duplicated, and its stored scores are left alone.
        """
        if not results:
            return
        with self._write() as conn:
            self._require_run(conn, run_id)
            stored = self._stored_ids(conn, run_id, [r.example_id for r in results])
            fresh: dict[str, ExampleResult] = {}
            for result in results:
                if result.example_id not in stored and result.example_id not in fresh:
                    fresh[result.example_id] = result
            if not fresh:
                return
            _insert_ignore(conn, t.results, [result_row(run_id, r) for r in fresh.values()])
            score_rows = [
                score_row(run_id, r.example_id, metric, score)
                for r in fresh.values()
                for metric, score in r.scores.items()
            ]
            _insert_ignore(conn, t.scores, score_rows)

    def save_scores(self, run_id: str, metric: str, scores: Mapping[str, Score]) -> None:
        """Store one metric's scores (example id -> score), replacing earlier ones for
        those examples, so a run can be re-scored. NaN is stored as NULL."""
        with self._write() as conn:
            self._require_run(conn, run_id)
            ids = list(scores)
            for chunk in _chunks(ids):
                conn.execute(
                    delete(t.scores).where(
                        t.scores.c.run_id == run_id,
                        t.scores.c.metric == metric,
                        t.scores.c.example_id.in_(chunk),
                    )
                )
            rows = [score_row(run_id, key, metric, scores[key]) for key in ids]
            if rows:
                conn.execute(insert(t.scores), rows)

    def save_summary(self, run_id: str, summary: Mapping[str, MetricSummary]) -> None:
        """Store the aggregates of these metrics (replacing earlier ones) and add the
        metrics to the run's list of metrics."""
        with self._write() as conn:
            self._require_run(conn, run_id)
            _write_summary(conn, run_id, summary)
            metrics = list(conn.scalar(select(t.runs.c.metrics).where(t.runs.c.id == run_id)) or [])
            added = [name for name in summary if name not in metrics]
            if added:
                conn.execute(
                    update(t.runs).where(t.runs.c.id == run_id).values(metrics=metrics + added)
                )

    def finish_run(self, run_id: str, *, seconds: float, stats: Mapping[str, Any]) -> None:
        """Mark the run complete, with its wall time and run-level stats."""
        with self._write() as conn:
            done = conn.execute(
                update(t.runs)
                .where(t.runs.c.id == run_id)
                .values(status="complete", finished_at=_now(), seconds=seconds, stats=dict(stats))
            )
            if done.rowcount == 0:
                raise self._no_run(run_id)

    def list_runs(self) -> list[RunInfo]:
        """Every run, newest first, with its summary (results are not loaded)."""
        query = select(t.runs).order_by(t.runs.c.created_at.desc(), t.runs.c.id.desc())
        with self._read() as conn:
            return _with_summaries(conn, list(conn.execute(query)))

    def get_run_info(self, run_id: str) -> RunInfo:
        """A run's description and summary, by id or unique prefix (4+ characters).

        Raises:
            StoreError: No run, or more than one, matches.
        """
        with self._read() as conn:
            row = conn.execute(
                select(t.runs).where(t.runs.c.id == self._resolve_id(conn, run_id))
            ).one()
            return _with_summaries(conn, [row])[0]

    def load_run(self, run_id: str) -> Run:
        """A whole run, by id or unique prefix: its info and results (ordered by
        position) with their scores."""
        with self._read() as conn:
            full_id = self._resolve_id(conn, run_id)
            row = conn.execute(select(t.runs).where(t.runs.c.id == full_id)).one()
            info = _with_summaries(conn, [row])[0]
            scores: dict[str, dict[str, Score]] = {}
            for s in conn.execute(select(t.scores).where(t.scores.c.run_id == full_id)):
                scores.setdefault(s.example_id, {})[s.metric] = Score(
                    float_or_nan(s.value), s.detail
                )
            rows = conn.execute(
                select(t.results)
                .where(t.results.c.run_id == full_id)
                .order_by(t.results.c.position, t.results.c.example_id)
            )
            results = [
                example_result(r, ordered(scores.get(r.example_id, {}), info.metrics)) for r in rows
            ]
        return Run(info=info, results=results)

    def delete_run(self, run_id: str) -> None:
        """Delete a run (by id or unique prefix) with its results, scores and aggregates."""
        with self._write() as conn:
            full_id = self._resolve_id(conn, run_id)
            for table in (t.scores, t.results, t.run_metrics):
                conn.execute(delete(table).where(table.c.run_id == full_id))
            conn.execute(delete(t.runs).where(t.runs.c.id == full_id))

    # -- generation cache --------------------------------------------------

    def cache_get(self, keys: Sequence[str]) -> dict[str, Generation]:
        """The cached generations for those keys that have one (key -> generation)."""
        found: dict[str, Generation] = {}
        c = t.generation_cache.c
        columns = (c.key, c.text, c.prompt_tokens, c.completion_tokens, c.finish_reason)
        with self._read() as conn:
            for chunk in _chunks(list(dict.fromkeys(keys))):
                query = select(*columns, c.truncated_tokens).where(c.key.in_(chunk))
                for row in conn.execute(query):
                    found[row.key] = Generation(
                        text=row.text,
                        prompt_tokens=row.prompt_tokens,
                        completion_tokens=row.completion_tokens,
                        finish_reason=cast(FinishReason, row.finish_reason),
                        truncated_tokens=row.truncated_tokens,
                    )
        return found

    def cache_put(self, items: Mapping[str, Generation]) -> None:
        """Cache generations by key; keys already cached are kept, failures never cached."""
        now = _now()
        rows = [
            {
                "key": key,
                "text": gen.text,
                "prompt_tokens": gen.prompt_tokens,
                "completion_tokens": gen.completion_tokens,
                "finish_reason": gen.finish_reason,
                "truncated_tokens": gen.truncated_tokens,
                "created_at": now,
            }
            for key, gen in items.items()
            if gen.finish_reason != "error"
        ]
        if rows:
            with self._write() as conn:
                _insert_ignore(conn, t.generation_cache, rows)

    def connection(self, *, write: bool = False) -> AbstractContextManager[Connection]:
        """A connection for another area's tables (defined on :data:`tables.metadata`).

        With ``write=True`` it is one write transaction, committed on success; database
        failures a user can fix become StoreError either way.
        """
        return self._write() if write else self._read()

    # -- plumbing ----------------------------------------------------------

    @property
    def _where(self) -> str:
        return display_url(self.url)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with translate_errors(self.url, self.busy_timeout), self._engine.connect() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with translate_errors(self.url, self.busy_timeout), write_transaction(self._engine) as conn:
            yield conn

    def _create_schema(self) -> None:
        t.import_area_tables()
        with self._read() as conn:
            existing = set(conn.dialect.get_table_names(conn))
        if not set(t.metadata.tables) <= existing:
            with self._write() as conn:
                if conn.dialect.name == "postgresql":
                    # Serialise schema creation between processes opening a new database
                    # at once (SQLite's BEGIN IMMEDIATE does this already); create_all
                    # then sees the tables another one committed, and skips them.
                    conn.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK)))
                t.metadata.create_all(conn)

    def _stored_ids(self, conn: Connection, run_id: str, ids: Sequence[str]) -> set[str]:
        """Those of `ids` already stored for the run."""
        c = t.results.c
        stored: set[str] = set()
        for chunk in _chunks(ids):
            stored.update(
                conn.scalars(
                    select(c.example_id).where(c.run_id == run_id, c.example_id.in_(chunk))
                )
            )
        return stored

    def _require_run(self, conn: Connection, run_id: str) -> None:
        if conn.scalar(select(t.runs.c.id).where(t.runs.c.id == run_id)) is None:
            raise self._no_run(run_id)

    def _resolve_id(self, conn: Connection, run_id: str) -> str:
        """The full id for an id or a unique prefix of at least MIN_PREFIX characters."""
        if conn.scalar(select(t.runs.c.id).where(t.runs.c.id == run_id)) is not None:
            return run_id
        if len(run_id) < MIN_PREFIX:
            raise self._no_run(run_id, f" (give at least {MIN_PREFIX} characters of an id)")
        query = (
            select(t.runs.c.id, t.runs.c.name)
            .where(t.runs.c.id.startswith(run_id, autoescape=True))
            .order_by(t.runs.c.id)
        )
        matches = list(conn.execute(query))
        if not matches:
            raise self._no_run(run_id)
        if len(matches) > 1:
            listed = ", ".join(f"{m.id} ({m.name})" for m in matches)
            raise StoreError(
                f"run id '{run_id}' is ambiguous in {self._where}: it starts {listed}; "
                f"give more characters"
            )
        return str(matches[0].id)

    def _no_run(self, run_id: str, extra: str = "") -> StoreError:
        return StoreError(f"no run '{run_id}' in {self._where}{extra}; `assay runs` lists them")


# -- queries shared by several methods -------------------------------------


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _with_summaries(conn: Connection, rows: Sequence[Row[Any]]) -> list[RunInfo]:
    """RunInfo records for run rows, their summaries read in one query per chunk."""
    m = t.run_metrics.c
    summaries: dict[str, dict[str, MetricSummary]] = {}
    for chunk in _chunks([row.id for row in rows]):
        for s in conn.execute(select(t.run_metrics).where(m.run_id.in_(chunk))):
            summaries.setdefault(s.run_id, {})[s.metric] = MetricSummary(
                metric=s.metric,
                mean=float_or_nan(s.mean),
                ci_low=float_or_nan(s.ci_low),
                ci_high=float_or_nan(s.ci_high),
                n=s.n,
            )
    return [run_info(row, summaries.get(row.id, {})) for row in rows]


def _write_summary(conn: Connection, run_id: str, summary: Mapping[str, MetricSummary]) -> None:
    if not summary:
        return
    m = t.run_metrics.c
    conn.execute(delete(t.run_metrics).where(m.run_id == run_id, m.metric.in_(list(summary))))
    rows = [
        {
            "run_id": run_id,
            "metric": name,
            "mean": null_if_nan(s.mean),
            "ci_low": null_if_nan(s.ci_low),
            "ci_high": null_if_nan(s.ci_high),
            "n": s.n,
        }
        for name, s in summary.items()
    ]
    conn.execute(insert(t.run_metrics), rows)


# -- helpers ---------------------------------------------------------------


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _insert_ignore(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows, silently skipping those whose primary key exists already."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(table).on_conflict_do_nothing(), list(rows))

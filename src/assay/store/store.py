"""The run store: where every run, its per-example results and scores, and the
generation cache are kept.

SQLite by default (a file under .assay/), PostgreSQL by URL; the same code serves
both. Every write is one transaction, so a killed process loses at most the batch in
flight, and writes are idempotent, so a resumed run never duplicates an example.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, cast

from sqlalchemy import Column, Connection, Row, Table, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from assay.exceptions import NotFoundError, OptionError, StoreError
from assay.metrics.base import MetricSummary, Score
from assay.models.base import FinishReason, Generation
from assay.runs.records import ExampleResult, Run, RunInfo, RunKind, RunStats, RunStatus
from assay.store import tables as t
from assay.store.connection import (
    display_url,
    make_engine,
    require_existing,
    resolve_url,
    translate_errors,
    write_transaction,
)
from assay.store.migrate import bring_up_to_date, schema_is_current
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


@dataclass(frozen=True)
class RunFilter:
    """Which runs `list_runs` returns: every field given must match.

    Attributes:
        kind: "eval" or "bench".
        model: Part of the model spec.
        status: The status, as shown (a running run whose owner is gone is "interrupted").
        name: Part of the run's name.
        tag: A tag the run carries.
    """

    kind: RunKind | None = None
    model: str | None = None
    status: RunStatus | None = None
    name: str | None = None
    tag: str | None = None


MIN_PREFIX = 4
"""Shortest run id prefix accepted in place of a full id."""

CHUNK = 500
"""Most values in one IN (...) list; SQLite's bound-parameter limit is far above it."""

SCHEMA_LOCK = 0x61737361  # "assa"
"""PostgreSQL advisory lock key held while the schema is created."""


def open_store(
    url: str | None = None,
    *,
    busy_timeout: float = 5.0,
    read_only: bool = False,
    create: bool = True,
) -> Store:
    """Open (and create, if new) the run store.

    Args:
        url: A database URL ("sqlite:///runs.db", "postgresql+psycopg://...") or a
            file path; None means $ASSAY_DB, else .assay/assay.db in the current directory.
        busy_timeout: Seconds to wait for another process's write lock (SQLite).
        read_only: Only read: an SQLite file must exist (a mistyped path is an error,
            never a new empty store) and is opened read-only, so a store in a read-only
            folder can be read.
        create: Create the store if there is none (False: commands that work on stored
            runs, which must not leave an empty store behind a mistyped path).

    Raises:
        NotFoundError: read_only or not create, and there is no store at that path.
        StoreError: The store cannot be opened or created.
    """
    resolved = resolve_url(url)
    if not (create and not read_only):
        require_existing(resolved)
    return Store(resolved, busy_timeout=busy_timeout, read_only=read_only)


@contextmanager
def using_store(store: Store | str | None, *, create: bool = True) -> Iterator[Store]:
    """The store a library call works in: a Store it was given, left open for its owner;
    else the one at that URL (None: the default), opened here and closed after."""
    if isinstance(store, Store):
        yield store
        return
    with open_store(store, create=create) as opened:
        yield opened


class Store:
    """Reads and writes runs and the generation cache. Use as a context manager, or close()."""

    def __init__(self, url: str, *, busy_timeout: float = 5.0, read_only: bool = False) -> None:
        self.url = url
        self.busy_timeout = busy_timeout
        self.read_only = read_only
        self._engine = make_engine(url, busy_timeout=busy_timeout, read_only=read_only)
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

    # -- runs: the lifecycle (see assay.runs.recorder) ------------------------

    def try_create_run(self, info: RunInfo) -> bool:
        """Record a new run, and its summary if any; False when the run is "running" and
        another running run holds its key already (one process per run key).

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
            with self._read() as conn:
                taken = conn.scalar(select(t.runs.c.id).where(t.runs.c.id == info.id))
            if taken is not None:
                raise StoreError(
                    f"a run with id '{info.id}' already exists in {self._where}"
                ) from exc
            return False
        return True

    def create_run(self, info: RunInfo) -> None:
        """Record a new run (for runs made elsewhere, and tests); see try_create_run.

        Raises:
            StoreError: The id exists, or another running run holds the run key.
        """
        if not self.try_create_run(info):
            raise StoreError(f"another run with key {info.run_key[:12]} is running")

    def runs_with_key(self, run_key: str) -> list[RunInfo]:
        """Every run with this key, newest first."""
        query = (
            select(t.runs)
            .where(t.runs.c.run_key == run_key)
            .order_by(t.runs.c.created_at.desc(), t.runs.c.id.desc())
        )
        with self._read() as conn:
            return _with_summaries(conn, list(conn.execute(query)))

    def take_over(self, info: RunInfo, owner: str) -> bool:
        """Mark a run "running" under a new owner, if nobody changed it since `info` was read.

        `info` is the run as read (its stored status, owner and heartbeat are the
        compare part of a compare-and-set). False when another process got there first.
        """
        c = t.runs.c
        # A running run whose owner is gone reads as interrupted but is stored as running.
        orphan = info.status == "interrupted" and info.owner is not None
        stored_status = "running" if orphan else info.status
        now = _now()
        try:
            with self._write() as conn:
                done = conn.execute(
                    update(t.runs)
                    .where(
                        c.id == info.id,
                        c.status == stored_status,
                        _same(c.owner, info.owner),
                        _same(c.heartbeat_at, info.heartbeat_at),
                    )
                    .values(status="running", owner=owner, heartbeat_at=now, message=None)
                )
        except IntegrityError:  # another run with the same key is running
            return False
        return done.rowcount == 1

    def heartbeat(self, run_id: str, owner: str) -> bool:
        """Refresh the heartbeat of a run this owner holds; False if it holds it no more."""
        c = t.runs.c
        with self._write() as conn:
            done = conn.execute(
                update(t.runs)
                .where(c.id == run_id, c.owner == owner, c.status == "running")
                .values(heartbeat_at=_now())
            )
        return done.rowcount == 1

    def end_run(
        self,
        run_id: str,
        status: RunStatus,
        *,
        message: str | None = None,
        seconds: float | None = None,
        stats: RunStats | None = None,
    ) -> None:
        """Leave a run in a final status (complete, incomplete, failed, interrupted), with
        why, its wall time and stats; the owner lets go of it."""
        values: dict[str, Any] = {"status": status, "message": message, "owner": None}
        values["finished_at"] = _now()
        if seconds is not None:
            values["seconds"] = seconds
        if stats is not None:
            values["stats"] = stats.to_dict()
        with self._write() as conn:
            done = conn.execute(update(t.runs).where(t.runs.c.id == run_id).values(**values))
            if done.rowcount == 0:
                raise self._no_run(run_id)

    def stored_examples(self, run_id: str) -> dict[str, bool]:
        """Example id -> whether it failed, for every example of the run stored already."""
        c = t.results.c
        query = select(c.example_id, c.finish_reason).where(c.run_id == run_id)
        with self._read() as conn:
            return {row.example_id: row.finish_reason == "error" for row in conn.execute(query)}

    def add_results(
        self,
        run_id: str,
        results: Sequence[ExampleResult],
        *,
        generations: Mapping[str, Generation] | None = None,
        loglikelihoods: Mapping[str, tuple[float, bool]] | None = None,
    ) -> None:
        """Store a batch of results and their scores, and cache entries, in one transaction.

        Idempotent: an example already stored with a usable output is kept, never
        duplicated; one stored as failed is replaced (with its scores) by a new
        attempt. Failed generations are never cached.
        """
        with self._write() as conn:
            if results:
                self._require_run(conn, run_id)
                _replace_results(conn, run_id, results)
            if generations:
                _insert_ignore(conn, t.generation_cache, _generation_rows(generations))
            if loglikelihoods:
                _insert_ignore(conn, t.loglikelihood_cache, _loglikelihood_rows(loglikelihoods))

    def save_scores(self, run_id: str, scores: Mapping[str, Mapping[str, Score]]) -> None:
        """Store metrics' scores (metric -> example id -> score) in one transaction,
        replacing earlier ones for those examples, so a run can be scored again."""
        with self._write() as conn:
            self._require_run(conn, run_id)
            for metric, by_example in scores.items():
                ids = list(by_example)
                for chunk in _chunks(ids):
                    conn.execute(
                        delete(t.scores).where(
                            t.scores.c.run_id == run_id,
                            t.scores.c.metric == metric,
                            t.scores.c.example_id.in_(chunk),
                        )
                    )
                rows = [score_row(run_id, key, metric, by_example[key]) for key in ids]
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

    def set_metrics(self, run_id: str, metrics: Sequence[str]) -> None:
        """The run's metric names, in the order views show them."""
        with self._write() as conn:
            conn.execute(update(t.runs).where(t.runs.c.id == run_id).values(metrics=list(metrics)))

    # -- runs: reading, naming, removing --------------------------------------

    def list_runs(self, where: RunFilter | None = None) -> list[RunInfo]:
        """Every run that passes the filter, newest first, with its summary (results are
        not loaded)."""
        where = where or RunFilter()
        c = t.runs.c
        query = select(t.runs).order_by(c.created_at.desc(), c.id.desc())
        if where.kind is not None:
            query = query.where(c.kind == where.kind)
        if where.model is not None:
            query = query.where(c.model_spec.contains(where.model, autoescape=True))
        if where.name is not None:
            query = query.where(c.name.contains(where.name, autoescape=True))
        with self._read() as conn:
            infos = _with_summaries(conn, list(conn.execute(query)))
        if where.status is not None:
            infos = [i for i in infos if i.status == where.status]
        if where.tag is not None:
            infos = [i for i in infos if where.tag in i.tags]
        return infos

    def get_run_info(self, run: str, *, kind: str | None = None) -> RunInfo:
        """A run's description and summary, by id, unique id prefix (4+ characters) or name
        (with ``kind``, a name only means runs of that kind: "eval" or "bench").

        Raises:
            NotFoundError: No run matches.
            StoreError: More than one run matches.
        """
        with self._read() as conn:
            row = conn.execute(
                select(t.runs).where(t.runs.c.id == self._resolve_id(conn, run, kind))
            ).one()
            return _with_summaries(conn, [row])[0]

    def load_run(self, run: str, *, kind: str | None = None) -> Run:
        """A whole run, by id, unique id prefix or name (with ``kind``, a name only means
        runs of that kind): its info and results (ordered by position) with their scores."""
        with self._read() as conn:
            full_id = self._resolve_id(conn, run, kind)
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

    def update_run(
        self, run: str, *, name: str | None = None, tags: Sequence[str] | None = None
    ) -> RunInfo:
        """Rename a run, or set its tags; returns the run as stored after."""
        values: dict[str, Any] = {}
        if name is not None:
            if not name.strip():
                raise OptionError("name", "must not be empty")
            values["name"] = name
        if tags is not None:
            values["tags"] = sorted(set(tags))
        with self._write() as conn:
            full_id = self._resolve_id(conn, run)
            if values:
                conn.execute(update(t.runs).where(t.runs.c.id == full_id).values(**values))
        return self.get_run_info(full_id)

    def delete_run(self, run: str) -> dict[str, int]:
        """Delete a run (by id, unique prefix or name) and every row that belongs to it.

        Returns:
            Table -> rows removed. Battles are kept: they name models, not runs, and
            ratings are computed from them.
        """
        removed: dict[str, int] = {}
        with self._write() as conn:
            full_id = self._resolve_id(conn, run)
            for table in t.run_owned_tables():
                done = conn.execute(delete(table).where(table.c.run_id == full_id))
                removed[table.name] = done.rowcount
            conn.execute(delete(t.runs).where(t.runs.c.id == full_id))
        return removed

    # -- caches ----------------------------------------------------------------

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
        rows = _generation_rows(items)
        if rows:
            with self._write() as conn:
                _insert_ignore(conn, t.generation_cache, rows)

    def loglikelihood_cache_get(self, keys: Sequence[str]) -> dict[str, tuple[float, bool]]:
        """The cached (log-probability, is greedy) for those keys that have one."""
        c = t.loglikelihood_cache.c
        found: dict[str, tuple[float, bool]] = {}
        with self._read() as conn:
            for chunk in _chunks(list(dict.fromkeys(keys))):
                query = select(c.key, c.logprob, c.is_greedy).where(c.key.in_(chunk))
                for row in conn.execute(query):
                    found[row.key] = (float(row.logprob), bool(row.is_greedy))
        return found

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
            current = schema_is_current(conn)
        if current:
            return
        if self.read_only:
            # A store made by an older assay: bring it up to date through a writable
            # engine (it exists, so nothing is created), then go on reading.
            writable = make_engine(self.url, busy_timeout=self.busy_timeout)
            try:
                with (
                    translate_errors(self.url, self.busy_timeout),
                    write_transaction(writable) as conn,
                ):
                    _bring_up_to_date(conn)
            except StoreError as exc:
                raise StoreError(
                    f"{self._where} was made by an older assay and cannot be brought up to "
                    f"date here ({exc}); open it once where it can be written"
                ) from exc
            finally:
                writable.dispose()
            return
        with self._write() as conn:
            _bring_up_to_date(conn)

    def _require_run(self, conn: Connection, run_id: str) -> None:
        if conn.scalar(select(t.runs.c.id).where(t.runs.c.id == run_id)) is None:
            raise self._no_run(run_id)

    def _resolve_id(self, conn: Connection, run: str, kind: str | None = None) -> str:
        """The full id of a run given by id, unique id prefix (MIN_PREFIX+ characters) or name;
        with ``kind``, a name means only the runs of that kind (an eval and a bench run
        often share a name: "base", "ft-v1").

        Raises:
            NotFoundError: No run matches.
            StoreError: Several runs match (the message lists them).
        """
        c = t.runs.c
        if conn.scalar(select(c.id).where(c.id == run)) is not None:
            return run
        by_name = select(c.id, c.kind, c.dataset_name, c.created_at).where(c.name == run)
        named = list(conn.execute(by_name if kind is None else by_name.where(c.kind == kind)))
        if len(named) == 1:
            return str(named[0].id)
        if len(named) > 1:
            listed = ", ".join(
                f"{m.id} ({m.kind} on {m.dataset_name}, {m.created_at:%Y-%m-%d %H:%M})"
                for m in named
            )
            raise StoreError(
                f"{len(named)} runs are named '{run}' in {self._where}: {listed}; give an id"
            )
        if len(run) < MIN_PREFIX:
            raise self._no_run(run, f" (give at least {MIN_PREFIX} characters of an id)")
        query = select(c.id, c.name).where(c.id.startswith(run, autoescape=True)).order_by(c.id)
        matches = list(conn.execute(query))
        if not matches:
            raise self._no_run(run)
        if len(matches) > 1:
            listed = ", ".join(f"{m.id} ({m.name})" for m in matches)
            raise StoreError(
                f"run id '{run}' is ambiguous in {self._where}: it starts {listed}; "
                f"give more characters"
            )
        return str(matches[0].id)

    def _no_run(self, run: str, extra: str = "") -> NotFoundError:
        return NotFoundError(
            f"no run '{run}' (id or name) in {self._where}{extra}; `assay runs` lists them"
        )


# -- queries shared by several methods -------------------------------------


def _bring_up_to_date(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        # Serialise schema changes between processes opening a database at once
        # (SQLite's BEGIN IMMEDIATE does this already); the second one then sees what
        # the first committed, and skips it.
        conn.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK)))
    bring_up_to_date(conn)


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
                unscored=s.unscored or 0,
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
            "unscored": s.unscored,
        }
        for name, s in summary.items()
    ]
    conn.execute(insert(t.run_metrics), rows)


def _replace_results(conn: Connection, run_id: str, results: Sequence[ExampleResult]) -> None:
    """Insert results and their scores; a stored failed attempt is replaced, a stored
    usable one kept. Repeats within the batch keep their first."""
    c = t.results.c
    fresh: dict[str, ExampleResult] = {}
    for result in results:
        fresh.setdefault(result.example_id, result)
    stored: dict[str, bool] = {}
    for chunk in _chunks(list(fresh)):
        query = select(c.example_id, c.finish_reason).where(
            c.run_id == run_id, c.example_id.in_(chunk)
        )
        stored.update({row.example_id: row.finish_reason == "error" for row in conn.execute(query)})
    retried = [key for key, failed in stored.items() if failed]
    for chunk in _chunks(retried):
        for table in (t.scores, t.results):
            conn.execute(
                delete(table).where(table.c.run_id == run_id, table.c.example_id.in_(chunk))
            )
    new = [r for key, r in fresh.items() if key not in stored or stored[key]]
    if not new:
        return
    # Insert-or-ignore: a concurrent writer of the same batch (PostgreSQL does not
    # serialise writers as SQLite does) may have stored these rows in the meantime.
    _insert_ignore(conn, t.results, [result_row(run_id, r) for r in new])
    score_rows = [
        score_row(run_id, r.example_id, metric, score)
        for r in new
        for metric, score in r.scores.items()
    ]
    _insert_ignore(conn, t.scores, score_rows)


def _generation_rows(items: Mapping[str, Generation]) -> list[dict[str, Any]]:
    now = _now()
    return [
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


def _loglikelihood_rows(items: Mapping[str, tuple[float, bool]]) -> list[dict[str, Any]]:
    now = _now()
    return [
        {"key": key, "logprob": logprob, "is_greedy": greedy, "created_at": now}
        for key, (logprob, greedy) in items.items()
    ]


def _same(column: Column[Any], value: Any) -> Any:
    """column = value, where None means NULL."""
    return column.is_(None) if value is None else column == value


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

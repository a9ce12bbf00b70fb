"""Where the store lives and how to connect to it: URL resolution, the SQLAlchemy
engine with its SQLite settings, and the translation of database failures into
:class:`~assay.exceptions.StoreError` messages a user can act on.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

from assay.exceptions import NotFoundError, OptionError, StoreError

DEFAULT_PATH = Path(".assay") / "assay.db"
DEFAULT_URL = f"sqlite:///{DEFAULT_PATH.as_posix()}"
"""The default store: an SQLite file under .assay/ in the current directory."""

ENV_VAR = "ASSAY_DB"
"""Environment variable naming the store (a URL or a file path) when none is given."""

WRITE = "assay_write"
"""Execution option that marks a connection's transaction as a write (SQLite: BEGIN IMMEDIATE)."""

_HINT = "pass another with --db or the ASSAY_DB environment variable"
_LOOKS_LIKE_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):(?!//)")
"""A scheme (two letters or more, so a Windows drive "C:" is a path) without its "//"."""


def resolve_url(url: str | None) -> str:
    """The database URL to use: the one given, else $ASSAY_DB, else the default file.

    A plain file path (anything without "://") becomes an absolute sqlite URL, so the
    store stays the same file if the working directory changes later.
    """
    url = url or os.environ.get(ENV_VAR) or str(DEFAULT_PATH)
    if "://" in url:
        return url
    scheme = _LOOKS_LIKE_URL.match(url)
    if scheme:
        raise OptionError(
            "db",
            f"{url!r} looks like a URL, but '{scheme.group(1)}:' is not followed by '//'; write "
            f"{scheme.group(1)}:///relative.db or {scheme.group(1)}:////absolute/path.db, "
            "or give the file path",
        )
    if url == ":memory:":
        return "sqlite://"
    path = Path(url).expanduser().resolve()
    return f"sqlite:///{path.as_posix()}"


def display_url(url: str) -> str:
    """The URL as shown in messages: the file for SQLite, no password otherwise."""
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def sqlite_path(url: str) -> Path | None:
    """The database file of an SQLite URL (plain or ``file:`` URI), else None."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    database = parsed.database
    if database == ":memory:":
        return None
    if database.startswith("file:"):
        database = database.removeprefix("file:").split("?", 1)[0]
        if not database or database == ":memory:":
            return None
    return Path(database)


def make_engine(url: str, *, busy_timeout: float, read_only: bool = False) -> Engine:
    """An engine for the URL, with SQLite tuned for one writer and many readers.

    With ``read_only``, an SQLite file is opened read-only (never created), so that a
    store in a read-only folder can still be read.

    Raises:
        NotFoundError: read_only, and no SQLite file is there.
        StoreError: The URL is malformed or names a driver that is not installed.
    """
    if read_only:
        url = _read_only_url(url)
    try:
        parsed = _with_default_driver(make_url(url))
    except ArgumentError as exc:
        raise StoreError(f"'{url}' is not a database URL or file path: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(
            f"the store {display_url(url)} uses {backend}; assay keeps runs in SQLite "
            f"(a file path or sqlite:///...) or PostgreSQL (postgresql+psycopg://...)"
        )
    if backend == "sqlite" and not read_only:
        _create_parent(url)
    try:
        engine = create_engine(parsed, json_serializer=_dumps)
    except (ImportError, NoSuchModuleError) as exc:
        if backend == "postgresql":
            raise StoreError(
                f"the store {display_url(url)} is PostgreSQL, which needs psycopg: "
                f'pip install "psycopg[binary]"'
            ) from exc
        raise StoreError(f"cannot open the store {display_url(url)}: {exc}") from exc
    if backend == "sqlite":
        _tune_sqlite(engine, busy_timeout)
    return engine


@contextmanager
def translate_errors(url: str, busy_timeout: float) -> Iterator[None]:
    """Turn database failures a user can fix (locked, read-only, unreachable) into StoreError.

    The transaction in flight has already been rolled back when this runs; nothing
    that was committed before is touched.
    """
    try:
        yield
    except OperationalError as exc:
        raise _store_error(exc, url, busy_timeout) from exc
    except DatabaseError as exc:  # SQLite's "file is not a database"; integrity errors pass
        if "not a database" not in str(exc.orig):
            raise
        raise _store_error(exc, url, busy_timeout) from exc


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside one write transaction: committed on success, rolled back on error."""
    with engine.connect() as conn:
        conn.execution_options(**{WRITE: True})
        with conn.begin():
            yield conn


def _store_error(exc: DatabaseError, url: str, busy_timeout: float) -> StoreError:
    where = display_url(url)
    message = str(exc.orig) if exc.orig is not None else str(exc)
    lowered = message.lower()
    if "locked" in lowered:
        return StoreError(
            f"the store {where} is locked by another process (waited {busy_timeout:g} s); "
            f"wait for it to finish, or {_HINT}"
        )
    if "readonly" in lowered or "read-only" in lowered:
        return StoreError(
            f"the store {where} is read-only and cannot be written; "
            f"make the file and its folder writable, or {_HINT}"
        )
    if "not a database" in lowered:
        return StoreError(f"{where} is not an SQLite database, so not an assay store; {_HINT}")
    if "unable to open" in lowered:
        return StoreError(
            f"the store {where} cannot be opened (missing, or a folder that is read-only); "
            f"check its folder, or {_HINT}"
        )
    return StoreError(f"the store {where} failed: {message}")


def require_existing(url: str) -> None:
    """Raise unless an SQLite URL's file exists (other databases are asked when opened).

    Raises:
        NotFoundError: There is no file at that path.
    """
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        raise NotFoundError(
            f"no store at {path}: nothing has been stored there yet; {_HINT} to name another"
        )


def _read_only_url(url: str) -> str:
    """An SQLite URL that opens the file read-only (immutable in a read-only folder, where
    SQLite could not create its shared-memory file; no writer can be there)."""
    path = sqlite_path(url)
    if path is None:
        return url
    require_existing(url)
    immutable = "&immutable=1" if not os.access(path.parent, os.W_OK) else ""
    return f"sqlite:///file:{path.as_posix()}?mode=ro{immutable}&uri=true"


def _with_default_driver(url: URL) -> URL:
    """postgresql:// without a driver means psycopg 3 (SQLAlchemy would pick psycopg2)."""
    if url.drivername in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    return url


def _create_parent(url: str) -> None:
    path = sqlite_path(url)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the folder {path.parent} for the store {path}: "
            f"{exc.strerror or exc}; {_HINT}"
        ) from exc


def _tune_sqlite(engine: Engine, busy_timeout: float) -> None:
    """WAL (readers never block the writer), a busy timeout, foreign keys, and our own
    BEGIN so that writes take the write lock up front (BEGIN IMMEDIATE) and wait for it,
    instead of failing when a read upgrades to a write under a concurrent writer."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            # A read-only file keeps its journal mode, and can still be read.
            with suppress(sqlite3.OperationalError):
                cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get(WRITE) else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def _dumps(value: Any) -> str:
    """JSON text for a JSON column: NaN and infinities become null, on every backend
    (they are not JSON, and PostgreSQL's json type rejects them)."""
    return json.dumps(_finite(value), default=_json_default, ensure_ascii=False)


def _finite(value: Any) -> Any:
    """The value with every NaN or infinite float inside it (dicts, lists, tuples) as None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def _json_default(value: Any) -> Any:
    """JSON for the values data sets and stats commonly hold: numpy scalars, dates, paths."""
    if hasattr(value, "item") and callable(value.item):
        return _finite(value.item())
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return _finite(sorted(value, key=str))
    raise TypeError(f"{type(value).__name__} is not JSON serializable")

"""Where the store lives, and the messages a user gets when it cannot be used."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assay.exceptions import StoreError
from assay.runs.records import RunInfo
from assay.store import DEFAULT_URL, Store, open_store, resolve_url

MakeInfo = Callable[..., RunInfo]


def test_resolve_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ASSAY_DB", raising=False)
    default = f"sqlite:///{(tmp_path / '.assay' / 'assay.db').as_posix()}"
    assert resolve_url(None) == default
    assert DEFAULT_URL == "sqlite:///.assay/assay.db"
    assert resolve_url("runs.db") == f"sqlite:///{(tmp_path / 'runs.db').as_posix()}"
    assert resolve_url("sqlite:///x.db") == "sqlite:///x.db"
    assert resolve_url("postgresql+psycopg://u:p@h/db") == "postgresql+psycopg://u:p@h/db"

    monkeypatch.setenv("ASSAY_DB", "env/other.db")
    assert resolve_url(None) == f"sqlite:///{(tmp_path / 'env' / 'other.db').as_posix()}"
    assert resolve_url("given.db").endswith("/given.db")  # an explicit URL wins


def test_default_store_is_created_under_dot_assay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_info: MakeInfo
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ASSAY_DB", raising=False)
    with open_store() as store:
        store.create_run(make_info())
    assert (tmp_path / ".assay" / "assay.db").is_file()


def test_env_var_names_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_info: MakeInfo
) -> None:
    monkeypatch.setenv("ASSAY_DB", str(tmp_path / "deep" / "er" / "runs.db"))
    with open_store() as store:
        store.create_run(make_info())
    with open_store(f"sqlite:///{tmp_path / 'deep' / 'er' / 'runs.db'}") as store:
        assert [r.id for r in store.list_runs()] == ["a1b2c3d4e5f6"]


def test_sqlite_uses_wal(sqlite_store: Store, db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.fixture
def locked(db_path: Path, sqlite_store: Store) -> Iterator[None]:
    """Another process holds the store's write lock."""
    other = sqlite3.connect(db_path, timeout=0.1, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    yield
    other.execute("ROLLBACK")
    other.close()


@pytest.mark.usefixtures("locked")
def test_locked_store(db_path: Path, make_info: MakeInfo) -> None:
    with open_store(str(db_path), busy_timeout=0.2) as store:
        assert store.list_runs() == []  # readers are not blocked (WAL)
        with pytest.raises(StoreError) as caught:
            store.create_run(make_info())
    message = str(caught.value)
    assert "locked by another process" in message and str(db_path) in message


def test_nothing_is_lost_when_a_write_fails(db_path: Path, make_info: MakeInfo) -> None:
    with open_store(str(db_path), busy_timeout=0.2) as store:
        store.create_run(make_info("aaaa00000001"))
        other = sqlite3.connect(db_path, timeout=0.1, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreError, match="locked"):
            store.create_run(make_info("bbbb00000002"))
        other.execute("ROLLBACK")
        other.close()
        store.create_run(make_info("bbbb00000002"))
        assert {r.id for r in store.list_runs()} == {"aaaa00000001", "bbbb00000002"}


def test_read_only_store(db_path: Path, make_info: MakeInfo) -> None:
    with open_store(str(db_path)) as store:
        store.create_run(make_info("aaaa00000001"))
    # chmod does not stop root, so open the file read-only through an SQLite URI.
    url = f"sqlite:///file:{db_path}?mode=ro&uri=true"
    with open_store(url) as store:
        assert [r.id for r in store.list_runs()] == ["aaaa00000001"]  # reading still works
        with pytest.raises(StoreError) as caught:
            store.create_run(make_info("bbbb00000002"))
    message = str(caught.value)
    assert "read-only" in message and str(db_path) in message and "ASSAY_DB" in message
    assert "Traceback" not in message and "sqlite3" not in message


def test_read_only_folder(tmp_path: Path, make_info: MakeInfo) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    db_path = folder / "assay.db"
    with open_store(str(db_path)) as store:
        store.create_run(make_info())
    db_path.chmod(0o444)
    folder.chmod(0o555)
    try:
        if _can_write(folder):
            pytest.skip("running as root: permissions do not stop writes")
        with (
            pytest.raises(StoreError, match=r"read-only|cannot be opened") as caught,
            open_store(str(db_path)) as store,
        ):
            store.create_run(make_info("bbbb00000002"))
        assert str(db_path) in str(caught.value)
    finally:
        folder.chmod(0o755)
        db_path.chmod(0o644)


def test_store_that_cannot_be_opened(tmp_path: Path) -> None:
    url = f"sqlite:///file:{tmp_path / 'missing.db'}?mode=ro&uri=true"
    with pytest.raises(StoreError, match="cannot be opened") as caught:
        open_store(url)
    assert "missing.db" in str(caught.value)


def test_postgres_without_psycopg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(StoreError, match=r'pip install "psycopg\[binary\]"') as caught:
        open_store("postgresql://me:secret@db.example/assay")
    assert "secret" not in str(caught.value)


def test_unsupported_database() -> None:
    with pytest.raises(StoreError, match=r"SQLite .* or PostgreSQL"):
        open_store("mysql://me@db.example/assay")


def _can_write(folder: Path) -> bool:
    probe = folder / ".probe"
    try:
        probe.touch()
    except OSError:
        return False
    probe.unlink()
    return True

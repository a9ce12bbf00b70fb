"""Two small runs over the same questions in an SQLite store (one answer an XSS payload),
a run with failed examples and a bench run (review_data.py); and a real uvicorn server on loopback for the server and browser tests (on SQLite, or
on PostgreSQL for a test that parametrises `store_url` indirectly with "postgresql")."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from tests.postgres import fresh_database
from tests.web.review_data import (
    RUN_A,
    RUN_B,
    write_bench_run,
    write_failed_run,
    write_run,
)

from assay.store import Store, open_store
from assay.web import create_app


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "assay.db"
    with open_store(str(path)) as store:
        write_all(store)
    return path


def write_all(store: Store) -> None:
    """Every test run of review_data.py."""
    write_run(store, RUN_A, "base", 6, good=False)
    write_run(store, RUN_B, "tuned", 6, good=True)
    write_failed_run(store)
    write_bench_run(store)


@pytest.fixture
def store(db: Path) -> Iterator[Store]:
    with open_store(str(db)) as opened:
        yield opened


@dataclass
class Server:
    url: str
    token: str | None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def store_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The store with the two runs: the SQLite `db`, or (param "postgresql") a fresh
    PostgreSQL database, dropped after the test."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        yield str(request.getfixturevalue("db"))
        return
    assert backend == "postgresql", backend
    with fresh_database() as url:
        with open_store(url) as store:
            write_all(store)
        yield url


@pytest.fixture
def serve(store_url: str) -> Iterator[object]:
    """serve(token=None) starts the app on a free loopback port; stopped after the test."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(token: str | None = None) -> Server:
        port = _free_port()
        app = create_app(store_url, token=token)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the review server did not start")
            time.sleep(0.05)
        servers.append((server, thread))
        return Server(f"http://127.0.0.1:{port}", token)

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where browser tests put their screenshots: $ASSAY_SCREENSHOTS when set (to keep and
    look at them), else a temporary folder."""
    keep = os.environ.get("ASSAY_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        return Path(keep)
    return tmp_path_factory.mktemp("screenshots")

"""The run lifecycle with real processes: two identical evals started together make one
run on SQLite and on PostgreSQL; an eval whose server fails every request is incomplete,
unscored and exits 5; a killed run is not shown as running; a bench killed at several
points resumes to the results of an uninterrupted bench."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import nullcontext
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tests.postgres import fresh_database

from assay.store import open_store

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
EXAMPLES = REPO / "examples" / "qa" / "test.jsonl"


def assay(*args: str | Path, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "COLUMNS": "100"}
    env.pop("ASSAY_DB", None)
    return subprocess.Popen(
        [sys.executable, "-m", "assay", *map(str, args)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 600) -> tuple[int, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out + err


def first_rows(tmp_path: Path, n: int) -> Path:
    lines = EXAMPLES.read_text(encoding="utf-8").splitlines()[:n]
    data = tmp_path / "qa.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return data


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_same_eval_started_twice_at_once_is_one_run(tmp_path: Path, backend: str) -> None:
    data = first_rows(tmp_path, 8)
    store = fresh_database() if backend == "postgresql" else nullcontext(str(tmp_path / "a.db"))
    with store as db:
        args = ("eval", "--model", "smollm2-135m-instruct", "--data", data,
                "--max-new-tokens", "24", "--batch-size", "2", "--no-progress", "--db", db)  # fmt: skip
        first, second = assay(*args, cwd=tmp_path), assay(*args, cwd=tmp_path)
        (code_a, out_a), (code_b, out_b) = finish(first), finish(second)
        assert (code_a, code_b) == (0, 0), out_a + out_b
        with open_store(db) as store:
            runs = store.list_runs()
            assert len(runs) == 1, [(r.id, r.status) for r in runs]
            run = store.load_run(runs[0].id)
        assert run.info.status == "complete"
        assert sorted(r.example_id for r in run.results) == sorted(
            {r.example_id for r in run.results}
        )
        assert len(run.results) == 8
        assert run.id in out_a and run.id in out_b  # both report the one run
        assert "waiting for run" in out_a + out_b  # one waited for the other, no double work
        assert run.info.stats.generated + run.info.stats.cached == 8


class FailingHandler(BaseHTTPRequestHandler):
    """Every request fails: 503, as a server in an outage answers."""

    def do_POST(self) -> None:
        body = b'{"error": {"message": "overloaded"}}'
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def failing_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FailingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


@pytest.mark.parametrize("where", ["failing", "refusing"])
def test_an_outage_is_an_incomplete_run_not_a_bad_model(
    tmp_path: Path, failing_url: str, where: str
) -> None:
    url = failing_url if where == "failing" else "http://127.0.0.1:9/v1"  # nothing listens on 9
    db = tmp_path / "a.db"
    args = ("eval", "--model", f"openai:foo@{url}", "--data", EXAMPLES, "--limit", "3",
            "--db", db, "--no-progress")  # fmt: skip
    code, out = finish(assay(*args, cwd=tmp_path))
    assert code == 5, out  # the documented exit status of an incomplete run
    assert "Traceback" not in out
    assert "incomplete" in out and "3 of 3 failed" in out and "not scored" in out
    assert "--retry-errors" in out
    with open_store(str(db)) as store:
        (info,) = store.list_runs()
        run = store.load_run(info.id)
    assert info.status == "incomplete" and info.stats.failed == 3
    assert all(r.failed and r.scores == {} for r in run.results)  # no metric values at all
    assert info.summary["exact_match"].n == 0  # nothing averaged over failures

    listed = finish(assay("runs", "--status", "incomplete", "--db", db, cwd=tmp_path))[1]
    assert info.id in listed
    compared = finish(assay("compare", info.id, info.id, "--db", db, cwd=tmp_path))
    assert compared[0] == 1 and "--allow-incomplete is needed" in compared[1]


def test_a_killed_run_is_interrupted_not_running_and_resumes(tmp_path: Path) -> None:
    data = first_rows(tmp_path, 12)
    db = tmp_path / "a.db"
    args = ("eval", "--model", "smollm2-135m-instruct", "--data", data, "--max-new-tokens", "32",
            "--batch-size", "2", "--no-progress", "--db", db)  # fmt: skip
    process = assay(*args, cwd=tmp_path)
    wait_for_results(db, "results", 2, process)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    running = finish(assay("runs", "--status", "running", "--db", db, cwd=tmp_path))[1]
    interrupted = finish(assay("runs", "--status", "interrupted", "--db", db, cwd=tmp_path))[1]
    assert "no runs" in running
    with open_store(str(db)) as store:
        (info,) = store.list_runs()
    assert info.status == "interrupted" and info.id in interrupted

    code, out = finish(assay(*args, cwd=tmp_path))
    assert code == 0, out
    with open_store(str(db)) as store:
        (done,) = store.list_runs()
        assert (done.id, done.status) == (info.id, "complete")
        assert done.stats.resumed >= 2
        assert len(store.load_run(done.id).results) == 12


def test_a_bench_killed_at_several_points_resumes_to_the_same_results(tmp_path: Path) -> None:
    if not (SHARED_DATA / "arc").is_dir():
        pytest.fail(f"the offline benchmark data is not at {SHARED_DATA}")
    args = ("bench", "--model", "smollm2-135m-instruct", "--tasks", "arc_challenge,mmlu_anatomy",
            "--num-fewshot", "5", "--limit", "10", "--data-dir", SHARED_DATA, "--batch-size", "4",
            "--no-progress")  # fmt: skip
    killed = tmp_path / "killed.db"
    for at_least in (3, 9):
        process = assay(*args, "--db", killed, cwd=tmp_path)
        wait_for_results(killed, "results", at_least, process)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    code, out = finish(assay(*args, "--db", killed, cwd=tmp_path))
    assert code == 0, out
    clean = tmp_path / "clean.db"
    code, out = finish(assay(*args, "--db", clean, cwd=tmp_path))
    assert code == 0, out

    with open_store(str(killed)) as store:
        (resumed_info,) = store.list_runs()
        resumed = store.load_run(resumed_info.id)
    with open_store(str(clean)) as store:
        (clean_info,) = store.list_runs()
        uninterrupted = store.load_run(clean_info.id)
    assert resumed_info.status == "complete" and resumed_info.stats.resumed >= 9
    assert len(resumed.results) == len(uninterrupted.results) == 20
    for a, b in zip(resumed.results, uninterrupted.results, strict=True):
        assert (a.example_id, a.prediction) == (b.example_id, b.prediction)
        assert {k: s.value for k, s in a.scores.items()} == {
            k: s.value for k, s in b.scores.items()
        }
        for x, y in zip(a.metadata["logliks"], b.metadata["logliks"], strict=True):
            assert abs(x - y) < 1e-4
    assert resumed_info.summary == clean_info.summary


def wait_for_results(db: Path, table: str, at_least: int, process: subprocess.Popen[str]) -> int:
    """Poll the store as another process would, until `at_least` rows are committed."""
    deadline = time.monotonic() + 600
    while True:
        count = _count(db, table)
        if count >= at_least:
            return count
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the process ended before {at_least} rows: {out}{err}")
        assert time.monotonic() < deadline, f"fewer than {at_least} rows after 600 s"
        time.sleep(0.05)


def _count(db: Path, table: str) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not there yet, or a writer holds it
        return 0

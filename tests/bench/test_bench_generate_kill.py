"""A generative bench killed (SIGKILL) in the middle resumes to the results of an
uninterrupted one: answers are committed a batch at a time with their cache entries."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assay.store import open_store

pytestmark = pytest.mark.slow

CASES = Path(__file__).parent / "cases" / "taskfiles"


def bench(task: Path, db: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "COLUMNS": "100"}
    env.pop("ASSAY_DB", None)
    command = [sys.executable, "-m", "assay", "bench", "--model", "smollm2-135m-instruct",
               "--tasks", str(task), "--limit", "8", "--batch-size", "2", "--no-progress",
               "--db", str(db)]  # fmt: skip
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def results(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM results").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_a_killed_generative_bench_resumes_to_the_same_results(tmp_path: Path) -> None:
    for path in CASES.iterdir():
        shutil.copy(path, tmp_path / path.name)
    task = tmp_path / "arc_generative.toml"
    killed = tmp_path / "killed.db"
    process = bench(task, killed)
    deadline = time.monotonic() + 600
    while results(killed) < 2:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done_before = results(killed)
    assert 2 <= done_before < 8
    resumed = bench(task, killed)
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out + err
    clean = tmp_path / "clean.db"
    process = bench(task, clean)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, out + err
    with open_store(str(killed)) as store:
        (info,) = store.list_runs()
        after = store.load_run(info.id)
    with open_store(str(clean)) as store:
        (clean_info,) = store.list_runs()
        uninterrupted = store.load_run(clean_info.id)
    assert info.status == "complete" and info.stats.resumed >= done_before
    assert info.stats.generated == 8 - info.stats.resumed
    assert [(r.example_id, r.prediction, {k: s.value for k, s in r.scores.items()})
            for r in after.results] == [
        (r.example_id, r.prediction, {k: s.value for k, s in r.scores.items()})
        for r in uninterrupted.results
    ]  # fmt: skip
    assert info.summary == clean_info.summary

"""A real `assay eval` killed with SIGKILL mid-run, then run again: it resumes, loses
nothing it had committed, duplicates nothing, and ends with the outputs of a run
that was never interrupted. Then the generation cache answers a third run.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assay.runs.records import RunInfo
from assay.store import open_store

pytestmark = pytest.mark.slow

REPO = Path(__file__).parent.parent.parent
N = 24


def eval_command(data: Path, db: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "assay",
        "eval",
        "--model",
        "smollm2-135m-instruct",
        "--data",
        str(data),
        "--max-new-tokens",
        "48",
        "--batch-size",
        "4",
        "--db",
        str(db),
        "--no-progress",
    ]


def run_to_completion(data: Path, db: Path, cwd: Path) -> None:
    result = subprocess.run(
        eval_command(data, db), cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def committed(db: Path) -> int:
    """Results committed so far, read as another process would (read-only, no locks held)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM results").fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0


def kill_after_some_results(data: Path, db: Path, cwd: Path, at_least: int) -> int:
    """Start the eval, SIGKILL it once `at_least` results are committed; return how many were."""
    process = subprocess.Popen(
        eval_command(data, db), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 600
        while committed(db) < at_least:
            assert process.poll() is None, f"eval ended early: {process.stderr.read()!r}"  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "no results committed in 600 s"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
        assert process.stderr is not None
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    return committed(db)


def stored(db: Path) -> tuple[list[RunInfo], dict[str, list[str]], dict[str, str]]:
    """(runs newest first, example ids per run with repeats kept, predictions of the newest)."""
    with open_store(str(db)) as store:
        runs = store.list_runs()
    with sqlite3.connect(db) as conn:
        ids: dict[str, list[str]] = {}
        for run_id, example_id in conn.execute("SELECT run_id, example_id FROM results"):
            ids.setdefault(run_id, []).append(example_id)
        predictions = dict(
            conn.execute(
                "SELECT example_id, prediction FROM results WHERE run_id = ?", (runs[0].id,)
            ).fetchall()
        )
    return runs, ids, predictions


def test_killed_eval_resumes_and_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    lines = (REPO / "examples" / "qa" / "test.jsonl").read_text(encoding="utf-8").splitlines()
    data = tmp_path / "qa24.jsonl"
    data.write_text("\n".join(lines[:N]) + "\n", encoding="utf-8")
    expected_ids = [json.loads(line)["id"] for line in lines[:N]]
    db = tmp_path / "killed.db"

    done_before = kill_after_some_results(data, db, tmp_path, at_least=4)
    assert 4 <= done_before < N, done_before
    (unfinished,), _, _ = stored(db)
    assert unfinished.status == "interrupted"  # killed: its owner's pid is gone
    assert unfinished.owner is not None  # stored as running; read as interrupted

    run_to_completion(data, db, tmp_path)
    runs, ids, resumed_predictions = stored(db)
    assert [r.id for r in runs] == [unfinished.id]  # resumed, not restarted
    resumed = runs[0]
    assert resumed.status == "complete"
    assert resumed.stats.resumed == done_before
    assert resumed.stats.generated + resumed.stats.cached == N - done_before
    assert sorted(ids[resumed.id]) == sorted(expected_ids)  # all 24, none twice

    clean_db = tmp_path / "clean.db"
    run_to_completion(data, clean_db, tmp_path)
    (clean,), _, clean_predictions = stored(clean_db)
    assert clean.stats.resumed == 0 and clean.stats.generated == N
    differing = {
        i: (resumed_predictions[i], clean_predictions[i])
        for i in expected_ids
        if resumed_predictions[i] != clean_predictions[i]
    }
    assert not differing, differing
    assert resumed.summary == clean.summary

    # A third identical command makes a new run from the first store's generation cache.
    run_to_completion(data, db, tmp_path)
    runs, ids, cached_predictions = stored(db)
    assert len(runs) == 2
    third = runs[0]
    assert third.id != resumed.id
    assert third.stats.cached == N
    assert third.stats.generated == 0 and third.stats.resumed == 0
    assert sorted(ids[third.id]) == sorted(expected_ids)
    assert cached_predictions == resumed_predictions

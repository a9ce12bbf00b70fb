"""A store made by assay 0.1 (before run statuses had owners, messages and tags, before
the log-likelihood cache) opens in place: new columns and tables are added, nothing is
lost, and even a reading command brings it up to date."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from assay.store import open_store

OLD_SCHEMA = """
CREATE TABLE runs (
    id VARCHAR(32) PRIMARY KEY, name TEXT NOT NULL, kind VARCHAR(16) NOT NULL,
    status VARCHAR(16) NOT NULL, run_key VARCHAR(128) NOT NULL, model_spec TEXT NOT NULL,
    model_fingerprint VARCHAR(128) NOT NULL, model_details JSON NOT NULL,
    dataset_name TEXT NOT NULL, dataset_fingerprint VARCHAR(128) NOT NULL,
    n_examples INTEGER NOT NULL, prompt_config JSON NOT NULL, generation_params JSON NOT NULL,
    metrics JSON NOT NULL, assay_version VARCHAR(32) NOT NULL, created_at DATETIME NOT NULL,
    finished_at DATETIME, seconds FLOAT NOT NULL, stats JSON NOT NULL);
CREATE INDEX ix_runs_run_key ON runs (run_key);
CREATE TABLE run_metrics (
    run_id VARCHAR(32) NOT NULL, metric VARCHAR(128) NOT NULL, mean FLOAT, ci_low FLOAT,
    ci_high FLOAT, n INTEGER NOT NULL, PRIMARY KEY (run_id, metric));
"""

OLD_RUN = (
    "INSERT INTO runs VALUES ('aaaa00000001', 'old run', 'eval', 'complete', 'k', 'replay:p',"
    " 'mfp', '{}', 'qa.jsonl', 'dfp', 4, '{\"format\": \"auto\", \"template\": null, "
    '"system": null, "fields": {"input": "question", "reference": "answer"}}\','
    ' \'{"max_new_tokens": 16, "temperature": 0.0, "top_p": 1.0, "stop": [], '
    '"seed": 0, "truncate": true}\', \'["exact_match"]\', \'0.1.0\','
    " '2025-01-02 03:04:05.000000', '2025-01-02 03:04:06.000000', 1.5,"
    ' \'{"generated": 4, "errors": 1}\')'
)


@pytest.mark.parametrize("read_only", [False, True])
def test_an_old_store_opens_in_place(tmp_path: Path, read_only: bool) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SCHEMA)
        conn.execute(OLD_RUN)
        conn.execute(
            "INSERT INTO run_metrics VALUES ('aaaa00000001', 'exact_match', 0.5, 0.1, 0.9, 4)"
        )
        # two runs of one key left "running" by processes that died (the new unique index)
        for run_id in ("bbbb00000002", "cccc00000003"):
            conn.execute(OLD_RUN.replace("aaaa00000001", run_id).replace("'complete'", "'running'"))

    with open_store(str(path), read_only=read_only) as store:
        runs = {info.id: info for info in store.list_runs()}
    old = runs["aaaa00000001"]
    assert (old.name, old.status, old.message, old.tags) == ("old run", "complete", None, ())
    assert old.stats.generated == 4 and old.stats.failed == 1  # "errors" read as failed
    assert old.eval_config.generation.max_new_tokens == 16
    summary = old.summary["exact_match"]
    assert (summary.mean, summary.n, summary.unscored) == (0.5, 4, 0)
    assert {runs[r].status for r in ("bbbb00000002", "cccc00000003")} == {"interrupted"}
    with sqlite3.connect(path) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"loglikelihood_cache", "ux_runs_running_key", "example_errors"} <= tables

"""`assay bench` end to end on the real bundled model: table, stored run, harness-layout JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli import app
from assay.store import open_store

pytestmark = pytest.mark.slow


def test_bench_runs_stores_and_writes_harness_json(bench_data: Path, tmp_path: Path) -> None:
    db = tmp_path / "assay.db"
    output = tmp_path / "results.json"
    args = [
        "bench", "--model", "smollm2-135m-instruct", "--tasks", "arc_easy,hellaswag,truthfulqa_mc2",
        "--num-fewshot", "0", "--limit", "2", "--data-dir", str(bench_data), "--dtype", "float32",
        "--db", str(db), "--output", str(output),
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "acc_norm" in result.output and "truthfulqa_mc2" in result.output

    harness = json.loads(output.read_text())
    assert set(harness["results"]) == {"arc_easy", "hellaswag", "truthfulqa_mc2"}
    assert {"acc,none", "acc_stderr,none", "acc_norm,none"} <= set(harness["results"]["arc_easy"])
    assert "acc,none" in harness["results"]["truthfulqa_mc2"]  # the harness calls mc2 "acc"
    assert harness["n-shot"] == {"arc_easy": 0, "hellaswag": 0, "truthfulqa_mc2": 0}

    with open_store(str(db)) as store:
        [info] = store.list_runs()
        run = store.load_run(info.id)
    assert info.kind == "bench" and info.status == "complete"
    assert len(run.results) == 6
    first = run.results[0]
    assert first.example_id == "arc_easy/0"
    assert first.prediction in first.metadata["choices"]
    assert set(first.scores) == {"acc", "acc_norm"}
    assert "arc_easy/acc_norm" in info.summary

    shown = CliRunner().invoke(app, ["show", info.id, "--format", "csv", "--db", str(db)])
    assert shown.exit_code == 0, shown.output
    header, *rows = shown.output.splitlines()
    assert header.split(",")[4:7] == ["acc", "acc_norm", "mc2"]  # per-question scores, shown
    assert rows[0].split(",")[4] in ("0.0", "1.0")

    # a second model (here the same one, on one task) side by side with the first run
    again = [*args[:4], "truthfulqa_mc2", *args[5:], "--baseline", info.id, "--force"]
    versus = CliRunner().invoke(app, again)
    assert versus.exit_code == 0, versus.output
    assert f"baseline: run {info.id}" in versus.output and "+0.000" in versus.output
    assert "every question from the store or the cache" in versus.output


def test_bench_reports_a_missing_split_without_a_traceback(tmp_path: Path) -> None:
    args = ["bench", "--model", "smollm2-135m-instruct", "--tasks", "arc_easy",
            "--data-dir", str(tmp_path), "--db", str(tmp_path / "a.db")]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "ARC-Easy/test.jsonl" in result.output

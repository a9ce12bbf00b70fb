"""analyze_errors on a hand-built run, storage with the run, labels, and `assay errors`."""

from __future__ import annotations

from pathlib import Path

from tests.runs_builder import make_run
from typer.testing import CliRunner

from assay.cli import app
from assay.error_analysis import analyze_errors, load_errors, save_errors
from assay.store import open_store

ROWS = [
    {"prediction": "", "reference": "Paris", "scores": {"exact_match": 0}},
    {"prediction": "Paris", "reference": "Paris", "scores": {"exact_match": 1}},
    {"prediction": "Lyon", "reference": "Paris", "scores": {"exact_match": 0}},
    {"prediction": "Rome", "reference": "Madrid", "scores": {"exact_match": 0}},
    {
        "prediction": "I'm sorry, but I cannot answer that.",
        "reference": "Oslo",
        "scores": {"exact_match": 0},
    },
]


def test_report_counts_sorts_and_suggests() -> None:
    report = analyze_errors(make_run(ROWS))
    table = report.to_pandas()
    assert list(table["category"]) == ["empty", "refusal", "incorrect"]
    assert list(table["count"]) == [1, 1, 2]
    assert report.categories[2].share == 0.4
    assert any(s.startswith("40% of answers are plainly wrong") for s in report.suggestions)
    assert [e.example_id for e in report.examples("incorrect")] == ["2", "3"]


def test_labels_override_detectors() -> None:
    report = analyze_errors(make_run(ROWS), labels={"0": ["verbose"], "1": []})
    found = {(e.example_id, e.category, e.source) for e in report.errors}
    assert ("0", "verbose", "label") in found
    assert not any(e.example_id == "0" and e.category == "empty" for e in report.errors)


def test_errors_are_stored_with_the_run_and_the_cli_prints_them(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    run = make_run(ROWS)
    with open_store(str(db)) as store:
        store.create_run(run.info)
        store.add_results(run.id, run.results)
    result = CliRunner().invoke(
        app, ["errors", run.id, "--db", str(db), "--plot", str(tmp_path / "e.png")]
    )
    assert result.exit_code == 0, result.output
    assert "refusal" in result.output and "plainly wrong" in result.output
    assert (tmp_path / "e.png").read_bytes()[:4] == b"\x89PNG"
    with open_store(str(db)) as store:
        assert len(load_errors(store, run.id)) == 4
        save_errors(store, run.id, [])
        assert load_errors(store, run.id) == []
    listed = CliRunner().invoke(app, ["errors", run.id, "--db", str(db), "--examples", "incorrect"])
    assert listed.exit_code == 0 and "Lyon" in listed.output
    bad = CliRunner().invoke(app, ["errors", run.id, "--db", str(db), "--examples", "nope"])
    assert bad.exit_code == 1

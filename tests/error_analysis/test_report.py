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


def test_failed_generations_are_counted_apart_and_never_analysed() -> None:
    rows = [
        {"prediction": "", "reference": "Paris", "finish_reason": "error", "error": "refused"},
        {"prediction": "Lyon", "reference": "Paris", "scores": {"exact_match": 0}},
        {"prediction": "Paris", "reference": "Paris", "scores": {"exact_match": 1}},
    ]
    report = analyze_errors(make_run(rows))
    assert (report.n_examples, report.n_failed, report.n_analysed) == (3, 1, 2)
    assert {e.example_id for e in report.errors} == {"1"}  # not "empty" for the failed one
    assert report.categories[0].share == 0.5  # of the answers analysed


def test_incorrect_fires_beside_style_categories_but_not_beside_explaining_ones() -> None:
    long_wrong = (
        "Well, that is a fine question with a long history behind it, and after weighing "
        "geography, trade and politics I would say the capital of France is Lyon."
    )
    rows = [
        {"prediction": long_wrong, "reference": "Paris", "scores": {"exact_match": 0}},
        {
            "prediction": "The capital is Lyon and the",
            "reference": "Paris",
            "finish_reason": "length",
            "scores": {"exact_match": 0},
        },
        {"prediction": "Paris", "reference": "Paris", "scores": {"exact_match": 1}},
    ]
    report = analyze_errors(make_run(rows))
    found = {(e.example_id, e.category) for e in report.errors}
    assert ("0", "verbose") in found and ("0", "incorrect") in found
    assert ("1", "truncated") in found and ("1", "incorrect") not in found
    assert not any(e.example_id == "2" for e in report.errors)
    assert report.wrong == "exact_match below 1"


def test_the_cli_reads_a_training_set_and_shows_failed_generations(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    rows = [
        {"prediction": "", "reference": "x", "finish_reason": "error", "error": "refused"},
        {"prediction": "the lamini engine works", "reference": "x", "scores": {"f1": 0.0}},
    ]
    run = make_run(rows)
    with open_store(str(db)) as store:
        store.create_run(run.info)
        store.add_results(run.id, run.results)
    train = tmp_path / "train.jsonl"
    train.write_text('{"question": "What is lamini?", "answer": "An engine."}\n')
    args = ["errors", run.id, "--db", str(db), "--no-store"]
    without = CliRunner().invoke(app, [*args, "--examples", "spelling"])
    assert without.exit_code == 0 and "lamini (lamina?)" in without.output
    result = CliRunner().invoke(app, [*args, "--train", str(train), "--examples", "spelling"])
    assert result.exit_code == 0 and "spelling: 0 examples" in result.output
    table = CliRunner().invoke(app, args, env={"COLUMNS": "80"})
    assert "1 failed generations (no output) not analysed" in table.output
    assert all(len(line) <= 80 for line in table.output.splitlines())
    missing = CliRunner().invoke(app, [*args, "--train", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 1 and "nope.jsonl" in missing.output

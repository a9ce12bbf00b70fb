"""`assay errors RUN --export CATEGORY -o file.jsonl`: a category's examples as chat
fine-tuning rows, the reference as the assistant's turn."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.card.card_data import BASE_RIGHT, qa_results, store_run
from typer.testing import CliRunner

from assay.cli import app
from assay.data.prompts import PromptConfig
from assay.error_analysis import ErrorOptions, analyze_errors
from assay.error_analysis.export import training_rows
from assay.exceptions import NotFoundError
from assay.runs.records import EvalConfig
from assay.store import open_store


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "e.db"
    with open_store(str(path)) as store:
        store_run(store, "base00000001", "base", qa_results(BASE_RIGHT, verbose=True))
    return path


def test_export_writes_chat_rows_with_the_reference_as_the_answer(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "verbose.jsonl"
    result = CliRunner().invoke(
        app, ["errors", "base", "--export", "verbose", "-o", str(out), "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 30 - len(BASE_RIGHT)
    first = rows[0]
    assert first["id"] == "qa-001" and first["categories"] == ["verbose"]
    assert first["messages"] == [
        {"role": "user", "content": "Question 1 about data?"},
        {"role": "assistant", "content": "answer 1"},
    ]
    assert "words" in first["evidence"]["verbose"] and first["prediction"].startswith("Sure")
    assert f"wrote {len(rows)} training rows" in result.output


def test_a_system_prompt_and_a_template_become_the_turns_the_run_sent() -> None:
    from tests.runs_builder import make_run

    run = make_run(
        [{"prediction": "no", "reference": "yes", "input": "Is it?", "scores": {"exact_match": 0}}],
        config=EvalConfig(prompt=PromptConfig(template="Q: {input}", system="Be brief.")),
    )
    report = analyze_errors(run, ErrorOptions())
    (row,) = training_rows(run, report, ["incorrect"])
    assert row["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Q: Is it?"},
        {"role": "assistant", "content": "yes"},
    ]


def test_export_needs_both_options_and_a_known_category(db: Path, tmp_path: Path) -> None:
    alone = CliRunner().invoke(app, ["errors", "base", "--export", "verbose", "--db", str(db)])
    assert alone.exit_code == 1 and "--export and --output go together" in alone.output
    unknown = CliRunner().invoke(
        app,
        ["errors", "base", "--export", "verbos", "-o", str(tmp_path / "x.jsonl"), "--db", str(db)],
    )
    assert unknown.exit_code == 1 and "verbos" in unknown.output
    assert not (tmp_path / "x.jsonl").exists()


def test_an_unknown_category_is_an_error_in_python_too() -> None:
    from tests.runs_builder import make_run

    run = make_run([{"prediction": "a", "reference": "b", "scores": {"exact_match": 0}}])
    with pytest.raises(NotFoundError):
        training_rows(run, analyze_errors(run), ["nonsense"])

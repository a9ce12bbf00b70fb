"""Tool-use and structured-output error categories on real stored runs: the replay backend
scores answers written for examples/tools (one per category), `assay eval` stores the run,
and `assay errors` sorts it, as a user would run them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import assay
from assay.cli import app
from assay.error_analysis import load_errors
from assay.store import open_store

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "examples" / "tools" / "test.jsonl"
EXTRACT = ROOT / "examples" / "tools" / "extract.jsonl"
PREDICTIONS = Path(__file__).parent / "files" / "tool_predictions.jsonl"

EXPECTED = {
    "tools-002": ("no_tool_call", "expected get_weather"),
    "tools-003": ("unknown_tool", "calls currency_convert; declared: get_weather,"),
    "tools-004": ("invalid_arguments", "convert_currency: '1200' is not of type 'number'"),
    "tools-005": ("invalid_arguments", "<tool_call> 1 is broken"),
    "tools-012": ("unexpected_tool_call", "called get_weather"),
    "tools-014": ("thinking_unfinished", "no </think> after"),
    "tools-006": ("incorrect", ""),  # a declared function with valid arguments, the wrong one
}
"""Example -> (its category, the start of its detail)."""


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    db = tmp_path_factory.mktemp("tools") / "store.db"
    run = assay.evaluate(
        f"replay:{PREDICTIONS}",
        TOOLS,
        ["tool_name", "tool_args", "tool_call_valid"],
        store=str(db),
        progress=False,
    )
    return db, run.id


def test_each_tool_category_on_its_example(stored: tuple[Path, str]) -> None:
    db, run_id = stored
    result = CliRunner().invoke(app, ["errors", run_id, "--db", str(db)])
    assert result.exit_code == 0, result.output
    for category in ("no_tool_call", "unknown_tool", "invalid_arguments", "unexpected_tool_call"):
        assert category in result.output
    with open_store(str(db)) as store:
        found = load_errors(store, run_id)
    tool_categories = {c for c, _ in EXPECTED.values()}
    by_example: dict[str, list[tuple[str, str]]] = {}
    for error in found:
        if error.category in tool_categories:
            by_example.setdefault(error.example_id, []).append((error.category, error.detail))
    assert set(by_example) == set(EXPECTED), by_example
    for example_id, (category, detail) in EXPECTED.items():
        [(got, said)] = by_example[example_id]
        assert got == category and said.startswith(detail), (example_id, got, said)


def test_thinking_is_left_out_of_the_tool_scores(stored: tuple[Path, str]) -> None:
    db, run_id = stored
    with open_store(str(db)) as store:
        run = store.load_run(run_id)
    results = {r.example_id: r for r in run.results}
    assert results["tools-019"].prediction.startswith("<think>")  # kept as generated
    assert results["tools-019"].scores["tool_call_valid"].value == 1.0
    unfinished = results["tools-014"].scores["tool_name"]
    assert unfinished.detail is not None and "the thinking never closed" in unfinished.detail


def test_format_names_the_missing_and_mistyped_fields(tmp_path: Path) -> None:
    answers = [
        {"name": "Maria Lopez", "email": "maria@acme.example", "company": "Acme Corp", "city": "Madrid"},
        {"name": "Tom Becker", "email": "tom.becker@globex.example"},
        {"name": "Ingrid Hansen", "email": None, "company": "Nordlys AS", "city": ["Oslo"]},
    ]  # fmt: skip
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text(
        "".join(
            json.dumps({"id": f"extract-00{i + 1}", "prediction": json.dumps(answer)}) + "\n"
            for i, answer in enumerate(answers)
        )
    )
    db = tmp_path / "store.db"
    run = assay.evaluate(
        f"replay:{predictions}",
        EXTRACT,
        ["json_fields"],
        store=str(db),
        limit=3,
        progress=False,
    )
    summary = run.summary()
    # The per-field breakdown sits in the summary beside the F1.
    assert summary.loc["json_fields/field:city", "mean"] == pytest.approx(1 / 3)
    assert summary.loc["json_fields/field:name", "mean"] == 1.0
    assert summary.loc["json_fields/recall", "mean"] == pytest.approx((1 + 0.5 + 0.75) / 3)
    result = CliRunner().invoke(app, ["errors", run.id, "--db", str(db)])
    assert result.exit_code == 0, result.output
    with open_store(str(db)) as store:
        formats = {
            e.example_id: e.detail for e in load_errors(store, run.id) if e.category == "format"
        }
    assert formats == {
        "extract-002": "missing fields company, city",
        "extract-003": "wrong fields city (an array, expected a string)",
    }


def test_exported_tool_rows_keep_the_conversation_tools_and_expected_call(
    stored: tuple[Path, str], tmp_path: Path
) -> None:
    db, run_id = stored
    out = tmp_path / "no_call.jsonl"
    result = CliRunner().invoke(
        app, ["errors", run_id, "--export", "no_tool_call", "-o", str(out), "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    row = next(r for r in map(json.loads, out.read_text().splitlines()) if r["id"] == "tools-002")
    system, user, answer = row["messages"]
    assert system["role"] == "system" and "Call a tool" in system["content"]
    assert user == {
        "role": "user",
        "content": "Is it cold in Oslo? Give me the temperature in fahrenheit.",
    }
    assert answer["role"] == "assistant" and answer["content"] is None
    [call] = answer["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"])["city"] == "Oslo"
    assert {t["function"]["name"] for t in row["tools"]} >= {"get_weather"}

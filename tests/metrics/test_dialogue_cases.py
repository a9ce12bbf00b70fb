"""Golden cases of the tool-use, structured-output and thinking rules, one per entry of the
JSON files in dialogue_cases/: each row is read by the real loader (so a tool row has its
declared tools and expected calls), each prediction scored by the registered metric as a
run scores it (thinking left out first)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from assay.data import load_dataset
from assay.data.prompts import DEFAULT_THINKING
from assay.metrics import ScoreInput, get_metric

CASES_DIR = Path(__file__).parent / "dialogue_cases"
REQUIRED = {"name", "metric", "options", "row", "prediction", "expected", "tolerance"}


def load_cases() -> list[dict[str, Any]]:
    """Every case, its row's ``tools`` (when a name) replaced by the file's declarations."""
    cases = []
    for path in sorted(CASES_DIR.glob("*.json")):
        content = json.loads(path.read_text(encoding="utf-8"))
        declarations = content.get("declarations", {})
        for case in content["cases"]:
            missing = REQUIRED - case.keys()
            assert not missing, f"{path.name}: case {case.get('name')} lacks {sorted(missing)}"
            tools = case["row"].get("tools")
            if isinstance(tools, str):
                case["row"]["tools"] = declarations[tools]
            cases.append(case)
    return cases


CASES = load_cases()


def test_every_metric_has_cases_and_names_are_unique() -> None:
    names = [case["name"] for case in CASES]
    assert len(set(names)) == len(names)
    metrics = {case["metric"] for case in CASES}
    assert {"tool_name", "tool_args", "tool_call_valid"} <= metrics
    assert {"json_valid", "json_schema", "json_fields"} <= metrics


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_dialogue_metric_case(case: dict[str, Any], tmp_path: Path) -> None:
    data = tmp_path / "row.jsonl"
    data.write_text(json.dumps(case["row"]) + "\n", encoding="utf-8")
    [example] = load_dataset(data).examples
    thinking = tuple(case.get("thinking", DEFAULT_THINKING))
    item = ScoreInput(case["prediction"], example, thinking)
    [score] = get_metric(case["metric"], **case["options"])([item])
    if case["expected"] == "nan":
        assert math.isnan(score.value)
    else:
        assert score.value == pytest.approx(case["expected"], abs=case["tolerance"])
    if "detail" in case:
        assert score.detail == case["detail"]
    if "detail_contains" in case:
        assert case["detail_contains"] in (score.detail or ""), score.detail
    for part, value in case.get("parts", {}).items():
        assert score.parts[part] == pytest.approx(value, abs=case["tolerance"]), part

"""Golden metric cases, one per entry of the JSON files in cases/ (as lighteval does)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assay.data.example import Example
from assay.metrics import ScoreInput, get_metric

CASES_DIR = Path(__file__).parent / "cases"
REQUIRED = {"name", "metric", "options", "prediction", "reference", "expected", "tolerance"}


def item(prediction: str, reference: str | None) -> ScoreInput:
    return ScoreInput(prediction, Example("0", "question?", reference))


def load_cases() -> list[dict[str, Any]]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8")):
            missing = REQUIRED - case.keys()
            assert not missing, f"{path.name}: case {case.get('name')} lacks {sorted(missing)}"
            cases.append(case)
    return cases


CASES = load_cases()


def test_there_are_enough_cases_with_unique_names() -> None:
    names = [case["name"] for case in CASES]
    assert len(names) >= 20
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_metric_case(case: dict[str, Any]) -> None:
    score_fn = get_metric(case["metric"], **case["options"])
    [score] = score_fn([item(case["prediction"], case["reference"])])
    assert score.value == pytest.approx(case["expected"], abs=case["tolerance"])
    if "detail" in case:
        assert score.detail == case["detail"]

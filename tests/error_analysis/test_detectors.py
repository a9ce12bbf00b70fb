"""Each built-in detector on golden cases (true positives and near misses) from cases/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.runs_builder import make_run

from assay.error_analysis import DetectorContext, ErrorOptions, get_category
from assay.error_analysis.categories import detector, list_categories

CASES = json.loads((Path(__file__).parent / "cases" / "detectors.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_detector_case(case: dict[str, Any]) -> None:
    row = {
        k: case[k]
        for k in ("prediction", "reference", "input", "prompt", "finish_reason", "metadata")
        if k in case
    }
    run = make_run([row])
    detect = get_category(case["category"]).detect
    assert detect is not None
    options = ErrorOptions(train_vocabulary=frozenset(case.get("train_vocabulary", [])))
    found = detect(run.results[0], DetectorContext(run, options))
    assert (found is not None) == case["expected"], found


def test_every_builtin_category_has_cases() -> None:
    covered = {case["category"] for case in CASES} | {"incorrect"}
    assert {c.name for c in list_categories()} <= covered


def test_a_user_detector_registers_and_duplicates_are_refused() -> None:
    from assay.error_analysis import categories

    saved = dict(categories._REGISTRY)
    try:

        @detector("shouting", severity="low", suggestion="{share} shout")
        def shouting(result: Any, context: Any) -> str | None:
            """All capitals."""
            return "caps" if result.prediction.isupper() else None

        assert get_category("shouting").description == "All capitals."
        with pytest.raises(ValueError, match="already registered"):
            detector("shouting", severity="low", suggestion="")(shouting)
    finally:
        categories._REGISTRY.clear()
        categories._REGISTRY.update(saved)

"""Reading tool calls out of answers, one case per format (cases/tool_calls.json): the
calls, the format they were read as, and why a started call could not be read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assay.models.tool_calls import parse_calls

CASES = json.loads((Path(__file__).parent / "cases" / "tool_calls.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_tool_call_case(case: dict[str, Any]) -> None:
    parsed = parse_calls(case["text"])
    assert [call.as_dict() for call in parsed.calls] == case["calls"]
    assert parsed.format == case["format"]
    if case["problem"] is None:
        assert parsed.problem is None
    else:
        assert parsed.problem is not None and case["problem"] in parsed.problem
        assert parsed.attempted

"""Tool-use metrics: did the model call the right function, with the right arguments, validly?

Each scores a tool row (one that declares tools and has a reference, see
assay.data.conversations) by reading the calls in the answer (assay.models.tool_calls)
and comparing them with the calls the reference expects; a reference that is text
expects no call. Calls are matched by name, in order; arguments are compared as
JSON values (key order, ``1`` against ``1.0`` and spacing do not matter; a string is never
a number).

- ``tool_name``: the answer calls exactly the expected functions (as a multiset), or none
  when none is expected.
- ``tool_args``: the share of arguments right, averaged over the calls (the expected ones,
  or the answer's when it makes more): a call with 2 of 3 arguments right scores 0.667.
- ``tool_call_valid``: every call the answer makes parses, names a declared function and
  has arguments that fit its JSON Schema, and it makes one where one is expected.

An example with no expectation about calls (no tools, or no reference) is left unscored
(NaN, with a detail), unless every example is such, which is an error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from assay.data.dialogue import Dialogue, ToolCall, canonical_json
from assay.data.schemas import value_problem
from assay.exceptions import MetricError
from assay.metrics.base import MetricFn, Score, ScoreInput
from assay.metrics.registry import register_metric
from assay.models.tool_calls import ParsedCalls, parse_calls

NOT_A_TOOL_ROW = "not scored: the example expects no particular call (no tools or no reference)"


def tool_rows(
    metric: str, items: Sequence[ScoreInput], scorer: Callable[[ScoreInput, Dialogue], Score]
) -> list[Score]:
    """Each item scored by ``scorer`` when it is a tool row, NaN otherwise.

    Raises:
        MetricError: No item is a tool row (the metric was asked of a data set without tools).
    """
    dialogues = [item.example.dialogue for item in items]
    if items and not any(d is not None and d.expected_calls is not None for d in dialogues):
        raise MetricError(
            f"Metric '{metric}' scores tool calls, but no example declares tools with a "
            "reference (a 'tools' field, and a call or text as the reference); drop it from "
            "the metrics, or see examples/tools/ for the row format"
        )
    return [
        scorer(item, dialogue)
        if dialogue is not None and dialogue.expected_calls is not None
        else Score(math.nan, NOT_A_TOOL_ROW)
        for item, dialogue in zip(items, dialogues, strict=True)
    ]


def pair_calls(
    expected: Sequence[ToolCall], made: Sequence[ToolCall]
) -> tuple[list[tuple[ToolCall, ToolCall | None]], list[ToolCall]]:
    """Each expected call with the first unused call of its name the answer made (or None),
    and the answer's calls left over."""
    left = list(made)
    pairs: list[tuple[ToolCall, ToolCall | None]] = []
    for call in expected:
        match = next((m for m in left if m.name == call.name), None)
        if match is not None:
            left.remove(match)
        pairs.append((call, match))
    return pairs, left


def same_value(a: Any, b: Any) -> bool:
    """Equal as JSON values: key order and 1 against 1.0 do not matter; true is not 1."""
    return canonical_json(_normal(a)) == canonical_json(_normal(b))


def _normal(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _normal(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    return value


def argument_score(expected: ToolCall, made: ToolCall | None) -> tuple[float, list[str]]:
    """The share of arguments right (over both calls' argument names) and what is wrong."""
    if made is None:
        return 0.0, [f"{expected.name} not called"]
    names = list(dict.fromkeys([*expected.arguments, *made.arguments]))
    if not names:
        return 1.0, []
    wrong = []
    for name in names:
        if name not in made.arguments:
            wrong.append(f"{name} missing")
        elif name not in expected.arguments:
            wrong.append(f"{name} not expected")
        elif not same_value(expected.arguments[name], made.arguments[name]):
            wrong.append(
                f"{name}: expected {_short(expected.arguments[name])}, "
                f"got {_short(made.arguments[name])}"
            )
    return (len(names) - len(wrong)) / len(names), wrong


def _short(value: Any) -> str:
    text = canonical_json(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _names(calls: Sequence[ToolCall]) -> str:
    return ", ".join(call.name for call in calls) or "nothing"


def _calls(item: ScoreInput) -> ParsedCalls:
    return parse_calls(item.prediction)


@register_metric("tool_name", pass_fail=True)
def tool_name() -> MetricFn:
    """1.0 when the answer calls exactly the expected functions (none when none is expected)."""

    def one(item: ScoreInput, dialogue: Dialogue) -> Score:
        expected = dialogue.expected_calls or ()
        made = _calls(item).calls
        right = sorted(c.name for c in made) == sorted(c.name for c in expected)
        if right:
            return Score(1.0)
        return Score(0.0, f"expected {_names(expected)}, called {_names(made)}")

    return lambda items: tool_rows("tool_name", items, one)


@register_metric("tool_args")
def tool_args() -> MetricFn:
    """The share of call arguments right (JSON-equal), averaged over the calls."""

    def one(item: ScoreInput, dialogue: Dialogue) -> Score:
        expected = dialogue.expected_calls or ()
        parsed = _calls(item)
        if not expected:
            if parsed.attempted:
                return Score(0.0, f"expected no call, called {_names(parsed.calls)}")
            return Score(1.0)
        pairs, extra = pair_calls(expected, parsed.calls)
        results = [argument_score(call, made) for call, made in pairs]
        total = sum(value for value, _ in results)
        wrong = [problem for _, problems in results for problem in problems]
        wrong += [f"{call.name} not expected" for call in extra]
        value = total / max(len(expected), len(parsed.calls))
        return Score(value, "; ".join(wrong) if wrong else None)

    return lambda items: tool_rows("tool_args", items, one)


@register_metric("tool_call_valid", pass_fail=True)
def tool_call_valid() -> MetricFn:
    """1.0 when every call parses, names a declared function and fits its schema (and one is
    made where one is expected)."""

    def one(item: ScoreInput, dialogue: Dialogue) -> Score:
        problem = call_problem(_calls(item), dialogue)
        return Score(0.0, problem) if problem else Score(1.0)

    return lambda items: tool_rows("tool_call_valid", items, one)


def call_problem(parsed: ParsedCalls, dialogue: Dialogue) -> str | None:
    """Why the answer's calls are not valid for the row, or None."""
    if parsed.problem is not None:
        return parsed.problem
    if not parsed.calls and dialogue.expected_calls:
        return f"no call; expected {_names(dialogue.expected_calls)}"
    for call in parsed.calls:
        tool = dialogue.tool(call.name)
        if tool is None:
            declared = ", ".join(t.name for t in dialogue.tools)
            return f"calls {call.name}, which is not declared (declared: {declared})"
        problem = value_problem(tool.parameters, dict(call.arguments))
        if problem is not None:
            return f"the arguments of {call.name} do not fit its schema: {problem}"
    return None

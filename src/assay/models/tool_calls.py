"""Reading the tool calls in a model's answer, whatever its family writes them as.

Chat templates teach each family its own way to call a function; transformers
leaves the text as generated, so the calls are read back here, in this order:

- Hermes / Qwen 2.5 / Qwen 3: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``,
  once per call;
- Mistral: ``[TOOL_CALLS] [{"name": ..., "arguments": {...}}, ...]`` (the marker is a
  control token, so after decoding often only the list is left), or the newer
  ``[TOOL_CALLS]name[ARGS]{...}``;
- Llama 3.1 / 3.2: ``<|python_tag|>{"name": ..., "parameters": {...}}`` (the tag is
  special too), several joined by ``;``;
- the JSON fallback, which also reads what assay's own tool instruction asks of a model
  whose template knows no tools (assay.data.dialogue.TOOLS_INSTRUCTION), and the calls an
  ``openai:`` server returned (stored as that JSON): the answer, or a fenced code block in
  it, is a call object (``{"name", "arguments"}``, or OpenAI's ``{"function": {...}}``) or
  a list of them; failing that, the first call object found in the text.

An answer that starts a call and does not finish it (a ``<tool_call>`` whose JSON does not
parse, cut at the token limit) is a *broken* call: :attr:`ParsedCalls.problem` says what
is wrong, which the metrics score as an invalid call rather than as no call at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assay.data.dialogue import ToolCall

HERMES = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
MISTRAL_V11 = re.compile(r"\[TOOL_CALLS\]\s*([^\[\s{]+)\s*\[ARGS\]\s*", re.DOTALL)
FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
MARKERS = ("[TOOL_CALLS]", "<|python_tag|>")
CALL_START = re.compile(r'\s*\[?\s*\{\s*"(?:name|function)"')
"""Text that starts like a call object: broken JSON after it is a broken call."""


@dataclass(frozen=True)
class ParsedCalls:
    """The calls read from one answer.

    Attributes:
        calls: The calls, in the order written.
        format: How they were written: "hermes", "mistral", "json" (the fallback, which
            also reads Llama's), or None when the answer calls nothing.
        problem: Why a call the answer started could not be read, or None.
    """

    calls: tuple[ToolCall, ...] = ()
    format: str | None = None
    problem: str | None = None

    @property
    def attempted(self) -> bool:
        """The answer calls a function, or tries to (a broken call counts)."""
        return bool(self.calls) or self.problem is not None


def parse_calls(text: str) -> ParsedCalls:
    """The tool calls written in an answer (see the module docstring for the formats)."""
    if "<tool_call>" in text:
        return _hermes(text)
    if "[TOOL_CALLS]" in text and MISTRAL_V11.search(text):
        return _mistral_v11(text)
    stripped = text.strip()
    for marker in MARKERS:
        if marker in stripped:
            stripped = stripped.split(marker, 1)[1].strip()
    return _json(stripped)


def _hermes(text: str) -> ParsedCalls:
    calls: list[ToolCall] = []
    for index, body in enumerate(HERMES.findall(text)):
        value, problem = _loads(body)
        found = _read_call(value) if problem is None else None
        if not isinstance(found, ToolCall):
            why = problem or found or "it is not {name, arguments}"
            return ParsedCalls(tuple(calls), "hermes", f"<tool_call> {index + 1} is broken: {why}")
        calls.append(found)
    return ParsedCalls(tuple(calls), "hermes")


def _mistral_v11(text: str) -> ParsedCalls:
    calls: list[ToolCall] = []
    for match in MISTRAL_V11.finditer(text):
        decoder = json.JSONDecoder()
        try:
            arguments, _ = decoder.raw_decode(text, match.end())
        except ValueError as error:
            return ParsedCalls(
                tuple(calls), "mistral", f"the arguments of {match.group(1)} are not JSON ({error})"
            )
        if not isinstance(arguments, Mapping):
            return ParsedCalls(
                tuple(calls), "mistral", f"the arguments of {match.group(1)} are not an object"
            )
        calls.append(ToolCall(match.group(1), dict(arguments)))
    return ParsedCalls(tuple(calls), "mistral")


def _json(text: str) -> ParsedCalls:
    """The whole answer (or its fenced block) as calls, else the first call in the text."""
    fenced = FENCE.search(text)
    for candidate in (text, fenced.group(1).strip() if fenced else None):
        if not candidate:
            continue
        value, problem = _loads(candidate)
        if problem is None:
            found = _as_calls(value)
            if found is not None:
                return ParsedCalls(found[0], "json", found[1])
        elif CALL_START.match(candidate):
            return ParsedCalls((), "json", f"the call is not valid JSON ({problem})")
    return _first_call_in(text)


def _first_call_in(text: str) -> ParsedCalls:
    """Calls written inside prose ("Sure! {"name": ...}"): every call object, in order."""
    decoder = json.JSONDecoder()
    calls: list[ToolCall] = []
    position = text.find("{")
    while position >= 0:
        try:
            value, end = decoder.raw_decode(text, position)
        except ValueError:
            position = text.find("{", position + 1)
            continue
        call = _as_call(value)
        if call is not None:
            calls.append(call)
        position = text.find("{", end)
    return ParsedCalls(tuple(calls), "json" if calls else None)


def _loads(text: str) -> tuple[Any, str | None]:
    try:
        return json.loads(text), None
    except ValueError as error:
        return None, str(error)


def _as_calls(value: Any) -> tuple[tuple[ToolCall, ...], str | None] | None:
    """A call, a list of calls, or {"tool_calls": [...]}, as (calls, problem); None when the
    value is no call at all. A call whose arguments are not an object is a problem."""
    if isinstance(value, Mapping) and isinstance(value.get("tool_calls"), list):
        value = value["tool_calls"]
    items = value if isinstance(value, list) else [value]
    read = [_read_call(item) for item in items]
    if not items or any(found is None for found in read):
        return None
    calls = tuple(found for found in read if isinstance(found, ToolCall))
    problem = next((found for found in read if isinstance(found, str)), None)
    return calls, problem


def _as_call(value: Any) -> ToolCall | None:
    found = _read_call(value)
    return found if isinstance(found, ToolCall) else None


def _read_call(value: Any) -> ToolCall | str | None:
    """{"name", "arguments"|"parameters"} or {"function": {...}} as a call; a problem (text)
    when its arguments are not an object; None when the value is not a call."""
    if isinstance(value, Mapping) and isinstance(value.get("function"), Mapping):
        value = value["function"]
    if not isinstance(value, Mapping) or not isinstance(value.get("name"), str):
        return None
    if not ({"arguments", "parameters"} & set(value)) and len(value) > 1:
        return None  # an object that merely has a "name" field is not a call
    if "arguments" not in value and _is_schema(value.get("parameters")):
        return None  # a tool's declaration echoed back, not a call of it
    name = value["name"]
    arguments = value.get("arguments", value.get("parameters", {}))
    if isinstance(arguments, str):  # OpenAI's JSON text
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            return f"the arguments of {name} are not JSON"
    if not isinstance(arguments, Mapping):
        return f"the arguments of {name} are not an object"
    return ToolCall(name, dict(arguments))


def _is_schema(value: Any) -> bool:
    """A JSON Schema of an object (a declaration's "parameters"), not arguments."""
    return (
        isinstance(value, Mapping)
        and value.get("type") == "object"
        and isinstance(value.get("properties"), Mapping)
    )

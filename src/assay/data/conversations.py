"""Reading a conversation or tool row into a :class:`~assay.data.dialogue.Dialogue`.

The one rule, used by the loader (with the file and line for messages) and again when
a stored run is scored or retried (its examples are rebuilt from their stored columns,
so they read the same):

- A row is a dialogue when its input field holds a list (a conversation: OpenAI's
  ``messages`` of ``{role, content}``, or ShareGPT's ``conversations`` of
  ``{from, value}``), or when it declares tools (a ``tools`` field: OpenAI function
  schemas); otherwise it is a plain question.
- Roles alternate: system turns first, then user, assistant, user, ...; an assistant
  turn that calls tools may be followed by tool turns (their results), then an
  assistant turn.
- The reference is the row's reference field when it has one; else the final
  assistant turn (its text, or its tool calls). The model answers the last user turn
  or goes on from the tool results that end the conversation (an agent's next step:
  answer from them, or call again), so the conversation, once the reference turn is
  taken off, must end with a user turn or a tool result; a row whose conversation ends
  with an assistant turn *and* has a reference field asks for a reply to the
  assistant, and is refused.
- With tools, a reference is a call (``{name, arguments}``), a list of calls (OpenAI's
  ``tool_calls``, or ``{name, arguments}`` objects), or text (no call expected). Every
  tool schema must be a valid JSON Schema, and every reference call must name a
  declared tool with arguments that fit its schema.

Each problem is a :class:`DataError` naming the place (file and line) and the field
(``messages[3].role``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assay.data.dialogue import Dialogue, Role, Tool, ToolCall, Turn, calls_text
from assay.data.schemas import schema_problem, value_problem
from assay.data.values import kind_of, shown
from assay.exceptions import DataError

CONVERSATION_FIELDS = ("messages", "conversations")
"""Columns tried, after the usual input columns, as a conversation."""

TOOLS_FIELD = "tools"
"""The column of a row's tool declarations (OpenAI function schemas)."""

OPENAI_ROLES: dict[str, Role] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
    "function": "tool",
}
SHAREGPT_ROLES: dict[str, Role] = {
    "system": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "model": "assistant",
    "function_call": "assistant",
    "tool": "tool",
    "observation": "tool",
    "function_response": "tool",
}
"""ShareGPT's speaker names ("from"); ``function_call`` is an assistant turn whose value is
a call as JSON, ``observation`` a tool's result (glaive and LLaMA-Factory's use)."""

EMPTY_PARAMETERS: Mapping[str, Any] = {"type": "object", "properties": {}}


@dataclass(frozen=True)
class RowDialogue:
    """What a dialogue row gives its Example.

    Attributes:
        dialogue: The conversation, tools and expected calls.
        input: The text the example shows: the dialogue's transcript.
        reference: The reference text: the expected answer, or the expected calls as JSON.
    """

    dialogue: Dialogue
    input: str
    reference: str | None


def read_dialogue(
    where: str, values: Mapping[str, Any], *, input_field: str, reference_field: str | None
) -> RowDialogue | None:
    """The row as a dialogue, or None when it is a plain question (text in, no tools).

    Args:
        where: The row's place for messages ("data.jsonl, line 7").
        values: The row's columns.
        input_field: The column of the input (a conversation, or the question's text).
        reference_field: The column of the reference, if the data set has one.

    Raises:
        DataError: The conversation, the tools or the reference do not fit the rule.
    """
    given = values.get(input_field)
    declared = values.get(TOOLS_FIELD)
    if given is None or (not isinstance(given, (list, tuple)) and declared is None):
        return None
    tools = read_tools(where, declared) if declared is not None else ()
    if isinstance(given, (list, tuple)):
        turns = _conversation(where, input_field, given)
    elif isinstance(given, str):
        turns = [Turn("user", given)]
    else:
        raise DataError(
            f"{where}: the input field '{shown(input_field)}' holds {kind_of(given)}; "
            "expected text, or a conversation (a list of messages)"
        )
    reference_value = values.get(reference_field) if reference_field else None
    turns, reference, calls = _reference(
        where, input_field, reference_field, turns, reference_value, tools
    )
    _check_ends_with_turn_to_answer(where, input_field, turns)
    if tools:
        _check_history_calls(where, input_field, turns, tools)
        for path, call in calls or ():
            _check_call(where, path, call, tools)
    dialogue = Dialogue(
        turns=tuple(turns),
        tools=tools,
        expected_calls=tuple(c for _, c in calls) if calls is not None and tools else None,
    )
    return RowDialogue(dialogue, dialogue.transcript(), reference)


# -- conversations -----------------------------------------------------------------------


def _conversation(where: str, field: str, items: Sequence[Any]) -> list[Turn]:
    if not items:
        raise DataError(f"{where}: the field '{shown(field)}' is an empty conversation")
    turns = [_turn(where, f"{field}[{index}]", item) for index, item in enumerate(items)]
    _check_order(where, field, turns)
    return turns


def _turn(where: str, path: str, item: Any) -> Turn:
    if not isinstance(item, Mapping):
        raise DataError(
            f"{where}: the field '{shown(path)}' holds {kind_of(item)}; expected a message "
            '(an object like {"role": "user", "content": "..."})'
        )
    if "role" in item:
        return _openai_turn(where, path, item)
    if "from" in item:
        return _sharegpt_turn(where, path, item)
    raise DataError(
        f"{where}: the field '{shown(path)}' has neither 'role' (OpenAI messages) nor "
        "'from' (ShareGPT conversations)"
    )


def _openai_turn(where: str, path: str, item: Mapping[str, Any]) -> Turn:
    role = _role(where, f"{path}.role", item.get("role"), OPENAI_ROLES)
    calls: list[ToolCall] = []
    raw_calls = item.get("tool_calls")
    if raw_calls is not None:
        if role != "assistant":
            raise DataError(
                f"{where}: the field '{shown(path)}.tool_calls' is on {_a(role)} turn; "
                "only assistant turns call tools"
            )
        if not isinstance(raw_calls, list):
            raise DataError(
                f"{where}: the field '{shown(path)}.tool_calls' holds {kind_of(raw_calls)}; "
                "expected a list of calls"
            )
        calls = [read_call(where, f"{path}.tool_calls[{i}]", c) for i, c in enumerate(raw_calls)]
    if item.get("function_call") is not None and role == "assistant":  # OpenAI's older form
        calls.append(read_call(where, f"{path}.function_call", item["function_call"]))
    content = _content(where, f"{path}.content", item.get("content"), allow_none=bool(calls))
    name = _optional_text(where, f"{path}.name", item.get("name"))
    call_id = _optional_text(where, f"{path}.tool_call_id", item.get("tool_call_id"))
    return Turn(role, content, tuple(calls), name if role == "tool" else None, call_id)


def _sharegpt_turn(where: str, path: str, item: Mapping[str, Any]) -> Turn:
    speaker = item.get("from")
    role = _role(where, f"{path}.from", speaker, SHAREGPT_ROLES)
    value = _content(where, f"{path}.value", item.get("value"), allow_none=False)
    if speaker == "function_call":
        try:
            parsed = json.loads(value)
        except ValueError:
            raise DataError(
                f"{where}: the field '{shown(path)}.value' of a function_call turn is not "
                'JSON; expected {"name": ..., "arguments": {...}}'
            ) from None
        return Turn("assistant", "", (read_call(where, f"{path}.value", parsed),))
    return Turn(role, value)


def _role(where: str, path: str, value: Any, allowed: Mapping[str, Role]) -> Role:
    if isinstance(value, str) and value in allowed:
        return allowed[value]
    found = f"'{shown(value)}'" if isinstance(value, str) else kind_of(value)
    raise DataError(
        f"{where}: the field '{shown(path)}' is {found}; expected one of {', '.join(allowed)}"
    )


def _content(where: str, path: str, value: Any, *, allow_none: bool) -> str:
    """A message's text: a string, or OpenAI's list of text parts joined."""
    if isinstance(value, str):
        return value
    if value is None:
        if allow_none:
            return ""
        raise DataError(f"{where}: the field '{shown(path)}' has no text")
    if isinstance(value, list) and all(isinstance(part, Mapping) for part in value):
        texts = []
        for index, part in enumerate(value):
            if part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise DataError(
                    f"{where}: the field '{shown(path)}[{index}]' is not a text part "
                    '({"type": "text", "text": "..."}); assay reads text conversations only'
                )
            texts.append(part["text"])
        return "".join(texts)
    raise DataError(
        f"{where}: the field '{shown(path)}' holds {kind_of(value)}; expected text "
        "(or a list of text parts)"
    )


def _optional_text(where: str, path: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise DataError(f"{where}: the field '{shown(path)}' holds {kind_of(value)}; expected text")


def _check_order(where: str, field: str, turns: Sequence[Turn]) -> None:
    """System turns first; then user and assistant alternate, tool results after a call."""
    previous: Turn | None = None
    for index, turn in enumerate(turns):
        path = f"{field}[{index}]"
        if turn.role == "system":
            if previous is not None and previous.role != "system":
                raise DataError(
                    f"{where}: the field '{shown(path)}' is a system turn after the conversation "
                    "started; system turns come first"
                )
        elif previous is None or previous.role == "system":
            if turn.role != "user":
                raise DataError(
                    f"{where}: the field '{shown(path)}' is {_a(turn.role)} turn; a conversation "
                    "starts with a user turn (after any system turns)"
                )
        else:
            allowed = _may_follow(previous)
            if turn.role not in allowed:
                raise DataError(
                    f"{where}: the roles do not alternate: '{shown(path)}' is {_a(turn.role)} "
                    f"turn after {_a(previous.role)} turn; expected {' or '.join(allowed)}"
                )
        previous = turn


def _a(role: str) -> str:
    return f"an {role}" if role == "assistant" else f"a {role}"


def _may_follow(turn: Turn) -> tuple[Role, ...]:
    if turn.role == "user":
        return ("assistant",)
    if turn.role == "assistant":
        return ("tool", "user") if turn.tool_calls else ("user",)
    return ("tool", "assistant")  # after a tool result: more results, or the assistant


def _check_ends_with_turn_to_answer(where: str, field: str, turns: Sequence[Turn]) -> None:
    last = turns[-1] if turns else None
    if last is None or last.role == "system":
        raise DataError(f"{where}: the field '{shown(field)}' holds no user turn to reply to")


# -- tools and calls ---------------------------------------------------------------------


def read_tools(where: str, value: Any) -> tuple[Tool, ...]:
    """A ``tools`` list (OpenAI function schemas) as Tool records: names unique, each
    ``parameters`` a valid JSON Schema. Also what ``assay serve`` reads a request's tools with.

    Raises:
        DataError: Naming ``where`` and the field (``tools[1].function.parameters``).
    """
    if not isinstance(value, list):
        raise DataError(
            f"{where}: the field '{TOOLS_FIELD}' holds {kind_of(value)}; expected a list of "
            'OpenAI function schemas ({"type": "function", "function": {...}})'
        )
    tools: list[Tool] = []
    for index, item in enumerate(value):
        tool = _tool(where, f"{TOOLS_FIELD}[{index}]", item)
        if any(other.name == tool.name for other in tools):
            raise DataError(
                f"{where}: the field '{TOOLS_FIELD}[{index}]' declares '{shown(tool.name)}' "
                "a second time; tool names must be unique"
            )
        tools.append(tool)
    return tuple(tools)


def _tool(where: str, path: str, item: Any) -> Tool:
    if not isinstance(item, Mapping):
        raise DataError(
            f"{where}: the field '{path}' holds {kind_of(item)}; expected a function schema"
        )
    if "function" in item or "type" in item:
        if item.get("type", "function") != "function":
            raise DataError(
                f"{where}: the field '{path}.type' is '{shown(str(item.get('type')))}'; "
                "assay reads function tools only"
            )
        path, item = f"{path}.function", item.get("function")
        if not isinstance(item, Mapping):
            raise DataError(
                f"{where}: the field '{path}' holds {kind_of(item)}; expected "
                "{name, description, parameters}"
            )
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise DataError(f"{where}: the field '{path}.name' must be a non-empty function name")
    description = item.get("description") or ""
    if not isinstance(description, str):
        raise DataError(
            f"{where}: the field '{path}.description' holds {kind_of(description)}; expected text"
        )
    parameters = item.get("parameters", EMPTY_PARAMETERS)
    problem = schema_problem(parameters)
    if problem is not None:
        raise DataError(f"{where}: the field '{path}.parameters' {problem}")
    return Tool(name, description, parameters)


def read_call(where: str, path: str, value: Any) -> ToolCall:
    """A call as OpenAI writes one ({id, type, function: {name, arguments}}) or as
    {name, arguments}; arguments as an object or as JSON text of one."""
    if isinstance(value, Mapping) and isinstance(value.get("function"), Mapping):
        path, value = f"{path}.function", value["function"]
    if not isinstance(value, Mapping) or not isinstance(value.get("name"), str):
        raise DataError(
            f"{where}: the field '{shown(path)}' is not a tool call; expected "
            '{"name": ..., "arguments": {...}} (or OpenAI\'s {"function": {...}})'
        )
    arguments = value.get("arguments", value.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            raise DataError(
                f"{where}: the field '{shown(path)}.arguments' is not JSON text "
                f"({shown(arguments, 40)})"
            ) from None
    if not isinstance(arguments, Mapping):
        raise DataError(
            f"{where}: the field '{shown(path)}.arguments' holds {kind_of(arguments)}; "
            "expected an object of arguments"
        )
    return ToolCall(value["name"], dict(arguments))


def _check_call(where: str, path: str, call: ToolCall, tools: Sequence[Tool]) -> None:
    tool = next((t for t in tools if t.name == call.name), None)
    if tool is None:
        raise DataError(
            f"{where}: the field '{shown(path)}' calls '{shown(call.name)}', which the row "
            f"does not declare; its tools are {', '.join(shown(t.name) for t in tools)}"
        )
    problem = value_problem(tool.parameters, dict(call.arguments))
    if problem is not None:
        raise DataError(
            f"{where}: the field '{shown(path)}' calls '{shown(call.name)}' with arguments "
            f"that do not fit its schema: {problem}"
        )


def _check_history_calls(
    where: str, field: str, turns: Sequence[Turn], tools: Sequence[Tool]
) -> None:
    for index, turn in enumerate(turns):
        for position, call in enumerate(turn.tool_calls):
            if not any(t.name == call.name for t in tools):
                raise DataError(
                    f"{where}: the field '{shown(field)}[{index}].tool_calls[{position}]' calls "
                    f"'{shown(call.name)}', which the row does not declare; its tools are "
                    f"{', '.join(shown(t.name) for t in tools)}"
                )


# -- the reference -----------------------------------------------------------------------


def _reference(
    where: str,
    input_field: str,
    reference_field: str | None,
    turns: list[Turn],
    value: Any,
    tools: Sequence[Tool],
) -> tuple[list[Turn], str | None, list[tuple[str, ToolCall]] | None]:
    """(the context turns, the reference text, the expected calls with the field each
    came from, or None when the row expects nothing of calls)."""
    if turns[-1].role == "assistant":
        if value is not None:
            raise DataError(
                f"{where}: the field '{shown(input_field)}' ends with an assistant turn, but "
                f"the row also has a reference ('{shown(str(reference_field))}'), so a reply "
                "to the assistant is expected; end the conversation with the user turn to "
                "answer, or drop the reference field and let the last assistant turn be it"
            )
        final = turns[-1]
        if final.tool_calls and not tools:
            raise DataError(
                f"{where}: the last turn of '{shown(input_field)}' calls tools, but the row "
                f"declares none (a '{TOOLS_FIELD}' field)"
            )
        last = f"{input_field}[{len(turns) - 1}].tool_calls"
        calls = [(f"{last}[{i}]", call) for i, call in enumerate(final.tool_calls)]
        text = calls_text(final.tool_calls) if calls else final.content
        return turns[:-1], text, calls if tools else None
    if value is None:
        return turns, None, None
    path = str(reference_field)
    if tools:
        found = _reference_calls(where, path, value)
        if found is not None:
            text = calls_text(tuple(call for _, call in found))
            return turns, text, found
    return turns, _reference_text(where, path, value), [] if tools else None


def _reference_calls(where: str, path: str, value: Any) -> list[tuple[str, ToolCall]] | None:
    """The calls a tool row's reference holds (with the field of each), or None when it is
    text (no call expected)."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        if not _looks_like_calls(parsed):
            return None
        value = parsed
    if isinstance(value, Mapping):
        return [(path, read_call(where, path, value))]
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        return [(f"{path}[{i}]", read_call(where, f"{path}[{i}]", v)) for i, v in enumerate(value)]
    if isinstance(value, list) and not value:
        return []
    return None


def _looks_like_calls(value: Any) -> bool:
    items = value if isinstance(value, list) else [value]
    return bool(items) and all(
        isinstance(item, Mapping) and ("name" in item or "function" in item) for item in items
    )


def _reference_text(where: str, path: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return str(value[0])
    raise DataError(
        f"{where}: the reference field '{shown(path)}' holds {kind_of(value)}; expected text, "
        "a JSON object, or (with tools) a call or a list of calls"
    )

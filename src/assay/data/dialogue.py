"""The records of a conversation row: its turns, the tools it declares, the calls it expects.

A data set row is either a question (text in, text out) or a *dialogue*: a
conversation (OpenAI's ``messages``, or ShareGPT's ``conversations``) and/or a set of
tools (OpenAI function schemas) the model may call. A dialogue is carried as a
:class:`Dialogue` from the loader to the prompt, the backends, the metrics, the
error categories and the views: one typed record, built from the row by
:mod:`assay.data.conversations` (the one rule, also used when a stored run is
scored again), never a dict of the row passed around.

Every view shows a dialogue as its :meth:`Dialogue.transcript`, plain text a person
reads ("User: ...", "Assistant → get_weather(...)"), never as a JSON string.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]

ROLE_NAMES: dict[str, str] = {
    "system": "System",
    "user": "User",
    "assistant": "Assistant",
    "tool": "Tool",
}
"""How a transcript names each role."""


def canonical_json(value: object) -> str:
    """JSON text of a value with its keys sorted: equal values give equal text."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class ToolCall:
    """A call of a function: its name and its arguments (a JSON object).

    Attributes:
        name: The function called.
        arguments: The arguments, parsed (OpenAI sends them as JSON text; here they are
            always the object, so comparing two calls never compares spellings).
    """

    name: str
    arguments: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """{"name": ..., "arguments": {...}}: the form a reference and a stored call take."""
        return {"name": self.name, "arguments": dict(self.arguments)}

    def shown(self) -> str:
        """``get_weather({"city": "Paris"})``: how a transcript shows the call."""
        return f"{self.name}({json.dumps(self.arguments, ensure_ascii=False)})"


@dataclass(frozen=True)
class Tool:
    """A function the model may call, as OpenAI's function schema declares it.

    Attributes:
        name: The function's name.
        description: What it does (for the model).
        parameters: A JSON Schema of its arguments (an object schema).
    """

    name: str
    description: str
    parameters: Mapping[str, Any]

    def schema(self) -> dict[str, Any]:
        """The OpenAI tool: {"type": "function", "function": {name, description, parameters}}.

        Chat templates (transformers' ``apply_chat_template(tools=...)``) and OpenAI's
        ``tools`` parameter both take this form.
        """
        function: dict[str, Any] = {"name": self.name}
        if self.description:
            function["description"] = self.description
        function["parameters"] = dict(self.parameters)
        return {"type": "function", "function": function}

    def signature(self) -> str:
        """``get_weather(city, unit?)``: the function and its parameters (optional ones with ?)."""
        properties = self.parameters.get("properties")
        names = list(properties) if isinstance(properties, Mapping) else []
        required = self.parameters.get("required")
        needed = set(required) if isinstance(required, list) else set()
        return f"{self.name}({', '.join(n if n in needed else n + '?' for n in names)})"


@dataclass(frozen=True)
class Turn:
    """One message of a conversation.

    Attributes:
        role: "system", "user", "assistant" or "tool".
        content: Its text ("" for an assistant turn that only calls tools).
        tool_calls: The calls an assistant turn makes.
        name: For a tool turn, the function whose result it is (when the row says).
        tool_call_id: For a tool turn, the id of the call it answers (when the row says).
    """

    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    name: str | None = None
    tool_call_id: str | None = None

    def message(self, *, arguments_as_text: bool = False) -> dict[str, Any]:
        """The turn as an OpenAI-shaped message.

        Args:
            arguments_as_text: Write each call's arguments as JSON text, as OpenAI's API
                takes them; chat templates take the object (they apply ``tojson``).
        """
        content: str | None = self.content
        if arguments_as_text and self.tool_calls and not content:
            content = None  # OpenAI's API: a turn that only calls tools has null content
        message: dict[str, Any] = {"role": self.role, "content": content}
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{index}",
                    "type": "function",
                    "function": {
                        "name": call.name,
                        "arguments": json.dumps(call.arguments, ensure_ascii=False)
                        if arguments_as_text
                        else dict(call.arguments),
                    },
                }
                for index, call in enumerate(self.tool_calls)
            ]
        if self.name is not None:
            message["name"] = self.name
        if self.tool_call_id is not None:
            message["tool_call_id"] = self.tool_call_id
        return message

    @property
    def speaker(self) -> str:
        """Who speaks: "User", "Assistant", "Tool (get_weather)", ..."""
        if self.role == "tool" and self.name:
            return f"Tool ({self.name})"
        return ROLE_NAMES[self.role]

    @property
    def body(self) -> str:
        """What the turn says: its text, then one "→ f({...})" line per call."""
        lines = [self.content] if self.content else []
        lines += [f"→ {call.shown()}" for call in self.tool_calls]
        return "\n".join(lines)

    def shown(self) -> str:
        """The turn as a transcript shows it: "User: ...", "Assistant → f({...})"."""
        if self.tool_calls and not self.content:
            return "\n".join(f"{self.speaker} {line}" for line in self.body.splitlines())
        return f"{self.speaker}: {self.body}"


@dataclass(frozen=True)
class Dialogue:
    """What a conversation or tool row asks of the model.

    Attributes:
        turns: The conversation the model answers, system turns first; it ends with the
            user turn the model replies to, or with the tool results it goes on from
            (an agent's next step).
        tools: The functions the model may call (empty for a plain conversation).
        expected_calls: The calls the reference expects: None when the row declares no
            tools or has no reference, () when it declares tools but expects a text answer.
    """

    turns: tuple[Turn, ...]
    tools: tuple[Tool, ...] = ()
    expected_calls: tuple[ToolCall, ...] | None = None

    @property
    def system(self) -> str | None:
        """The system turns' text, joined; None when there are none."""
        texts = [turn.content for turn in self.turns if turn.role == "system"]
        return "\n\n".join(texts) if texts else None

    @property
    def replies_to_tools(self) -> bool:
        """Whether the conversation ends with tool results rather than a user turn."""
        return self.turns[-1].role == "tool"

    @property
    def answered(self) -> str:
        """The turn the model answers as a transcript shows it ("User: ...", or the tool
        results it goes on from): what a list of examples shows, where the transcript's
        opening (the tools, the system turn) is the same on every row."""
        return self.turns[-1].shown()

    @property
    def last_user(self) -> str:
        """The text of the user turn the model replies to; empty when it goes on from tool
        results (they end the history)."""
        return "" if self.replies_to_tools else self.turns[-1].content

    @property
    def history(self) -> tuple[Turn, ...]:
        """The turns after the system turns, up to the user turn the model replies to (or
        up to the end, tool results included, when it goes on from them)."""
        turns = self.turns if self.replies_to_tools else self.turns[:-1]
        return tuple(turn for turn in turns if turn.role != "system")

    def tool(self, name: str) -> Tool | None:
        """The declared tool of that name, or None."""
        return next((tool for tool in self.tools if tool.name == name), None)

    def transcript(self) -> str:
        """The dialogue as a person reads it: the tools on one line, then one paragraph per
        turn ("User: ...", "Assistant → get_weather({...})", "Tool (get_weather): ...")."""
        parts = []
        if self.tools:
            parts.append("Tools: " + ", ".join(tool.signature() for tool in self.tools))
        parts += [turn.shown() for turn in self.turns]
        return "\n\n".join(parts)

    def identity(self) -> str:
        """Everything the model is given and expected to do, as canonical JSON: what the
        data set's fingerprint hashes, so a changed tool schema or turn is a changed data set."""
        return canonical_json(
            {
                "turns": [turn.message() for turn in self.turns],
                "tools": [tool.schema() for tool in self.tools],
                "expected_calls": None
                if self.expected_calls is None
                else [call.as_dict() for call in self.expected_calls],
            }
        )


def calls_text(calls: tuple[ToolCall, ...]) -> str:
    """The reference text of expected calls: one call as {"name", "arguments"}, several (or
    none) as a list of them (JSON, the form a reference column may hold and is read back from)."""
    values = [call.as_dict() for call in calls]
    return json.dumps(values[0] if len(values) == 1 else values, ensure_ascii=False)


TOOLS_INSTRUCTION = """\
You can call these functions (JSON schemas, one per line):
{tools}

To call a function, reply with only a JSON object: \
{{"name": <function name>, "arguments": <object of its arguments>}}. \
To call several, reply with a JSON list of such objects. Otherwise, answer as usual."""
"""How tools are put to a model whose chat template knows nothing of tools (or to a raw
prompt): in the system turn, asking for the JSON that the calls' parser reads
(assay.models.tool_calls). Part of the rendered prompt, so of every cache key."""


def tools_instruction(tools: tuple[Tool, ...]) -> str:
    """The system text that declares ``tools`` to a model without a tool-aware template;
    "" when there are none."""
    if not tools:
        return ""
    lines = "\n".join(json.dumps(tool.schema(), ensure_ascii=False) for tool in tools)
    return TOOLS_INSTRUCTION.format(tools=lines)

"""Conversation and tool rows: what they read as, what prompts they make, and every bad
input as a one-line error naming the file, the line and the field (cases/dialogue_errors.json)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from assay.data import PromptConfig, build_prompts, load_dataset
from assay.data.dialogue import Tool, ToolCall, Turn
from assay.exceptions import DataError, OptionError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tools"
CASES = json.loads((Path(__file__).parent / "cases" / "dialogue_errors.json").read_text())

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
            "required": ["city"],
        },
    },
}


OSLO_CALL = {
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
}
"""An earlier call in a conversation, as OpenAI's messages write it."""


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_openai_messages_answer_the_last_user_turn_with_the_rest_as_history(
    tmp_path: Path,
) -> None:
    row = {
        "id": "c1",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi, I'm Ana."},
            {"role": "assistant", "content": "Hello Ana!"},
            {"role": "user", "content": [{"type": "text", "text": "What's my name?"}]},
            {"role": "assistant", "content": "Ana."},
        ],
    }
    dataset = load_dataset(write_jsonl(tmp_path / "chat.jsonl", [row]))
    [example] = dataset.examples
    assert (dataset.input_field, dataset.reference_field) == ("messages", None)
    assert example.reference == "Ana."  # the final assistant turn
    assert example.input == (
        "System: Be brief.\n\nUser: Hi, I'm Ana.\n\nAssistant: Hello Ana!\n\nUser: What's my name?"
    )
    assert example.dialogue is not None and example.dialogue.expected_calls is None
    [prompt] = build_prompts(
        PromptConfig(system="Answer in English."), dataset.examples, model_has_chat_template=True
    )
    assert prompt.messages() == [
        {"role": "system", "content": "Answer in English.\n\nBe brief."},
        {"role": "user", "content": "Hi, I'm Ana."},
        {"role": "assistant", "content": "Hello Ana!"},
        {"role": "user", "content": "What's my name?"},
    ]
    assert prompt.raw_text().endswith("User: What's my name?\n\nAssistant:")


def test_sharegpt_conversations_and_a_reference_field(tmp_path: Path) -> None:
    row = {
        "conversations": [
            {"from": "human", "value": "2+2?"},
            {"from": "gpt", "value": "4"},
            {"from": "human", "value": "And 3+3?"},
        ],
        "answer": "6",
    }
    [example] = load_dataset(write_jsonl(tmp_path / "chat.jsonl", [row])).examples
    assert example.reference == "6"
    assert example.dialogue is not None
    assert [t.role for t in example.dialogue.turns] == ["user", "assistant", "user"]


def test_a_tool_row_reads_its_tools_and_expected_call(tmp_path: Path) -> None:
    rows = [
        {"question": "Weather in Oslo?", "tools": [WEATHER], "answer": {
            "name": "get_weather", "arguments": {"city": "Oslo"}}},
        {"question": "Hi!", "tools": [WEATHER], "answer": "Hello!"},
        {"question": "Oslo and Rome?", "tools": [WEATHER], "answer": [
            {"id": "1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}},
            {"name": "get_weather", "arguments": {"city": "Rome"}},
        ]},
        {"question": "Weather in Lima?", "tools": [WEATHER],
         "answer": '{"name": "get_weather", "arguments": {"city": "Lima"}}'},
    ]  # fmt: skip
    examples = load_dataset(write_jsonl(tmp_path / "tools.jsonl", rows)).examples
    one, text, two, from_text = (e.dialogue for e in examples)
    assert one is not None and one.tools == (
        Tool("get_weather", "Current weather in a city.", WEATHER["function"]["parameters"]),
    )
    assert one.expected_calls == (ToolCall("get_weather", {"city": "Oslo"}),)
    assert json.loads(examples[0].reference or "") == {
        "name": "get_weather",
        "arguments": {"city": "Oslo"},
    }
    assert text is not None and text.expected_calls == ()  # a text answer: no call expected
    assert two is not None and [c.arguments["city"] for c in two.expected_calls or ()] == [
        "Oslo",
        "Rome",
    ]
    assert from_text is not None and from_text.expected_calls == (
        ToolCall("get_weather", {"city": "Lima"}),
    )
    assert examples[0].input == "Tools: get_weather(city, unit?)\n\nUser: Weather in Oslo?"
    [prompt, *_] = build_prompts(PromptConfig(), examples, model_has_chat_template=True)
    assert prompt.tools == one.tools


def test_tool_history_and_a_final_assistant_call(tmp_path: Path) -> None:
    row = {
        "messages": [
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": None, "tool_calls": [OSLO_CALL]},
            {"role": "tool", "name": "get_weather", "content": '{"temp": -3}'},
            {"role": "assistant", "content": "It is -3 °C."},
            {"role": "user", "content": "And in Rome?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"type": "function",
                 "function": {"name": "get_weather", "arguments": {"city": "Rome"}}}]},
        ],
        "tools": [WEATHER],
    }  # fmt: skip
    [example] = load_dataset(write_jsonl(tmp_path / "tools.jsonl", [row])).examples
    dialogue = example.dialogue
    assert dialogue is not None
    assert dialogue.expected_calls == (ToolCall("get_weather", {"city": "Rome"}),)
    assert dialogue.history[0] == Turn("user", "Weather in Oslo?")
    assert dialogue.history[1].tool_calls == (ToolCall("get_weather", {"city": "Oslo"}),)
    assert "Assistant → get_weather" in example.input
    assert 'Tool (get_weather): {"temp": -3}' in example.input
    [prompt] = build_prompts(PromptConfig(), [example], model_has_chat_template=True)
    api = prompt.messages(arguments_as_text=True)
    assert api[1]["content"] is None
    assert api[1]["tool_calls"][0]["function"]["arguments"] == '{"city": "Oslo"}'
    as_text = prompt.messages(tools_as_text=True)
    assert as_text[0]["role"] == "system" and "get_weather" in as_text[0]["content"]
    assert as_text[2] == {
        "role": "assistant",
        "content": '{"name": "get_weather", "arguments": {"city": "Oslo"}}',
    }
    assert as_text[3]["role"] == "user"  # the tool result, for templates without a tool role


def test_an_agent_step_goes_on_from_the_tool_results(tmp_path: Path) -> None:
    row = {
        "messages": [
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c0", **OSLO_CALL}]},
            {"role": "tool", "tool_call_id": "c0", "name": "get_weather", "content": '{"temp": -3}'},
            {"role": "assistant", "content": "It is -3 °C in Oslo."},
        ],
        "tools": [WEATHER],
    }  # fmt: skip
    [example] = load_dataset(write_jsonl(tmp_path / "agent.jsonl", [row])).examples
    dialogue = example.dialogue
    assert dialogue is not None and dialogue.replies_to_tools
    assert example.reference == "It is -3 °C in Oslo." and dialogue.expected_calls == ()
    assert dialogue.last_user == "" and dialogue.history[-1].role == "tool"
    [prompt] = build_prompts(PromptConfig(), [example], model_has_chat_template=True)
    assert prompt.replies_to_tools
    api = prompt.messages(arguments_as_text=True)
    assert [m["role"] for m in api] == ["user", "assistant", "tool"]  # no empty user turn
    assert api[-1]["tool_call_id"] == "c0"
    as_text = prompt.messages(tools_as_text=True)
    assert as_text[-1] == {"role": "user", "content": 'Tool (get_weather): {"temp": -3}'}
    raw = prompt.raw_text()
    assert raw.endswith('Tool (get_weather): {"temp": -3}\n\nAssistant:')


def test_the_fingerprint_holds_what_the_transcript_abridges(tmp_path: Path) -> None:
    """Two data sets that differ only in a tool's description (which the transcript does
    not show) are different data sets: their runs must not resume each other."""
    row = {"question": "Weather in Oslo?", "tools": [WEATHER], "answer": "x"}
    other = json.loads(json.dumps(row))
    other["tools"][0]["function"]["description"] = "Weather, in kelvin."
    first = load_dataset(write_jsonl(tmp_path / "a.jsonl", [row]))
    second = load_dataset(write_jsonl(tmp_path / "b.jsonl", [other]))
    assert first.examples[0].input == second.examples[0].input
    assert first.fingerprint != second.fingerprint


def test_plain_rows_keep_their_fingerprint(tmp_path: Path) -> None:
    """Rows that are no dialogue hash as before, so existing runs keep resuming."""
    dataset = load_dataset(write_jsonl(tmp_path / "qa.jsonl", [{"question": "q", "answer": "a"}]))
    assert dataset.examples[0].dialogue is None
    before = hashlib.sha256(json.dumps(["0", "q", "a"]).encode() + b"\n").hexdigest()[:16]
    assert dataset.fingerprint == before


def test_the_example_set_loads() -> None:
    tools = load_dataset(EXAMPLES / "test.jsonl")
    assert len(tools) == 20
    kinds = [e.dialogue.expected_calls for e in tools if e.dialogue is not None]
    assert len(kinds) == 20 and sum(1 for calls in kinds if calls == ()) == 5
    extract = load_dataset(EXAMPLES / "extract.jsonl")
    assert all(json.loads(e.reference or "") for e in extract)


def test_thinking_markers_must_be_two_different_markers() -> None:
    with pytest.raises(OptionError, match="thinking must be two different, non-empty markers"):
        PromptConfig(thinking=("<t>", "<t>"))
    assert PromptConfig().to_dict() == {"format": "auto", "template": None, "system": None}
    assert PromptConfig(thinking=("<r>", "</r>")).to_dict()["thinking"] == ["<r>", "</r>"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_bad_dialogue_rows_name_file_line_and_field(tmp_path: Path, case: dict[str, Any]) -> None:
    path = write_jsonl(tmp_path / "rows.jsonl", case["rows"])
    with pytest.raises(DataError) as raised:
        load_dataset(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{path}, "), message
    assert case["expect"] in message, message

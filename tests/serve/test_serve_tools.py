"""Conversations and tool calls end to end on the bundled model: examples/tools/chat.jsonl
(OpenAI messages with tool history, a text answer where tools are declared, a plain
multi-turn chat) evaluated on the model directly, and again through a real `assay serve`
on loopback with the openai: backend, which sends the tools and the turns and reads the
calls back from OpenAI's ``tool_calls``. The server renders them through the same chat
template, so both runs see the same prompts and give the same answers."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import openai
import pytest
from tests.serve.conftest import NAME

import assay
from assay.models.hf import HFModel
from assay.runs import Run
from assay.serve import BackgroundServer

pytestmark = pytest.mark.slow  # a real model, and a real server

CHAT = Path(__file__).resolve().parents[2] / "examples" / "tools" / "chat.jsonl"
METRICS = ["tool_name", "tool_args", "tool_call_valid", "contains"]
TOOLS = next(json.loads(line) for line in CHAT.read_text().splitlines())["tools"]


def _evaluate(model: str | HFModel, store: Path) -> Run:
    return assay.evaluate(model, CHAT, METRICS, store=str(store), max_new_tokens=48, name="chat")


@pytest.fixture(scope="module")
def direct(smol: HFModel, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _evaluate(smol, tmp_path_factory.mktemp("direct") / "store.db")


def test_conversation_and_tool_rows_on_the_bundled_model(direct: Run) -> None:
    results = {r.example_id: r for r in direct.results}
    assert direct.info.status == "complete" and len(results) == 4
    # Tools and the tool history went through the chat template (SmolLM2's knows no
    # tools: they are described in the system turn, earlier calls written as JSON).
    prompt = results["chat-002"].prompt
    assert prompt.startswith("<|im_start|>system\nYou are a travel assistant.")
    assert '{"type": "function", "function": {"name": "get_weather"' in prompt
    assert '<|im_start|>assistant\n{"name": "get_weather", "arguments": {"city": "Oslo"}}' in prompt
    assert prompt.endswith("And in Lisbon, in fahrenheit?<|im_end|>\n<|im_start|>assistant\n")
    # Given two calls in its history, the model calls the tool for Paris.
    assert results["chat-001"].scores["tool_name"].value == 1.0, results["chat-001"].prediction
    assert results["chat-001"].scores["tool_args"].value == 1.0
    # The plain chat is no tool row: unscored by the tool metrics, scored by the others.
    plain = results["chat-004"]
    assert math.isnan(plain.scores["tool_name"].value)
    assert not math.isnan(plain.scores["contains"].value)
    assert "Assistant: Nice to meet you, Ana!" in plain.input  # a transcript, not JSON
    summary = direct.summary()
    assert summary.loc["tool_name", "n"] == 3 and summary.loc["tool_name", "unscored"] == 1
    assert summary.loc["contains", "n"] == 4


def test_the_same_rows_through_assay_serve(
    direct: Run, server: BackgroundServer, tmp_path: Path
) -> None:
    served = _evaluate(f"openai:{NAME}@{server.base_url}", tmp_path / "store.db")
    assert served.info.status == "complete"
    ours = {r.example_id: r for r in direct.results}
    for result in served.results:
        mine = ours[result.example_id]
        # The server rendered the same conversation and tools: as many prompt tokens.
        assert result.prompt_tokens == mine.prompt_tokens, result.example_id
        for metric in METRICS:
            a, b = result.scores[metric].value, mine.scores[metric].value
            assert a == b or (math.isnan(a) and math.isnan(b)), (metric, result.example_id)
    call = next(r for r in served.results if r.example_id == "chat-001")
    assert json.loads(call.prediction) == {"name": "get_weather", "arguments": {"city": "Paris"}}


def weather_history(city: str) -> list[Any]:
    """Two earlier calls and their results, then a question about ``city``."""
    messages: list[Any] = [{"role": "system", "content": "Call a tool when one can."}]
    for index, earlier in enumerate(["Oslo", "Rome"]):
        arguments = json.dumps({"city": earlier})
        function = {"name": "get_weather", "arguments": arguments}
        messages += [
            {"role": "user", "content": f"What's the weather in {earlier}?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": f"c{index}", "type": "function", "function": function}]},
            {"role": "tool", "tool_call_id": f"c{index}", "content": '{"temp_c": 5}'},
            {"role": "assistant", "content": "It is 5 °C."},
        ]  # fmt: skip
    messages.append({"role": "user", "content": f"What's the weather in {city}?"})
    return messages


def test_serve_returns_calls_in_openai_shape(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model=NAME, messages=weather_history("Paris"), tools=TOOLS, max_tokens=32, temperature=0
    )
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    # tool_choice "none": no tools offered, so the same question is answered in text.
    without = client.chat.completions.create(
        model=NAME,
        messages=weather_history("Paris"),
        tools=TOOLS,
        tool_choice="none",
        max_tokens=8,
        temperature=0,
    )
    assert without.choices[0].message.tool_calls is None
    assert without.choices[0].finish_reason in ("stop", "length")


def test_an_agent_loop_sends_the_tool_result_back(client: openai.OpenAI) -> None:
    """The agent's second request ends with the tool's result; the model goes on from it."""
    messages = weather_history("Paris")
    first = client.chat.completions.create(
        model=NAME, messages=messages, tools=TOOLS, max_tokens=32, temperature=0
    )
    [call] = first.choices[0].message.tool_calls or []
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 18}'},
    ]
    second = client.chat.completions.create(
        model=NAME, messages=messages, tools=TOOLS, max_tokens=24, temperature=0
    )
    choice = second.choices[0]
    assert choice.finish_reason in ("stop", "length", "tool_calls")
    assert choice.message.content or choice.message.tool_calls  # an answer, not a refusal
    assert first.usage and second.usage  # the result and the call are in the prompt
    assert second.usage.prompt_tokens > first.usage.prompt_tokens


@pytest.mark.parametrize(
    ("extra", "param", "fragment"),
    [
        ({"stream": True}, "stream", "streaming with tools is not supported"),
        ({"tool_choice": "required"}, "tool_choice", 'tool_choice other than "auto"'),
        (
            {
                "tools": [
                    {"type": "function", "function": {"name": "f", "parameters": {"type": "obj"}}}
                ]
            },
            "tools",
            "the field 'tools[0].function.parameters' is not a valid JSON Schema",
        ),
    ],
    ids=["stream", "tool_choice", "bad schema"],
)
def test_serve_refuses_what_it_cannot_do_with_tools(
    client: openai.OpenAI, extra: dict[str, object], param: str, fragment: str
) -> None:
    body = {"model": NAME, "messages": weather_history("Paris"), "tools": TOOLS} | extra
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(**body)
    error = raised.value.body
    assert isinstance(error, dict) and error["param"] == param
    assert fragment in error["message"]

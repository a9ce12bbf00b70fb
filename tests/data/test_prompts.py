"""Prompt building: formats, templates, and templates that do not fit the data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assay.data import Example, Prompt, PromptConfig, build_prompts, load_template
from assay.exceptions import PromptError

EXAMPLES = [
    Example("0", "What is assay?", "A toolkit.", {"question": "What is assay?", "topic": "cli"}),
    Example("1", "What is a run?", "A result.", {"question": "What is a run?", "topic": "store"}),
]


def build(config: PromptConfig, *, chat_template: bool = True) -> list[Prompt]:
    return build_prompts(config, EXAMPLES, model_has_chat_template=chat_template)


def test_no_template_sends_the_input() -> None:
    prompts = build(PromptConfig(system="Be brief."))
    assert prompts == [
        Prompt("What is assay?", "Be brief.", chat=True),
        Prompt("What is a run?", "Be brief.", chat=True),
    ]


def test_template_fills_fields_and_keeps_literal_braces() -> None:
    template = "### Question ({topic}):\n{question}\n{{not a field}}\n### Answer:"
    prompts = build(PromptConfig(template=template))
    assert prompts[1].content == "### Question (store):\nWhat is a run?\n{not a field}\n### Answer:"


@pytest.mark.parametrize(
    ("prompt_format", "template", "chat_template", "chat"),
    [
        ("auto", None, True, True),
        ("auto", None, False, False),
        ("auto", "Q: {question}", True, False),  # a course-style template is raw text
        ("chat", "Q: {question}", True, True),
        ("raw", None, True, False),
        ("raw", None, False, False),
    ],
)
def test_chat_or_raw(
    prompt_format: str, template: str | None, chat_template: bool, chat: bool
) -> None:
    config = PromptConfig(format=prompt_format, template=template)  # type: ignore[arg-type]
    assert all(prompt.chat is chat for prompt in build(config, chat_template=chat_template))


def test_chat_format_without_a_chat_template() -> None:
    with pytest.raises(PromptError, match=r"no chat template.*--prompt-format raw"):
        build(PromptConfig(format="chat"), chat_template=False)


def test_unknown_format() -> None:
    with pytest.raises(PromptError, match="unknown prompt format 'Chat'"):
        PromptConfig(format="Chat")  # type: ignore[arg-type]


def test_placeholder_that_is_not_a_field() -> None:
    with pytest.raises(PromptError) as caught:
        build(PromptConfig(template="Q: {questoin}"))
    message = str(caught.value)
    assert "{questoin}" in message and "question, topic" in message


def test_placeholder_present_in_some_rows_only() -> None:
    examples = [*EXAMPLES, Example("2", "q", None, {"question": "q", "context": None})]
    with pytest.raises(
        PromptError, match=re.escape("example 0: the template placeholder {context}")
    ):
        build_prompts(
            PromptConfig(template="{context} {question}"), examples, model_has_chat_template=True
        )


@pytest.mark.parametrize("template", ["Q: {}", "Q: {0}", "Q: {0.x}"])
def test_positional_placeholder(template: str) -> None:
    with pytest.raises(PromptError, match="positional placeholder"):
        build(PromptConfig(template=template))


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("Q: {question:>99999999999}", "{question:>99999999999} has a format spec (:>99999999999)"),
        ("Q: {question:10}", "{question:10} has a format spec"),
        ("Q: {topic:{question}}", "{topic:{question}} has a format spec"),
        ("Q: {question!r}", "{question!r} has a conversion (!r)"),
        ("Q: {question!s:>5}", "{question!s:>5} has a conversion"),
        ("Q: {question[0]}", "{question[0]} is not a plain field name"),
        ("Q: {question.__class__}", "{question.__class__} is not a plain field name"),
        (
            "{question.__class__.__init__.__globals__}",
            "{question.__class__.__init__.__globals__} is not a plain field name",
        ),
    ],
)
def test_placeholder_is_a_field_name_and_nothing_else(template: str, problem: str) -> None:
    with pytest.raises(PromptError, match=re.escape(f"the template placeholder {problem}")):
        build(PromptConfig(template=template))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            dict(template="Q: {question} \udcff"),
            "the template is not valid text: it holds the byte 0xff at character 15",
        ),
        (
            dict(system="\ud800 sys"),
            "the system prompt is not valid text: it holds \\ud800 at character 1",
        ),
    ],
)
def test_text_that_is_not_text(config: dict[str, str], message: str) -> None:
    with pytest.raises(PromptError, match=re.escape(message)):
        PromptConfig(**config)  # type: ignore[arg-type]


def test_list_and_object_values_are_filled_as_json() -> None:
    example = Example("0", "q", None, {"question": "q", "choices": ["a", "é"], "n": 3})
    prompts = build_prompts(
        PromptConfig(template="{question} {choices} {n}"), [example], model_has_chat_template=False
    )
    assert prompts[0].content == 'q ["a", "é"] 3'


@pytest.mark.parametrize("template", ["Q: no placeholder", "Q: {{literal}}"])
def test_template_without_placeholders(template: str) -> None:
    with pytest.raises(PromptError, match=re.escape("no {field} placeholder")):
        build(PromptConfig(template=template))


def test_unbalanced_brace() -> None:
    with pytest.raises(PromptError, match="not valid"):
        build(PromptConfig(template="Q: {question"))


def test_no_examples_no_prompts() -> None:
    config = PromptConfig(template="{anything}")
    assert build_prompts(config, [], model_has_chat_template=True) == []


def test_to_dict() -> None:
    config = PromptConfig(format="raw", template="{question}", system="s")
    assert config.to_dict() == {"format": "raw", "template": "{question}", "system": "s"}
    assert PromptConfig().to_dict() == {"format": "auto", "template": None, "system": None}


def test_raw_text_puts_the_system_prompt_first() -> None:
    assert Prompt("Q", "S").raw_text() == "S\n\nQ"
    assert Prompt("Q").raw_text() == "Q"


def test_load_template_turns_escapes_into_newlines() -> None:
    value = r"### Question:\n{question}\n\n### Answer:\t"
    assert load_template(value) == "### Question:\n{question}\n\n### Answer:\t"


def test_load_template_reads_a_file_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "template.txt"
    path.write_text("Q: {question}\\n\nA:", encoding="utf-8")
    assert load_template(str(path)) == "Q: {question}\\n\nA:"


def test_load_template_with_text_too_long_for_a_file_name() -> None:
    value = "x" * 5000 + "{question}"
    assert load_template(value) == value

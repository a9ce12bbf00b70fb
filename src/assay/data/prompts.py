"""Turning examples into prompts: the model's chat template, raw text, or a user template.

A user template is plain text with ``{field}`` placeholders filled from each
example's fields (``{{`` and ``}}`` are literal braces). A placeholder is a
field name and nothing else: Python's format specs (``{question:>9}``),
conversions (``{question!r}``) and attribute or index access
(``{question.__class__}``, ``{question[0]}``) are refused, since they let a
template reach into objects or ask for gigabytes of padding. A value is filled
in as its text; a list or object value as its JSON. Whether the result is
wrapped in the model's chat template is the prompt *format*: "chat", "raw", or
"auto", which chats only when the model has a chat template and no user
template was given, because a course-style template ("### Question: ...") is
raw text the model was fine-tuned on.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from assay.data.dialogue import Tool, Turn, tools_instruction
from assay.data.example import Example
from assay.data.values import SURROGATE, shown
from assay.exceptions import OptionError, PromptError

PromptFormat = Literal["auto", "chat", "raw"]

DEFAULT_THINKING = ("<think>", "</think>")
"""The markers reasoning models (DeepSeek-R1, Qwen3, ...) put around their thinking."""


@dataclass(frozen=True)
class Prompt:
    """What one example asks the model, before any model-specific formatting.

    Attributes:
        content: The user turn (chat) or the whole text after the system prompt (raw);
            empty when the model goes on from tool results that end `history`.
        system: An optional system prompt.
        chat: True to wrap content in the model's chat template; False to send text as is.
        example: The example this prompt asks about (backends that look answers
            up, like replay, match on its id or input).
        history: Earlier turns of a conversation, between the system prompt and
            `content` (a conversation row's, or a whole conversation `assay serve` was sent).
        tools: Functions the model may call (a tool row's declarations).
    """

    content: str
    system: str | None = None
    chat: bool = True
    example: Example | None = field(default=None, compare=False, repr=False)
    history: tuple[Turn, ...] = ()
    tools: tuple[Tool, ...] = ()

    @property
    def replies_to_tools(self) -> bool:
        """Whether the conversation ends with tool results (the last turns of `history`,
        no user turn after them): the model's turn is an agent's next step."""
        return not self.content and bool(self.history) and self.history[-1].role == "tool"

    def messages(
        self, *, tools_as_text: bool = False, arguments_as_text: bool = False
    ) -> list[dict[str, Any]]:
        """The conversation as chat-template messages: system, earlier turns, the user turn
        (none when the conversation ends with tool results).

        Args:
            tools_as_text: For a chat template that knows nothing of tools: the tools are
                described in the system turn (:func:`tools_instruction`), earlier calls are
                written as the JSON it asks for, and tool results become user turns, so
                that no template drops them or refuses a role it does not know.
            arguments_as_text: Earlier calls' arguments as JSON text, as OpenAI's API takes
                them (chat templates take the object).
        """
        if tools_as_text:
            return self._messages_with_tools_as_text()
        messages = [turn.message(arguments_as_text=arguments_as_text) for turn in self.history]
        if not self.replies_to_tools:
            messages.append({"role": "user", "content": self.content})
        if self.system:
            messages.insert(0, {"role": "system", "content": self.system})
        return messages

    def _messages_with_tools_as_text(self) -> list[dict[str, Any]]:
        system = "\n\n".join(text for text in (self.system, tools_instruction(self.tools)) if text)
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
        for turn in self.history:
            if turn.role == "tool":
                result = f"{turn.shown()}"
                if messages and messages[-1]["role"] == "user":  # several results in a row
                    messages[-1]["content"] += "\n\n" + result
                else:
                    messages.append({"role": "user", "content": result})
                continue
            text = "\n".join(
                [turn.content] * bool(turn.content)
                + [json.dumps(call.as_dict(), ensure_ascii=False) for call in turn.tool_calls]
            )
            messages.append({"role": turn.role, "content": text})
        if not self.replies_to_tools:
            messages.append({"role": "user", "content": self.content})
        return messages

    def raw_text(self) -> str:
        """The text sent when no chat template applies: the system prompt and the content;
        for a conversation, its transcript ending in "Assistant:" for the model to go on."""
        if not self.history and not self.tools:
            return f"{self.system}\n\n{self.content}" if self.system else self.content
        parts = [text for text in (self.system, tools_instruction(self.tools)) if text]
        parts += [turn.shown() for turn in self.history]
        if not self.replies_to_tools:
            parts.append(Turn("user", self.content).shown())
        parts.append("Assistant:")
        return "\n\n".join(parts)


@dataclass(frozen=True)
class PromptConfig:
    """How examples become prompts; stored with every run so it can be repeated.

    Attributes:
        format: "chat" to use the model's chat template, "raw" to send text as
            is, "auto" to chat only when the model has a chat template and no
            template is given.
        template: Text with ``{field}`` placeholders, or None to send each
            example's input unchanged.
        system: A system prompt, or None.
        thinking: The markers around a reasoning model's thinking, (open, close): the
            text between them is kept in the stored prediction but left out of scoring
            (see assay.metrics.thinking).
    """

    format: PromptFormat = "auto"
    template: str | None = None
    system: str | None = None
    thinking: tuple[str, str] = DEFAULT_THINKING

    def __post_init__(self) -> None:
        opening, closing = self.thinking
        if not opening or not closing or opening == closing:
            raise OptionError(
                "thinking",
                f"must be two different, non-empty markers (open, close), got {self.thinking!r}",
            )
        if self.format not in get_args(PromptFormat):
            raise PromptError(
                f"unknown prompt format '{self.format}'; "
                f"use one of {', '.join(get_args(PromptFormat))} (--prompt-format)"
            )
        for what, text in (("template", self.template), ("system prompt", self.system)):
            bad = SURROGATE.search(text or "")
            if bad:  # what a command line makes of bytes that are not UTF-8
                raise PromptError(
                    f"the {what} is not valid text: it holds {_as_byte(bad.group())} at "
                    f"character {bad.start() + 1} (a byte that is not UTF-8, or half of a "
                    "surrogate pair); write it as UTF-8 text"
                )

    def to_dict(self) -> dict[str, Any]:
        """The config as plain values, for the run store and the run key (the thinking
        markers only when they are not the default, so earlier runs keep their keys)."""
        data: dict[str, Any] = {
            "format": self.format,
            "template": self.template,
            "system": self.system,
        }
        if self.thinking != DEFAULT_THINKING:
            data["thinking"] = list(self.thinking)
        return data


def _as_byte(character: str) -> str:
    """A surrogate as the byte it stands for (a command line's undecodable byte) or its escape."""
    code = ord(character)
    return f"the byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def load_template(value: str) -> str:
    """A template from the command line: a file's text, or the text itself.

    Shells make newlines awkward to type, so in text given directly (not in a
    file) the escapes ``\\n`` and ``\\t`` become a newline and a tab:
    ``--template "### Question:\\n{question}\\n\\n### Answer:"``.
    """
    path = Path(value).expanduser()
    try:
        is_file = path.is_file()
    except (OSError, ValueError):  # text too long or odd to be a file name
        is_file = False
    if is_file:
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise PromptError(f"{value}: the template file cannot be read ({error})") from None
    return value.replace("\\n", "\n").replace("\\t", "\t")


def build_prompts(
    config: PromptConfig, examples: Sequence[Example], *, model_has_chat_template: bool
) -> list[Prompt]:
    """One prompt per example, in order.

    The template is checked against the data before any prompt is built, so a
    misspelt placeholder fails at once instead of after a model has loaded.

    Raises:
        PromptError: The template does not fit the data, or "chat" was asked of
            a model that has no chat template.
    """
    chat = _use_chat(config, model_has_chat_template=model_has_chat_template)
    if config.template is None:
        return [_prompt(example.input, config, chat, example) for example in examples]
    parts = _parse(config.template)
    _check_placeholders([name for _, name in parts if name is not None], examples)
    return [_prompt(_fill(parts, example), config, chat, example) for example in examples]


def _prompt(content: str, config: PromptConfig, chat: bool, example: Example) -> Prompt:
    """One example's prompt. A dialogue's last user turn is the content (or the template's
    text, which then replaces it), its earlier turns the history; its system turns follow
    the configured system prompt."""
    dialogue = example.dialogue
    if dialogue is None:
        return Prompt(content, config.system, chat, example)
    if config.template is None:
        content = dialogue.last_user
    system = "\n\n".join(text for text in (config.system, dialogue.system) if text) or None
    return Prompt(content, system, chat, example, dialogue.history, dialogue.tools)


def _use_chat(config: PromptConfig, *, model_has_chat_template: bool) -> bool:
    if config.format == "chat" and not model_has_chat_template:
        raise PromptError(
            "--prompt-format chat was asked, but the model has no chat template; "
            "use --prompt-format raw (or auto) to send the text as is"
        )
    if config.format == "auto":
        return model_has_chat_template and config.template is None
    return config.format == "chat"


def _parse(template: str) -> list[tuple[str, str | None]]:
    """The template as (literal text, field name or None) pieces, each placeholder checked."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise PromptError(
            f"the template is not valid ({error}); write literal braces as {{{{ and }}}}"
        ) from None
    parts: list[tuple[str, str | None]] = []
    for literal, field_name, spec, conversion in parsed:
        if field_name is not None:
            _check_plain(field_name, spec, conversion)
        parts.append((literal, field_name))
    if all(name is None for _, name in parts):
        raise PromptError(
            "the template has no {field} placeholder, so every prompt would be the same; "
            "if it was meant to be a file, that file does not exist"
        )
    return parts


def _check_plain(field_name: str, spec: str | None, conversion: str | None) -> None:
    """A placeholder must be a field name: no format spec, conversion, attribute or index."""
    placeholder = "{" + field_name + (f"!{conversion}" if conversion else "")
    placeholder = shown(placeholder + (f":{spec}" if spec else "") + "}")
    root = field_name.split(".", 1)[0].split("[", 1)[0]
    if not root or root.isdigit():
        raise PromptError(
            f"the template has a positional placeholder '{placeholder}'; "
            "name a field instead, like {question}"
        )
    problem = None
    if conversion is not None:
        problem = f"has a conversion (!{conversion})"
    elif spec:
        problem = f"has a format spec (:{spec})"
    elif root != field_name:
        problem = "is not a plain field name (it reaches into the value with . or [ ])"
    if problem is not None:
        raise PromptError(
            f"the template placeholder {placeholder} {problem}; a placeholder is a field name "
            "and nothing else, like {question}"
        )


def _check_placeholders(placeholders: Sequence[str], examples: Sequence[Example]) -> None:
    """Every placeholder must be a field of the data (checked on the union of all rows)."""
    if not examples:
        return
    available: dict[str, None] = dict.fromkeys(examples[0].fields)
    for example in examples[1:]:
        available.update(dict.fromkeys(example.fields))
    for name in placeholders:
        if name not in available:
            raise PromptError(
                f"the template placeholder {{{name}}} is not a field of the data; "
                f"the fields are: {', '.join(available) or '(none)'}"
            )


def _fill(parts: Sequence[tuple[str, str | None]], example: Example) -> str:
    fields: Mapping[str, Any] = example.fields
    pieces = []
    for literal, name in parts:
        pieces.append(literal)
        if name is None:
            continue
        value = fields.get(name)
        if value is None:
            raise PromptError(
                f"example {example.id}: the template placeholder {{{name}}} has no value "
                "in this example"
            )
        pieces.append(_as_text(value))
    return "".join(pieces)


def _as_text(value: Any) -> str:
    """A field's value as a prompt shows it: text as is, lists and objects as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, Mapping)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)

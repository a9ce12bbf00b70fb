"""Response bodies and stream chunks, shaped as OpenAI sends them.

Chat: ``chat.completion`` with ``message`` and ``logprobs.content`` (token, logprob,
bytes, top_logprobs); streamed as ``chat.completion.chunk`` objects whose first delta
carries the role. Completions: ``text_completion`` with the legacy ``logprobs``
(tokens, token_logprobs, top_logprobs, text_offset). With
``stream_options.include_usage`` every chunk has ``usage: null`` and one last chunk,
with no choices, has the counts. A chat request that offered tools gets the calls read
from the answer (assay.models.tool_calls, the model family's format or JSON) as OpenAI's
``message.tool_calls``, arguments as JSON text, and ``finish_reason`` "tool_calls"; an
answer whose call cannot be read is sent back as text, as vLLM does.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from assay.data.dialogue import Tool
from assay.models.tool_calls import parse_calls
from assay.serve.streaming import Choice, Token


@dataclass
class Usage:
    """Tokens counted for one request: each prompt once, every choice's completion."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    def body(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


@dataclass
class Envelope:
    """What every response and chunk of one request shares."""

    kind: str  # "chat.completion" or "text_completion"
    model: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:24])
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def chat(self) -> bool:
        return self.kind == "chat.completion"

    def body(self, choices: list[dict[str, Any]], usage: Usage | None) -> dict[str, Any]:
        prefix = "chatcmpl" if self.chat else "cmpl"
        data: dict[str, Any] = {
            "id": f"{prefix}-{self.id}",
            "object": self.kind,
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": choices,
        }
        if usage is not None:
            data["usage"] = usage.body()
        return data

    def chunk(self, choices: list[dict[str, Any]], usage: Usage | None, with_usage: bool) -> str:
        """One server-sent event."""
        data = self.body(choices, None)
        if self.chat:
            data["object"] = "chat.completion.chunk"
        if with_usage:
            data["usage"] = usage.body() if usage is not None else None
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


DONE = "data: [DONE]\n\n"


def chat_choice(
    index: int, choice: Choice, logprobs: bool, tools: Sequence[Tool] = ()
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": choice.generation.text}
    finish: str = choice.generation.finish_reason
    if tools:
        parsed = parse_calls(choice.generation.text)
        if parsed.calls and parsed.problem is None:
            message["content"] = None
            message["tool_calls"] = [
                {
                    "id": f"call_{uuid.uuid4().hex[:24]}",
                    "type": "function",
                    "function": {
                        "name": call.name,
                        "arguments": json.dumps(call.arguments, ensure_ascii=False),
                    },
                }
                for call in parsed.calls
            ]
            if finish == "stop":
                finish = "tool_calls"
    return {
        "index": index,
        "message": message,
        "logprobs": {"content": chat_logprobs(choice.tokens)} if logprobs else None,
        "finish_reason": finish,
    }


def chat_delta(
    index: int, text: str, tokens: Sequence[Token], logprobs: bool, finish: str | None
) -> dict[str, Any]:
    delta = {"content": text} if text or finish is None else {}
    return {
        "index": index,
        "delta": delta,
        "logprobs": {"content": chat_logprobs(tokens)} if logprobs and tokens else None,
        "finish_reason": finish,
    }


def chat_logprobs(tokens: Sequence[Token]) -> list[dict[str, Any]]:
    return [
        {
            "token": token.text,
            "logprob": token.logprob,
            "bytes": list(token.text.encode()),
            "top_logprobs": [
                {"token": text, "logprob": value, "bytes": list(text.encode())}
                for text, value in token.top
            ],
        }
        for token in tokens
    ]


def completion_choice(
    index: int,
    text: str,
    finish: str | None,
    logprobs: dict[str, Any] | None,
) -> dict[str, Any]:
    return {"index": index, "text": text, "logprobs": logprobs, "finish_reason": finish}


def completion_logprobs(tokens: Sequence[Token], offset: int) -> dict[str, Any]:
    """The legacy logprobs object over the tokens given (the echoed prompt's, whose first has
    no log-probability, then the generated ones), with their character offsets. Each
    position's top_logprobs holds its token too, as vLLM's do."""
    offsets = []
    for token in tokens:
        offsets.append(offset)
        offset += len(token.text)
    tops: list[dict[str, float] | None] = []
    for token in tokens:
        if token.logprob is None:
            tops.append(None)
            continue
        top: dict[str, float] = {}
        for text, value in token.top:
            top.setdefault(text, value)  # likeliest first: two tokens of one text keep the higher
        top.setdefault(token.text, token.logprob)
        tops.append(top)
    return {
        "tokens": [t.text for t in tokens],
        "token_logprobs": [t.logprob for t in tokens],
        "top_logprobs": tops,
        "text_offset": offsets,
    }

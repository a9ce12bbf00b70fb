"""The requests /v1/chat/completions and /v1/completions take, and what they resolve to.

Parsing is pydantic's (a wrong type is a 400 naming the field); the rules on values are
the library's own (GenerationParams: max_tokens at least 1, temperature 0 or more and
finite, top_p in (0, 1], no empty stop string), reported with OpenAI's parameter names.
The server adds what only it can check: the model's name, the context length,
parameters it does not support (refused, never silently ignored).

Tools: a chat request's ``tools`` (OpenAI function schemas, read by the data loader's
rule, assay.data.conversations) go to the model with the conversation, through its chat
template where it takes tools, else described in the system turn; earlier ``tool_calls``
and ``tool`` results are turns of the conversation. The answer is read back into calls
(assay.models.tool_calls) by responses.chat_choice. ``tool_choice`` "auto" (the default)
and "none" (no tools offered) are taken; forcing a call is not, nor streaming with tools.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, field_validator

from assay.data.conversations import read_call, read_tools
from assay.data.dialogue import Role, Tool, ToolCall, Turn
from assay.data.prompts import Prompt
from assay.exceptions import AssayError, DataError
from assay.models.base import GenerationParams
from assay.serve.engine import ServedModel
from assay.serve.openai_errors import OpenAIError, bad_request, from_library

MAX_CHOICES = 16
"""Most choices (n) one request may ask for."""
MAX_ALTERNATIVES = 20
"""Most likeliest tokens per position (top_logprobs, or logprobs on /v1/completions)."""
MAX_STOPS = 16


class _Body(BaseModel):
    """A part of a request body. Text must be text: a lone surrogate (``"\\ud800"``, which
    JSON can spell but UTF-8 cannot) is refused where it stands, before any tokenizer sees it."""

    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="after")
    @classmethod
    def _text_is_text(cls, value: object) -> object:
        pending = [value]
        while pending:
            item = pending.pop()
            if isinstance(item, str):
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    raise ValueError("holds a lone surrogate, which is not text") from None
            elif isinstance(item, list | tuple):
                pending.extend(item)
            elif isinstance(item, dict):
                pending.extend(item.keys())
                pending.extend(item.values())
        return value


class StreamOptions(_Body):
    include_usage: bool = False


class _Request(_Body):
    """What both endpoints take. Unknown fields are ignored, as OpenAI-compatible servers do;
    known ones that would change the answer and are not supported are refused."""

    model: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    n: int = 1
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None

    def check_common(self, served_name: str) -> None:
        if self.model is not None and self.model != served_name:
            raise OpenAIError(
                404,
                f"The model `{self.model}` does not exist; this server serves `{served_name}`.",
                param="model",
                code="model_not_found",
            )
        if not 1 <= self.n <= MAX_CHOICES:
            raise bad_request(f"n must be from 1 to {MAX_CHOICES}, got {self.n}", "n")
        for name in ("presence_penalty", "frequency_penalty"):
            if getattr(self, name):
                raise _unsupported(name)
        if self.logit_bias:
            raise _unsupported("logit_bias")
        if self.stream_options is not None and not self.stream:
            raise bad_request(
                "stream_options is only allowed when stream is true", "stream_options"
            )
        stops = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        if len(stops) > MAX_STOPS:
            raise bad_request(f"stop takes at most {MAX_STOPS} strings", "stop")

    def generation_params(self, max_new_tokens: int, param: str) -> GenerationParams:
        """The library's parameters; its rules, reported under this request's names."""
        stop = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        try:
            return GenerationParams(
                max_new_tokens=max_new_tokens,
                temperature=1.0 if self.temperature is None else self.temperature,
                top_p=1.0 if self.top_p is None else self.top_p,
                stop=tuple(stop),
                seed=self.seed or 0,
                truncate=False,
            )
        except AssayError as error:
            raise from_library(error, {"max_tokens": param}) from None

    @property
    def fresh_seed(self) -> bool:
        return self.seed is None and self.temperature != 0

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage


class ContentPart(_Body):
    type: str
    text: str | None = None


class Message(_Body):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    tool_calls: list[Any] | None = None
    tool_call_id: str | None = None
    name: str | None = None

    def calls(self, where: str) -> tuple[ToolCall, ...]:
        """An assistant message's calls, read as the data loader reads them."""
        if not self.tool_calls:
            return ()
        if self.role != "assistant":
            raise bad_request(f"{where}.tool_calls: only assistant messages call tools", where)
        try:
            return tuple(
                read_call("request", f"{where}.tool_calls[{i}]", call)
                for i, call in enumerate(self.tool_calls)
            )
        except DataError as error:
            raise bad_request(str(error), f"{where}.tool_calls") from None

    def text(self, where: str) -> str:
        if not isinstance(self.content, list):
            return self.content or ""
        for part in self.content:
            if part.type != "text":
                raise bad_request(f"{where}: only text content is supported", where)
        return "".join(part.text or "" for part in self.content)


class ResponseFormat(_Body):
    type: str = "text"


@dataclass(frozen=True)
class Plan:
    """A request resolved: what to run and how to answer.

    Attributes:
        prompts: One per prompt (a chat has one; /v1/completions may send several).
        prompt_ids: Each prompt's token ids (None where the model does not say).
        params: How to generate; None when nothing is generated (echo with max_tokens 0).
        n: Choices per prompt.
        logprobs: Alternatives per generated token; None for no log-probabilities.
        prompt_logprobs: Alternatives per prompt token (echo with logprobs); None for none.
        echo: Put the prompt before each choice's text.
        stream: Answer as server-sent events.
        include_usage: A last streamed chunk with the token counts.
        fresh_seed: Sampling without a seed: a new seed each time, so asking again gives
            another answer (as OpenAI's), not the same one.
    """

    prompts: tuple[Prompt, ...]
    prompt_ids: tuple[tuple[int, ...] | None, ...]
    params: GenerationParams | None
    n: int
    logprobs: int | None
    prompt_logprobs: int | None = None
    echo: bool = False
    stream: bool = False
    include_usage: bool = False
    fresh_seed: bool = False
    tools: tuple[Tool, ...] = ()


class ChatRequest(_Request):
    messages: list[Message]
    max_completion_tokens: int | None = None
    logprobs: bool | None = False
    top_logprobs: int | None = None
    tools: list[object] | None = None
    tool_choice: str | dict[str, Any] | None = None
    functions: list[object] | None = None
    response_format: ResponseFormat | None = None

    def resolve(self, served: ServedModel, name: str, default_max_tokens: int) -> Plan:
        """Check everything, render the conversation, size the completion."""
        self.check_common(name)
        if self.functions:
            raise _unsupported("functions (the older form of tools; send tools)", "functions")
        tools = self._tools()
        if self.response_format is not None and self.response_format.type != "text":
            raise _unsupported("response_format", "response_format")
        if self.top_logprobs is not None:
            if not self.logprobs:
                raise bad_request("top_logprobs needs logprobs set to true", "top_logprobs")
            _alternatives(self.top_logprobs, "top_logprobs")
        if self.logprobs:
            served.require_local("log-probabilities")
        prompt = self._prompt(tools)
        try:
            ids = served.encode(prompt)
        except AssayError as error:
            raise from_library(error) from None
        param = "max_completion_tokens" if self.max_completion_tokens is not None else "max_tokens"
        requested = (
            self.max_completion_tokens
            if self.max_completion_tokens is not None
            else self.max_tokens
        )
        size = _completion_size(served, [ids], requested, param, default_max_tokens, "messages")
        return Plan(
            prompts=(prompt,),
            prompt_ids=(None if ids is None else tuple(ids),),
            params=self.generation_params(size, param),
            n=self.n,
            logprobs=(self.top_logprobs or 0) if self.logprobs else None,
            stream=self.stream,
            include_usage=self.include_usage,
            fresh_seed=self.fresh_seed,
            tools=tools,
        )

    def _tools(self) -> tuple[Tool, ...]:
        """The functions offered to the model (none with tool_choice "none")."""
        choice = self.tool_choice
        if choice is not None and choice not in ("auto", "none"):
            raise _unsupported('tool_choice other than "auto" or "none"', "tool_choice")
        if not self.tools or choice == "none":
            return ()
        if self.stream:
            raise _unsupported("streaming with tools", "stream")
        try:
            return read_tools("request", self.tools)
        except DataError as error:
            raise bad_request(str(error), "tools") from None

    def _prompt(self, tools: tuple[Tool, ...] = ()) -> Prompt:
        """System messages first, then the turns; the last is the user's, or tool results
        (the model goes on from them: an agent's next step)."""
        if not self.messages:
            raise bad_request("messages must hold at least one message", "messages")
        system: list[str] = []
        turns: list[Turn] = []
        for index, message in enumerate(self.messages):
            where = f"messages[{index}]"
            text = message.text(f"{where}.content")
            role = "system" if message.role == "developer" else message.role
            if role == "system" and not turns:
                system.append(text)
                continue
            name = message.name if role == "tool" else None
            turns.append(
                Turn(cast(Role, role), text, message.calls(where), name, message.tool_call_id)
            )
        if not turns or turns[-1].role not in ("user", "tool"):
            raise bad_request("the last message must be from the user or a tool", "messages")
        if turns[-1].role == "tool":
            history, content = tuple(turns), ""
        else:
            history, content = tuple(turns[:-1]), turns[-1].content
        return Prompt(content, "\n\n".join(system) or None, chat=True, history=history, tools=tools)


class CompletionRequest(_Request):
    prompt: str | list[str] | list[int] | list[list[int]]
    echo: bool = False
    logprobs: int | None = None
    suffix: str | None = None
    best_of: int | None = None

    def resolve(self, served: ServedModel, name: str, default_max_tokens: int) -> Plan:
        """Check everything, tokenize the prompts, size the completion."""
        self.check_common(name)
        if self.suffix:
            raise _unsupported("suffix")
        if self.best_of is not None and self.best_of != self.n:
            raise _unsupported("best_of (other than n)", "best_of")
        if self.logprobs is not None:
            _alternatives(self.logprobs, "logprobs")
            served.require_local("log-probabilities")
        texts, token_prompts = self._prompts(served)
        prompts = tuple(Prompt(text, chat=False) for text in texts)
        if token_prompts is not None:
            ids: list[list[int] | None] = list(token_prompts)
        else:
            ids = [served.encode(p) for p in prompts]
        generate = self.max_tokens != 0 or not self.echo
        if self.max_tokens is not None and self.max_tokens < 0:
            raise bad_request(
                f"max_tokens must be 0 (with echo) or more, got {self.max_tokens}", "max_tokens"
            )
        if generate and token_prompts is not None:
            raise bad_request(
                "prompts of token ids are taken only to score them (echo with max_tokens 0)",
                "prompt",
            )
        params = None
        if generate:
            size = _completion_size(
                served, ids, self.max_tokens, "max_tokens", default_max_tokens, "prompt"
            )
            params = self.generation_params(size, "max_tokens")
        else:
            _completion_size(served, ids, 0, "max_tokens", default_max_tokens, "prompt")
        return Plan(
            prompts=prompts,
            prompt_ids=tuple(None if i is None else tuple(i) for i in ids),
            params=params,
            n=self.n,
            logprobs=self.logprobs,
            prompt_logprobs=self.logprobs if self.echo else None,
            echo=self.echo,
            stream=self.stream,
            include_usage=self.include_usage,
            fresh_seed=self.fresh_seed,
        )

    def _prompts(self, served: ServedModel) -> tuple[list[str], list[list[int]] | None]:
        """Texts of the prompts, and their token ids when they came as token ids."""
        prompt = self.prompt
        if isinstance(prompt, str):
            prompt = [prompt]
        if not prompt:
            raise bad_request("prompt must not be empty", "prompt")
        if all(isinstance(p, str) for p in prompt):
            texts = [str(p) for p in prompt]
            for index, text in enumerate(texts):
                if not text:
                    where = "prompt" if isinstance(self.prompt, str) else f"prompt[{index}]"
                    raise bad_request(f"{where} must not be empty", "prompt")
            return texts, None
        served.require_local("prompts of token ids")
        lists = (
            [cast(list[int], prompt)]
            if all(isinstance(p, int) for p in prompt)
            else cast(list[list[int]], prompt)
        )
        vocabulary = served.vocabulary() or 0
        ids: list[list[int]] = []
        for index, tokens in enumerate(lists):
            if not tokens:
                raise bad_request(f"prompt[{index}] must not be empty", "prompt")
            if any(not 0 <= t < vocabulary for t in tokens):
                raise bad_request(
                    f"prompt[{index}] holds token ids outside 0..{vocabulary - 1}", "prompt"
                )
            ids.append([int(t) for t in tokens])
        return [served.text_of(t) for t in ids], ids


def _completion_size(
    served: ServedModel,
    prompts: list[list[int] | None],
    requested: int | None,
    param: str,
    default: int,
    prompt_param: str,
) -> int:
    """Tokens to generate: as requested if the context holds them, else a 400 as OpenAI's."""
    context = served.context_length
    longest = max((len(ids) for ids in prompts if ids is not None), default=0)
    if context is None:
        return default if requested is None else requested
    if longest > context:
        raise OpenAIError(
            400,
            f"This model's maximum context length is {context} tokens; the prompt has {longest}.",
            param=prompt_param,
            code="context_length_exceeded",
        )
    room = context - longest
    if requested is None:
        if room < 1:
            raise OpenAIError(
                400,
                f"This model's maximum context length is {context} tokens and the prompt fills it.",
                param=prompt_param,
                code="context_length_exceeded",
            )
        return min(default, room)
    if requested > room:
        raise OpenAIError(
            400,
            f"This model's maximum context length is {context} tokens. However, you requested "
            f"{longest + requested} tokens ({longest} in the prompt, {requested} in the "
            f"completion). Reduce the prompt or {param}.",
            param=param,
            code="context_length_exceeded",
        )
    return requested


def _alternatives(count: int, param: str) -> None:
    if not 0 <= count <= MAX_ALTERNATIVES:
        raise bad_request(f"{param} must be from 0 to {MAX_ALTERNATIVES}, got {count}", param)


def _unsupported(feature: str, param: str | None = None) -> OpenAIError:
    return bad_request(f"{feature} is not supported by assay serve", param or feature)

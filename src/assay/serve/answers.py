"""Answering a resolved request: queue its work, then one JSON body or a stream of events.

The order of work: the echoed prompts' log-probabilities (when asked for) first,
then the generation; a request that cannot start (full queue, waited too long) is
answered 503 before any stream begins, so a client always gets a real status for it.
Once streaming, a failure arrives as an error event followed by ``[DONE]``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from assay.exceptions import AssayError
from assay.serve.batcher import Batcher, GenerationJob
from assay.serve.engine import ServedModel
from assay.serve.openai_errors import OpenAIError, from_library
from assay.serve.prompt_scores import PromptScores
from assay.serve.protocol import Plan
from assay.serve.responses import (
    DONE,
    Envelope,
    Usage,
    chat_choice,
    chat_delta,
    completion_choice,
    completion_logprobs,
)
from assay.serve.streaming import Choice, Failed, Finished, Listener, Piece, TextStream, Token

STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class Answerer:
    """Turns plans into responses for one served model and its batcher."""

    def __init__(self, served: ServedModel, batcher: Batcher) -> None:
        self.served = served
        self.batcher = batcher

    async def answer(self, plan: Plan, envelope: Envelope, request: Request) -> Response:
        echoed = await self._echoed(plan)
        if plan.params is None:
            return self._echo_only(plan, envelope, echoed)
        listener = Listener(
            asyncio.get_running_loop(),
            len(plan.prompts) * plan.n,
            self.served.token_text if self.served.local is not None else str,
            streams=self._streams(plan) if plan.stream else None,
        )
        job = GenerationJob(
            size=listener.choices,
            prompts=[p for p in plan.prompts for _ in range(plan.n)],
            params=plan.params,
            logprobs=plan.logprobs,
            fresh_seed=plan.fresh_seed,
            listener=listener,
        )
        try:
            await self.batcher.generate(job)
        except asyncio.CancelledError:
            listener.cancelled = True
            raise
        if plan.stream:
            events = _Stream(plan, envelope, listener, echoed).events()
            return StreamingResponse(events, media_type="text/event-stream", headers=STREAM_HEADERS)
        results = await _until_answered(listener, request)
        if results is None:
            return Response(status_code=499)  # the client is gone; nobody reads this
        return JSONResponse(_body(plan, envelope, results, echoed))

    def _streams(self, plan: Plan) -> list[TextStream]:
        count = len(plan.prompts) * plan.n
        if self.served.local is None or plan.params is None:
            return [TextStream(str, ()) for _ in range(count)]
        decode = self.served.decoder()
        return [TextStream(decode, plan.params.stop) for _ in range(count)]

    async def _echoed(self, plan: Plan) -> list[list[Token]] | None:
        """The echoed prompts' tokens with their log-probabilities, when asked for."""
        if plan.prompt_logprobs is None:
            return None
        ids = [list(i) for i in plan.prompt_ids if i is not None]
        scores = await self.batcher.score(ids, plan.prompt_logprobs)
        return [self._tokens(s) for s in scores]

    def _tokens(self, scores: PromptScores) -> list[Token]:
        text = self.served.prompt_token_text
        return [
            Token(token, text(token), value, tuple((text(t), v) for t, v in top))
            for token, value, top in zip(scores.tokens, scores.logprobs, scores.top, strict=True)
        ]

    def _echo_only(
        self, plan: Plan, envelope: Envelope, echoed: list[list[Token]] | None
    ) -> Response:
        """echo with max_tokens 0: the prompts back, with their log-probabilities if asked."""
        usage = Usage(sum(len(i or ()) for i in plan.prompt_ids), 0)
        choices = []
        for index, prompt in enumerate(plan.prompts):
            logprobs = completion_logprobs(echoed[index], 0) if echoed else None
            for j in range(plan.n):
                choices.append(
                    completion_choice(index * plan.n + j, prompt.content, "length", logprobs)
                )
        if not plan.stream:
            return JSONResponse(envelope.body(choices, usage))

        async def events() -> AsyncIterator[str]:
            for choice in choices:
                yield envelope.chunk([choice], None, plan.include_usage)
            if plan.include_usage:
                yield envelope.chunk([], usage, True)
            yield DONE

        return StreamingResponse(events(), media_type="text/event-stream", headers=STREAM_HEADERS)


class _Stream:
    """One request's server-sent events: chunks as OpenAI sends them, then ``[DONE]``."""

    def __init__(
        self,
        plan: Plan,
        envelope: Envelope,
        listener: Listener,
        echoed: list[list[Token]] | None,
    ) -> None:
        self.plan = plan
        self.envelope = envelope
        self.listener = listener
        self.echoed = echoed
        self.offsets = [0] * listener.choices  # text_offset of each choice's next token

    async def events(self) -> AsyncIterator[str]:
        finished: dict[int, Choice] = {}
        try:
            for index in range(self.listener.choices):
                opening = self._opening(index)
                if opening is not None:
                    yield self._chunk(opening)
            while len(finished) < self.listener.choices:
                event = await self.listener.events.get()
                if isinstance(event, Failed):
                    yield _error_event(event.error)
                    yield DONE
                    return
                if isinstance(event, Piece):
                    if event.text or (self.plan.logprobs is not None and event.token is not None):
                        tokens = [event.token] if event.token is not None else []
                        yield self._chunk(self._delta(event.choice, event.text, tokens, None))
                    continue
                assert isinstance(event, Finished)
                finished[event.choice] = event.result
                generation = event.result.generation
                if generation.finish_reason == "error":
                    yield _error_event(OpenAIError(500, generation.error or "generation failed"))
                    yield DONE
                    return
                if event.text:
                    yield self._chunk(self._delta(event.choice, event.text, [], None))
                yield self._chunk(self._delta(event.choice, "", [], generation.finish_reason))
            if self.plan.include_usage:
                ordered = [finished[i] for i in range(self.listener.choices)]
                yield self.envelope.chunk([], _usage(self.plan, ordered), True)
            yield DONE
        finally:
            if len(finished) < self.listener.choices:
                self.listener.cancelled = True  # the client went away: stop generating for it

    def _opening(self, index: int) -> dict[str, Any] | None:
        """A chat choice opens with the assistant's role; an echoed completion with its prompt."""
        if self.envelope.chat:
            delta = {"role": "assistant", "content": ""}
            return {"index": index, "delta": delta, "logprobs": None, "finish_reason": None}
        if not self.plan.echo:
            return None
        prompt = self.plan.prompts[index // self.plan.n]
        tokens = self.echoed[index // self.plan.n] if self.echoed else None
        logprobs = None
        if tokens is not None and self.plan.logprobs is not None:
            logprobs = completion_logprobs(tokens, 0)
        self.offsets[index] = len(prompt.content)
        return completion_choice(index, prompt.content, None, logprobs)

    def _delta(
        self, index: int, text: str, tokens: list[Token], finish: str | None
    ) -> dict[str, Any]:
        wanted = self.plan.logprobs is not None
        if self.envelope.chat:
            return chat_delta(index, text, tokens, wanted, finish)
        logprobs = completion_logprobs(tokens, self.offsets[index]) if wanted and tokens else None
        self.offsets[index] += sum(len(t.text) for t in tokens)
        return completion_choice(index, text, finish, logprobs)

    def _chunk(self, choice: dict[str, Any]) -> str:
        return self.envelope.chunk([choice], None, self.plan.include_usage)


def _body(
    plan: Plan, envelope: Envelope, results: list[Choice], echoed: list[list[Token]] | None
) -> dict[str, Any]:
    choices = []
    for index, result in enumerate(results):
        generation = result.generation
        if generation.finish_reason == "error":
            raise OpenAIError(500, generation.error or "generation failed")
        if envelope.chat:
            choices.append(chat_choice(index, result, plan.logprobs is not None, plan.tools))
            continue
        prompt = plan.prompts[index // plan.n]
        logprobs = None
        if plan.logprobs is not None:
            head = echoed[index // plan.n] if echoed else []
            logprobs = completion_logprobs([*head, *result.tokens], 0)
        text = (prompt.content if plan.echo else "") + generation.text
        choices.append(completion_choice(index, text, generation.finish_reason, logprobs))
    return envelope.body(choices, _usage(plan, results))


def _usage(plan: Plan, results: list[Choice]) -> Usage:
    """Each prompt's tokens once (however many choices), every choice's completion."""
    prompt = sum(results[i * plan.n].generation.prompt_tokens for i in range(len(plan.prompts)))
    return Usage(prompt, sum(r.generation.completion_tokens for r in results))


def _error_event(error: Exception) -> str:
    if not isinstance(error, OpenAIError):
        error = (
            from_library(error) if isinstance(error, AssayError) else OpenAIError(500, str(error))
        )
    return f"data: {json.dumps(error.body(), ensure_ascii=False)}\n\n"


async def _until_answered(listener: Listener, request: Request) -> list[Choice] | None:
    """The request's choices; None if the client goes away first (its generation stops)."""
    while True:
        done, _ = await asyncio.wait({listener.future}, timeout=1.0)
        if done:
            return listener.future.result()
        if await request.is_disconnected():
            listener.cancelled = True
            return None

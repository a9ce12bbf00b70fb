"""An OpenAI-compatible HTTP API over any assay model: /v1/models, /v1/models/{id},
/v1/chat/completions, /v1/completions.

What clients get, as from OpenAI or vLLM: streaming as server-sent events (chat and
completions, ``stream_options.include_usage``, ``[DONE]``), whole conversations
through the model's chat template, ``n`` choices, ``logprobs``/``top_logprobs``,
``echo`` with prompt log-probabilities from the prefix-tree engine (what benchmark
clients such as ``assay bench --model openai:...`` and lm-evaluation-harness's
local-completions use), and errors in OpenAI's shape (see serve/errors.py).
Concurrent requests are batched (serve/batcher.py states the queueing policy);
access control is serve/security.py's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from assay.exceptions import AssayError, OptionError, at_least
from assay.models.base import Model
from assay.serve.batcher import Batcher, GenerationJob
from assay.serve.engine import ServedModel
from assay.serve.errors import OpenAIError, from_library, install_handlers
from assay.serve.prompt_scores import PromptScores
from assay.serve.protocol import ChatRequest, CompletionRequest, Plan
from assay.serve.responses import (
    DONE,
    Envelope,
    Usage,
    chat_choice,
    chat_delta,
    completion_choice,
    completion_logprobs,
)
from assay.serve.security import check_token, token_guard
from assay.serve.streaming import Choice, Failed, Finished, Listener, Piece, TextStream, Token


@dataclass(frozen=True)
class ServeOptions:
    """How the server runs; one record for the CLI and Python.

    Attributes:
        name: The model id clients ask for (default: the model's spec). Other names get 404.
        token: When given, every request must send it as a bearer token.
        max_batch: Most sequences generated together.
        window: Seconds to gather concurrent requests into one batch.
        default_max_tokens: Tokens generated when a request does not say (bounded by the
            room the context leaves).
        max_queue: Most requests waiting to start; more are answered 503 with Retry-After.
        queue_timeout: Seconds a request may wait to start before it is answered 503.
        max_body_bytes: Largest request body accepted (413 beyond).
    """

    name: str | None = None
    token: str | None = None
    max_batch: int = 32
    window: float = 0.02
    default_max_tokens: int = 256
    max_queue: int = 256
    queue_timeout: float = 600.0
    max_body_bytes: int = 8 * 1024 * 1024

    def __post_init__(self) -> None:
        at_least("max_batch", self.max_batch, 1)
        at_least("default_max_tokens", self.default_max_tokens, 1)
        at_least("max_queue", self.max_queue, 1)
        at_least("max_body_bytes", self.max_body_bytes, 1024)
        if not self.queue_timeout > 0:
            raise OptionError("queue_timeout", f"must be above 0 seconds, got {self.queue_timeout}")
        if not 0 <= self.window <= 10:
            raise OptionError("window", f"must be from 0 to 10 seconds, got {self.window}")
        check_token(self.token)


def create_app(model: Model, options: ServeOptions | None = None) -> FastAPI:
    """The FastAPI app serving `model` (loaded when the app starts)."""
    options = options or ServeOptions()
    served = ServedModel(model)
    name = options.name or model.info.spec
    created = int(time.time())
    batcher = Batcher(
        served,
        max_batch=options.max_batch,
        window=options.window,
        max_queue=options.max_queue,
        queue_timeout=options.queue_timeout,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(served.load)
        await batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(
        title=f"assay serve: {name}",
        lifespan=lifespan,
        max_body_size=options.max_body_bytes,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.batcher = batcher
    install_handlers(app)
    app.middleware("http")(token_guard(options.token))

    def card() -> dict[str, Any]:
        card = {"id": name, "object": "model", "created": created, "owned_by": "assay"}
        if served.context_length is not None:
            card["max_model_len"] = served.context_length
        return card

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [card()]}

    @app.get("/v1/models/{model_id:path}")
    async def retrieve(model_id: str) -> dict[str, Any]:
        if model_id != name:
            raise OpenAIError(
                404,
                f"The model `{model_id}` does not exist; this server serves `{name}`.",
                param="model",
                code="model_not_found",
            )
        return card()

    @app.post("/v1/chat/completions")
    async def chat(body: ChatRequest, request: Request) -> Response:
        plan = body.resolve(served, name, options.default_max_tokens)
        return await _answer(plan, Envelope("chat.completion", name), request)

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest, request: Request) -> Response:
        plan = body.resolve(served, name, options.default_max_tokens)
        return await _answer(plan, Envelope("text_completion", name), request)

    async def _answer(plan: Plan, envelope: Envelope, request: Request) -> Response:
        prompt_tokens = await _prompt_tokens(plan)
        if plan.params is None:
            return _echo_only(plan, envelope, prompt_tokens)
        listener = Listener(
            asyncio.get_running_loop(),
            len(plan.prompts) * plan.n,
            served.token_text if served.local is not None else str,
            streams=_streams(plan) if plan.stream else None,
        )
        job = GenerationJob(
            size=listener.choices,
            prompts=[p for p in plan.prompts for _ in range(plan.n)],
            params=plan.params,
            logprobs=plan.logprobs,
            listener=listener,
        )
        try:
            await batcher.generate(job)
        except asyncio.CancelledError:
            listener.cancelled = True
            raise
        if plan.stream:
            return StreamingResponse(
                _stream(plan, envelope, listener, prompt_tokens),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        results = await _until_answered(listener, request)
        if results is None:
            return Response(status_code=499)  # the client is gone; nobody reads this
        return JSONResponse(_complete(plan, envelope, results, prompt_tokens))

    def _streams(plan: Plan) -> list[TextStream] | None:
        if served.local is None or plan.params is None:
            return [TextStream(str, ()) for _ in range(len(plan.prompts) * plan.n)]
        decode = served.decoder()
        return [TextStream(decode, plan.params.stop) for _ in range(len(plan.prompts) * plan.n)]

    async def _prompt_tokens(plan: Plan) -> list[list[Token]] | None:
        """The echoed prompts' tokens with their log-probabilities, when asked for."""
        if plan.prompt_logprobs is None:
            return None
        ids = [list(i) for i in plan.prompt_ids if i is not None]
        scores = await batcher.score(ids, plan.prompt_logprobs)
        return [_prompt_token_list(s) for s in scores]

    def _prompt_token_list(scores: PromptScores) -> list[Token]:
        text = served.token_text
        return [
            Token(token, text(token), value, tuple((text(t), v) for t, v in top))
            for token, value, top in zip(scores.tokens, scores.logprobs, scores.top, strict=True)
        ]

    def _echo_only(
        plan: Plan, envelope: Envelope, prompt_tokens: list[list[Token]] | None
    ) -> Response:
        usage = Usage(sum(len(i or ()) for i in plan.prompt_ids), 0)
        choices = []
        for index, prompt in enumerate(plan.prompts):
            logprobs = completion_logprobs(prompt_tokens[index], 0) if prompt_tokens else None
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

        return StreamingResponse(events(), media_type="text/event-stream")

    def _complete(
        plan: Plan,
        envelope: Envelope,
        results: list[Choice],
        prompt_tokens: list[list[Token]] | None,
    ) -> dict[str, Any]:
        choices = []
        for index, result in enumerate(results):
            if result.generation.finish_reason == "error":
                raise OpenAIError(500, result.generation.error or "generation failed")
            if envelope.chat:
                choices.append(chat_choice(index, result, plan.logprobs is not None))
                continue
            prompt = plan.prompts[index // plan.n]
            head = prompt.content if plan.echo else ""
            logprobs = None
            if plan.logprobs is not None:
                echoed = prompt_tokens[index // plan.n] if prompt_tokens else []
                logprobs = completion_logprobs([*echoed, *result.tokens], 0)
            text = head + result.generation.text
            choices.append(
                completion_choice(index, text, result.generation.finish_reason, logprobs)
            )
        return envelope.body(choices, _usage(plan, results))

    async def _stream(
        plan: Plan,
        envelope: Envelope,
        listener: Listener,
        prompt_tokens: list[list[Token]] | None,
    ) -> AsyncIterator[str]:
        finished: dict[int, Choice] = {}
        offsets = [0] * listener.choices
        logprobs = plan.logprobs is not None
        usage = plan.include_usage
        try:
            for index in range(listener.choices):
                if envelope.chat:
                    first = {"index": index, "delta": {"role": "assistant", "content": ""}}
                    yield envelope.chunk(
                        [{**first, "logprobs": None, "finish_reason": None}], None, usage
                    )
                elif plan.echo:
                    prompt = plan.prompts[index // plan.n]
                    echoed = prompt_tokens[index // plan.n] if prompt_tokens else None
                    lp = completion_logprobs(echoed, 0) if echoed is not None and logprobs else None
                    offsets[index] = len(prompt.content)
                    yield envelope.chunk(
                        [completion_choice(index, prompt.content, None, lp)], None, usage
                    )
            while len(finished) < listener.choices:
                event = await listener.events.get()
                if isinstance(event, Failed):
                    error = event.error
                    if not isinstance(error, OpenAIError):
                        error = (
                            from_library(error)
                            if isinstance(error, AssayError)
                            else OpenAIError(500, str(error))
                        )
                    yield f"data: {_json(error.body())}\n\n"
                    yield DONE
                    return
                if isinstance(event, Piece):
                    if event.text or (logprobs and event.token is not None):
                        tokens = [event.token] if event.token is not None else []
                        yield envelope.chunk(
                            [
                                _delta(
                                    envelope, plan, event.choice, event.text, tokens, None, offsets
                                )
                            ],
                            None,
                            usage,
                        )
                    continue
                assert isinstance(event, Finished)
                finished[event.choice] = event.result
                reason = event.result.generation.finish_reason
                if reason == "error":
                    error = OpenAIError(500, event.result.generation.error or "generation failed")
                    yield f"data: {_json(error.body())}\n\n"
                    yield DONE
                    return
                if event.text:
                    yield envelope.chunk(
                        [_delta(envelope, plan, event.choice, event.text, [], None, offsets)],
                        None,
                        usage,
                    )
                yield envelope.chunk(
                    [_delta(envelope, plan, event.choice, "", [], reason, offsets)], None, usage
                )
            if usage:
                ordered = [finished[i] for i in range(listener.choices)]
                yield envelope.chunk([], _usage(plan, ordered), True)
            yield DONE
        finally:
            if len(finished) < listener.choices:
                listener.cancelled = True  # the client went away: stop generating for it

    return app


def _delta(
    envelope: Envelope,
    plan: Plan,
    index: int,
    text: str,
    tokens: list[Token],
    finish: str | None,
    offsets: list[int],
) -> dict[str, Any]:
    logprobs = plan.logprobs is not None
    if envelope.chat:
        return chat_delta(index, text, tokens, logprobs, finish)
    lp = completion_logprobs(tokens, offsets[index]) if logprobs and tokens else None
    offsets[index] += sum(len(t.text) for t in tokens)
    return completion_choice(index, text, finish, lp)


def _usage(plan: Plan, results: list[Choice]) -> Usage:
    """Each prompt's tokens once (however many choices), every choice's completion."""
    prompt = sum(results[i * plan.n].generation.prompt_tokens for i in range(len(plan.prompts)))
    return Usage(prompt, sum(r.generation.completion_tokens for r in results))


async def _until_answered(listener: Listener, request: Request) -> list[Choice] | None:
    """The request's choices; None if the client goes away first (its generation stops)."""
    while True:
        done, _ = await asyncio.wait({listener.future}, timeout=1.0)
        if done:
            return listener.future.result()
        if await request.is_disconnected():
            listener.cancelled = True
            return None


def _json(data: Any) -> str:
    import json

    return json.dumps(data, ensure_ascii=False)

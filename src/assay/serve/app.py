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
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from assay.exceptions import OptionError, at_least
from assay.models.base import Model
from assay.serve.answers import Answerer
from assay.serve.batcher import Batcher
from assay.serve.engine import ServedModel
from assay.serve.openai_errors import OpenAIError, install_handlers
from assay.serve.protocol import ChatRequest, CompletionRequest
from assay.serve.responses import Envelope
from assay.serve.security import BodyLimit, check_token, token_guard


@dataclass(frozen=True)
class ServeOptions:
    """How the server runs; one record for the CLI and Python.

    Attributes:
        name: The model id clients ask for (default: the model's spec). Other names get 404.
        token: When given, every request must send it as a bearer token.
        batch_size: Most sequences generated together (a request with n choices counts n).
        window: Seconds to gather concurrent requests into one batch.
        default_max_tokens: Tokens generated when a request does not say (bounded by the
            room the context leaves).
        max_queue: Most requests waiting to start; more are answered 503 with Retry-After.
        queue_timeout: Seconds a request may wait to start before it is answered 503.
        max_body_bytes: Largest request body accepted (413 beyond).
    """

    name: str | None = None
    token: str | None = None
    batch_size: int = 32
    window: float = 0.02
    default_max_tokens: int = 256
    max_queue: int = 256
    queue_timeout: float = 600.0
    max_body_bytes: int = 8 * 1024 * 1024

    def __post_init__(self) -> None:
        at_least("batch_size", self.batch_size, 1)
        at_least("default_max_tokens", self.default_max_tokens, 1)
        at_least("max_queue", self.max_queue, 1)
        at_least("max_body_bytes", self.max_body_bytes, 1024)
        if not 0 < self.queue_timeout < math.inf:
            raise OptionError("queue_timeout", f"must be above 0 seconds, got {self.queue_timeout}")
        if not 0 <= self.window <= 10:
            raise OptionError("window", f"must be from 0 to 10 seconds, got {self.window}")
        if self.token is not None:
            check_token(self.token)


def create_app(model: Model, options: ServeOptions | None = None) -> FastAPI:
    """The FastAPI app serving `model` (loaded when the app starts)."""
    options = options or ServeOptions()
    served = ServedModel(model)
    name = options.name or model.info.spec
    created = int(time.time())
    batcher = Batcher(
        served,
        max_batch=options.batch_size,
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
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.batcher = batcher
    answerer = Answerer(served, batcher)
    install_handlers(app)
    # Added last, runs first: the token, then the body cap, then the routes.
    app.add_middleware(BodyLimit, limit=options.max_body_bytes)
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
        return await answerer.answer(plan, Envelope("chat.completion", name), request)

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest, request: Request) -> Response:
        plan = body.resolve(served, name, options.default_max_tokens)
        return await answerer.answer(plan, Envelope("text_completion", name), request)

    return app

"""An OpenAI-compatible HTTP API over any assay model: /v1/models, /v1/chat/completions,
/v1/completions.

Concurrent requests are batched together (see :mod:`assay.serve.batcher`).
Not supported (answered with 400): streaming, n > 1, and conversations with
more than one user turn (assay prompts are one system and one user message).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from assay.data.prompts import Prompt
from assay.models.base import Generation, GenerationParams, Model
from assay.serve.batcher import Batcher


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=1.0, ge=0.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int = 1
    stream: bool = False

    def params(self, default_max_tokens: int) -> GenerationParams:
        if self.stream:
            raise HTTPException(400, "streaming is not supported by assay serve")
        if self.n != 1:
            raise HTTPException(400, "n > 1 is not supported by assay serve")
        stop = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        return GenerationParams(
            max_new_tokens=self.max_completion_tokens or self.max_tokens or default_max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            stop=tuple(stop),
            seed=self.seed or 0,
        )


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(part.get("text", "")) for part in self.content)
        return self.content or ""


class ChatRequest(_Request):
    messages: list[_Message]

    def prompt(self) -> Prompt:
        system = [m.text() for m in self.messages if m.role in ("system", "developer")]
        turns = [m for m in self.messages if m.role not in ("system", "developer")]
        if len(turns) != 1 or turns[0].role != "user":
            raise HTTPException(
                400, "assay serve takes one user message (and optionally a system message)"
            )
        return Prompt(turns[0].text(), "\n\n".join(system) or None, chat=True)


class CompletionRequest(_Request):
    prompt: str | list[str]

    def as_prompt(self) -> Prompt:
        if isinstance(self.prompt, list):
            if len(self.prompt) != 1:
                raise HTTPException(400, "assay serve takes one prompt per completion request")
            return Prompt(self.prompt[0], chat=False)
        return Prompt(self.prompt, chat=False)


def create_app(
    model: Model,
    *,
    name: str | None = None,
    max_batch: int = 32,
    window: float = 0.02,
    default_max_tokens: int = 256,
) -> FastAPI:
    """The FastAPI app serving `model` under the name `name` (default: its spec).

    Args:
        model: Any assay model.
        name: The model id clients ask for; requests naming another model still get this one.
        max_batch: Most requests generated together.
        window: Seconds to gather concurrent requests into one batch.
        default_max_tokens: Tokens generated when a request does not say.
    """
    served = name or model.info.spec
    batcher = Batcher(model, max_batch=max_batch, window=window)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        model.load()
        await batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title=f"assay serve: {served}", lifespan=lifespan)
    app.state.batcher = batcher

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": served, "object": "model", "created": 0, "owned_by": "assay"}],
        }

    @app.post("/v1/chat/completions")
    async def chat(request: ChatRequest) -> dict[str, Any]:
        generation = await batcher.generate(request.prompt(), request.params(default_max_tokens))
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": generation.text},
            "finish_reason": generation.finish_reason,
        }
        return _response("chat.completion", served, choice, generation)

    @app.post("/v1/completions")
    async def completions(request: CompletionRequest) -> dict[str, Any]:
        generation = await batcher.generate(request.as_prompt(), request.params(default_max_tokens))
        choice = {"index": 0, "text": generation.text, "finish_reason": generation.finish_reason}
        return _response("text_completion", served, choice, generation)

    return app


def _response(
    kind: str, model: str, choice: dict[str, Any], generation: Generation
) -> dict[str, Any]:
    if generation.finish_reason == "error":
        raise HTTPException(500, generation.error or "generation failed")
    return {
        "id": f"assay-{uuid.uuid4().hex[:16]}",
        "object": kind,
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": {
            "prompt_tokens": generation.prompt_tokens,
            "completion_tokens": generation.completion_tokens,
            "total_tokens": generation.prompt_tokens + generation.completion_tokens,
        },
    }

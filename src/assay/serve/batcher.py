"""Gathers concurrent requests into batches, so the model generates them together.

Requests wait in a queue; a worker takes the first, collects whatever else
arrives within a short window (up to the model's batch size), groups them by
generation parameters, and calls `model.generate` once per group in a thread,
one batch at a time (a model is not thread-safe).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from dataclasses import dataclass, field

from assay.data.prompts import Prompt
from assay.models.base import Generation, GenerationParams, Model


@dataclass
class _Request:
    prompt: Prompt
    params: GenerationParams
    future: asyncio.Future[Generation] = field(repr=False)


class Batcher:
    """Runs model.generate over batches of concurrently arriving requests.

    Args:
        model: The model to serve (loaded before the first request).
        max_batch: Most requests in one batch.
        window: Seconds to wait for more requests after the first one arrives.
    """

    def __init__(self, model: Model, *, max_batch: int = 32, window: float = 0.02) -> None:
        self.model = model
        self.max_batch = max(1, max_batch)
        self.window = window
        self.batches: list[int] = []  # sizes of the batches run, for tests and logs
        self._queue: asyncio.Queue[_Request] | None = None
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    async def generate(self, prompt: Prompt, params: GenerationParams) -> Generation:
        """Queue one prompt and wait for its generation."""
        assert self._queue is not None, "Batcher.start() was not awaited"
        future: asyncio.Future[Generation] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Request(prompt, params, future))
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            deadline = asyncio.get_running_loop().time() + self.window
            while len(batch) < self.max_batch:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), remaining))
                except asyncio.TimeoutError:
                    break
            groups: dict[GenerationParams, list[_Request]] = defaultdict(list)
            for request in batch:
                groups[request.params].append(request)
            for params, requests in groups.items():
                await self._run_group(params, requests)

    async def _run_group(self, params: GenerationParams, requests: list[_Request]) -> None:
        self.batches.append(len(requests))
        prompts = [r.prompt for r in requests]
        try:
            generations = await asyncio.to_thread(self.model.generate, prompts, params)
        except Exception as exc:  # the server answers 500 for every request of the batch
            for request in requests:
                if not request.future.done():
                    request.future.set_exception(exc)
            return
        for request, generation in zip(requests, generations, strict=True):
            if not request.future.done():
                request.future.set_result(generation)

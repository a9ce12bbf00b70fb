"""Gathers concurrent requests into batches for the one model, under a stated policy.

The policy (so that one slow or greedy client cannot hold the others hostage):

* One worker runs the model, one batch at a time, in a thread (a model is not
  thread-safe). It takes the oldest waiting request, waits ``window`` seconds for
  others, and takes up to ``max_batch`` sequences (a request with n choices counts
  n) in arrival order.
* Sampling without a seed gets a fresh seed per batch (asking again gives another
  answer, as from OpenAI); requests with a seed repeat their answer when they run
  in a batch of the same make-up.
* Prompt scoring (echo with logprobs) runs first, as one pass over all its prompts.
  Generation runs per group of equal sampling parameters, the group with the smallest
  ``max_tokens`` first, so short requests that arrive together with a long one do not
  wait for it. Each request is answered as soon as its own choices are done.
* At most ``max_queue`` requests wait; one more is answered 503 ``server_busy`` at
  once with Retry-After, which clients (assay's openai backend, the openai package)
  retry. A request that waited ``queue_timeout`` seconds without starting is answered
  503 the same way and never runs.
* A request whose client has gone (closed the stream or the connection) is dropped
  before it starts, or stopped at its next token while it runs.
* ``max_tokens`` is bounded by the model's context, so no batch runs unbounded; the
  engine never waits for a slow reader (its tokens queue up in its own stream).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field, replace

from assay.data.prompts import Prompt
from assay.exceptions import AssayError
from assay.models.base import Generation, GenerationParams
from assay.models.continuous_batching import TokenLogprobs
from assay.serve.engine import ServedModel
from assay.serve.openai_errors import OpenAIError, from_library
from assay.serve.prompt_scores import PromptScores
from assay.serve.streaming import Listener


@dataclass(eq=False)
class _Job:
    size: int
    enqueued: float = field(default_factory=time.monotonic)
    started: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def cancelled(self) -> bool:
        raise NotImplementedError


@dataclass(eq=False)
class GenerationJob(_Job):
    """Prompts (each choice its own) generated with the same parameters for one request."""

    prompts: list[Prompt] = field(default_factory=list)
    params: GenerationParams = field(default_factory=GenerationParams)
    logprobs: int | None = None
    fresh_seed: bool = False
    listener: Listener | None = None

    @property
    def cancelled(self) -> bool:
        return self.listener is not None and self.listener.cancelled


@dataclass(eq=False)
class ScoreJob(_Job):
    """Prompts (token ids) whose tokens' log-probabilities one request asks for."""

    prompts: list[list[int]] = field(default_factory=list)
    top: int = 1
    future: asyncio.Future[list[PromptScores]] | None = None
    gone: bool = False

    @property
    def cancelled(self) -> bool:
        return self.gone


class Batcher:
    """Runs the model over batches of concurrently arriving requests (policy above).

    Args:
        served: The model.
        max_batch: Most sequences in one batch.
        window: Seconds to wait for more requests after the first one arrives.
        max_queue: Most requests waiting to start.
        queue_timeout: Seconds a request may wait to start before it is answered 503.
    """

    def __init__(
        self,
        served: ServedModel,
        *,
        max_batch: int = 32,
        window: float = 0.02,
        max_queue: int = 256,
        queue_timeout: float = 600.0,
    ) -> None:
        self.served = served
        self.max_batch = max(1, max_batch)
        self.window = window
        self.max_queue = max(1, max_queue)
        self.queue_timeout = queue_timeout
        self.batches: list[int] = []  # sequences per batch run, for tests and logs
        self.abandoned: list[int] = []  # tokens of sequences stopped as their client left
        self._waiting: deque[_Job] = deque()
        self._arrived: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._arrived = asyncio.Event()
        self._worker = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    async def generate(self, job: GenerationJob) -> None:
        """Queue a generation and wait until it starts; its listener gets the results."""
        await self._enter(job)

    async def score(self, prompts: list[list[int]], top: int) -> list[PromptScores]:
        """Queue prompts to score and wait for their scores."""
        job = ScoreJob(size=len(prompts), prompts=prompts, top=top)
        job.future = asyncio.get_running_loop().create_future()
        try:
            await self._enter(job)
            return await job.future
        except asyncio.CancelledError:
            job.gone = True
            raise

    async def _enter(self, job: _Job) -> None:
        assert self._arrived is not None, "Batcher.start() was not awaited"
        if len(self._waiting) >= self.max_queue:
            raise busy(f"{len(self._waiting)} requests are waiting already")
        self._waiting.append(job)
        self._arrived.set()
        try:
            await asyncio.wait_for(job.started.wait(), self.queue_timeout)
        except asyncio.TimeoutError:
            if not job.started.is_set():
                _drop(job)
                raise busy(
                    f"the request waited {self.queue_timeout:g} s without starting"
                ) from None
        except asyncio.CancelledError:  # the client went away while waiting
            _drop(job)
            raise

    async def _run(self) -> None:
        assert self._arrived is not None
        while True:
            if not self._waiting:
                self._arrived.clear()
                await self._arrived.wait()
            await asyncio.sleep(self.window)
            batch = self._take()
            if not batch:
                continue
            self.batches.append(sum(job.size for job in batch))
            try:
                await self._run_batch(batch)
            except Exception as error:  # a bug must not stop the worker: fail this batch only
                for job in batch:
                    _fail(job, OpenAIError(500, f"{type(error).__name__}: {error}"))

    async def _run_batch(self, batch: list[_Job]) -> None:
        scores = [job for job in batch if isinstance(job, ScoreJob)]
        if scores:
            await self._score(scores)
        groups: dict[tuple[GenerationParams, int | None, bool], list[GenerationJob]]
        groups = defaultdict(list)
        for job in batch:
            if isinstance(job, GenerationJob):
                groups[job.params, job.logprobs, job.fresh_seed].append(job)
        for (params, logprobs, fresh), jobs in sorted(
            groups.items(), key=lambda item: item[0][0].max_new_tokens
        ):
            if fresh:  # unseeded requests batch together, on a seed of this batch's own
                params = replace(params, seed=random.randrange(2**63))
            await self._generate(params, logprobs, jobs)

    def _take(self) -> list[_Job]:
        """Up to max_batch sequences of waiting requests, oldest first (at least one request)."""
        batch: list[_Job] = []
        size = 0
        while self._waiting:
            job = self._waiting[0]
            if job.cancelled:
                self._waiting.popleft()
                continue
            if batch and size + job.size > self.max_batch:
                break
            self._waiting.popleft()
            job.started.set()
            batch.append(job)
            size += job.size
        return batch

    async def _score(self, jobs: list[ScoreJob]) -> None:
        prompts = [p for job in jobs for p in job.prompts]
        top = max(1, *(job.top for job in jobs))
        try:
            scored = await asyncio.to_thread(self.served.score, prompts, top)
        except (AssayError, OpenAIError) as error:
            for job in jobs:
                _fail(job, error)
            return
        start = 0
        for job in jobs:
            part = scored[start : start + len(job.prompts)]
            start += len(job.prompts)
            if job.future is not None and not job.future.done():
                job.future.set_result([_trim(s, job.top) for s in part])

    async def _generate(
        self, params: GenerationParams, logprobs: int | None, jobs: list[GenerationJob]
    ) -> None:
        jobs = [job for job in jobs if not job.cancelled]
        owners = [(job, choice) for job in jobs for choice in range(len(job.prompts))]
        if not owners:
            return

        def on_token(index: int, token: int, detail: TokenLogprobs | None) -> bool:
            job, choice = owners[index]
            return job.listener is not None and job.listener.token(choice, token, detail)

        def on_result(index: int, generation: Generation) -> None:
            job, choice = owners[index]
            if job.listener is not None:
                if job.listener.cancelled:
                    self.abandoned.append(generation.completion_tokens)
                job.listener.done(choice, generation)

        prompts = [p for job in jobs for p in job.prompts]
        try:
            await asyncio.to_thread(
                self.served.generate,
                prompts,
                params,
                logprobs=logprobs,
                on_token=on_token,
                on_result=on_result,
            )
        except (AssayError, OpenAIError) as error:
            for job in jobs:
                _fail(job, error)
        except Exception as error:  # the engine broke: every request of the group hears of it
            for job in jobs:
                _fail(job, OpenAIError(500, f"generation failed: {type(error).__name__}: {error}"))


def busy(reason: str) -> OpenAIError:
    return OpenAIError(
        503,
        f"the server is busy ({reason}); retry later",
        code="server_busy",
        headers={"Retry-After": "1"},
    )


def _drop(job: _Job) -> None:
    if isinstance(job, GenerationJob) and job.listener is not None:
        job.listener.cancelled = True
    if isinstance(job, ScoreJob):
        job.gone = True


def _fail(job: _Job, error: Exception) -> None:
    if isinstance(error, AssayError):
        error = from_library(error)
    if isinstance(job, GenerationJob) and job.listener is not None:
        job.listener.fail(error)
    if isinstance(job, ScoreJob) and job.future is not None and not job.future.done():
        job.future.set_exception(error)


def _trim(scores: PromptScores, top: int) -> PromptScores:
    """One request's share of a pass that gave the most alternatives any request asked for."""
    return PromptScores(
        scores.tokens,
        scores.logprobs,
        tuple(t[:top] for t in scores.top),
        scores.next_top[:top],
    )

"""Multiple-choice questions scored by log-likelihood: from the cache where it knows the
answers, else by the model through the run's executor, each question committed (with
the cache entries of its requests) as soon as all its choices are scored.

The benchmarks' log-likelihood tasks (bench/run.py) and classification by label
(evaluation/choices.py, `assay eval --choices`) both score this way, so a killed run
resumes and an identical run computes nothing in either.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from assay.models.base import LoglikelihoodStats
from assay.runs.recorder import RunRecorder
from assay.runs.records import ExampleResult, RunStats
from assay.terminal.progress import WorkProgress

if TYPE_CHECKING:
    from assay.bench.fewshot import Question
    from assay.executors import Executor

FLUSH_SECONDS = 1.0
"""Most time between two commits of finished questions."""


def score_choice_questions(
    pending: Sequence[Question],
    *,
    every: Iterable[Question],
    make: Callable[[Question, list[float]], ExampleResult],
    recorder: RunRecorder,
    executor: Executor,
    fingerprint: str,
    progress: bool,
    unit: str,
    stats: RunStats,
) -> None:
    """Score the pending questions and commit each as it completes; `every` question of
    the run (stored ones too) counts in `stats.requests`. `make` turns a question and its
    choices' log-likelihoods into its result."""
    requests = list(dict.fromkeys(r for q in pending for r in q.requests))
    keys = {r: loglikelihood_key(fingerprint, *r) for r in requests}
    known = recorder.store.loglikelihood_cache_get(list(keys.values()))
    answers = {r: known[keys[r]] for r in requests if keys[r] in known}
    stats.requests = sum(len(q.choices) for q in every)
    stats.cached = len(answers)
    writer = _QuestionWriter(recorder, make, keys)
    writer.add_ready(pending, answers)
    missing = [r for r in requests if r not in answers]
    if not missing:
        writer.flush()
        return
    executor.start()
    engine = LoglikelihoodStats()
    bar = WorkProgress(writer.waiting, enabled=progress, description="scoring", unit=unit)
    began = time.perf_counter()

    def on_result(index: int, logprob: float, greedy: bool) -> None:
        before = writer.done
        writer.answer(missing[index], (logprob, greedy))
        if writer.done > before:
            bar.advance(writer.done - before, total_tokens=engine.computed_tokens)

    try:
        with bar:
            executor.loglikelihood(missing, on_result, engine)
    finally:
        writer.flush()
    stats.seconds = round(time.perf_counter() - began, 3)
    stats.generated = writer.done
    stats.examples_per_second = round(writer.done / max(stats.seconds, 1e-9), 3)
    stats.tokens_per_second = round(engine.computed_tokens / max(stats.seconds, 1e-9), 1)
    stats.loglikelihood = engine


class _QuestionWriter:
    """Collects log-likelihoods as they come and commits each question once all its
    choices are scored: its result with the cache entries of its requests, a batch at a
    time (at most every FLUSH_SECONDS, so committing costs little)."""

    def __init__(
        self,
        recorder: RunRecorder,
        make: Callable[[Question, list[float]], ExampleResult],
        keys: Mapping[tuple[str, str], str],
    ) -> None:
        self.recorder = recorder
        self.make = make
        self.keys = keys
        self.answers: dict[tuple[str, str], tuple[float, bool]] = {}
        self.waiting_on: dict[tuple[str, str], list[Question]] = {}
        self.missing: dict[int, int] = {}
        self.done = 0
        self._results: list[ExampleResult] = []
        self._fresh: dict[str, tuple[float, bool]] = {}
        self._flushed = time.monotonic()

    @property
    def waiting(self) -> int:
        return len(self.missing)

    def add_ready(
        self, questions: Sequence[Question], known: Mapping[tuple[str, str], tuple[float, bool]]
    ) -> None:
        """Register the pending questions; those the cache answers whole are ready now."""
        self.answers.update(known)
        for question in questions:
            unanswered = [r for r in dict.fromkeys(question.requests) if r not in known]
            if not unanswered:
                self._complete(question)
                continue
            self.missing[id(question)] = len(unanswered)
            for request in unanswered:
                self.waiting_on.setdefault(request, []).append(question)
        self.done = 0  # count only what the model completes

    def answer(self, request: tuple[str, str], value: tuple[float, bool]) -> None:
        self.answers[request] = value
        self._fresh[self.keys[request]] = value
        for question in self.waiting_on.pop(request, []):
            self.missing[id(question)] -= 1
            if self.missing[id(question)] == 0:
                del self.missing[id(question)]
                self._complete(question)
                self.done += 1
        if time.monotonic() - self._flushed >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self._results or self._fresh:
            self.recorder.add(self._results, loglikelihoods=self._fresh)
        self._results, self._fresh = [], {}
        self._flushed = time.monotonic()

    def _complete(self, question: Question) -> None:
        lls = [self.answers[r][0] for r in question.requests]
        self._results.append(self.make(question, lls))


def loglikelihood_key(fingerprint: str, context: str, continuation: str) -> str:
    """The log-likelihood cache's key: same model, same context, same continuation."""
    return hashlib.sha256(json.dumps([fingerprint, context, continuation]).encode()).hexdigest()

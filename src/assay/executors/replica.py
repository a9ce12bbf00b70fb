"""One replica of the model on a cluster node, and the records it trades with the driver.

A replica loads the model once, when it starts, through the same `load_model`
as a local run, and runs the same backend code on the work it is given
(continuous batching for generation, the prefix-tree engine for
log-likelihoods). It never touches the store: results wait in memory until the
driver takes them.

Taking is idempotent: the driver asks for a job's results *after* the ones it
has (`since`), so an answer lost on the way is asked for again, never lost.
Every start of the process has a fresh `incarnation`: a driver that sees a new
one knows the process was restarted and the results of its job are gone.

This class is plain Python; the Ray executor wraps it with `ray.remote` (so
this module imports without Ray, and the class is tested like any other).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

from assay.data.prompts import Prompt
from assay.exceptions import AssayError, ModelError, OptionError
from assay.models.base import Generation, GenerationParams, LoglikelihoodStats, ModelOptions


@dataclass(frozen=True)
class GenerateWork:
    """Prompts to generate for, with the run's parameters."""

    prompts: tuple[Prompt, ...]
    params: GenerationParams


@dataclass(frozen=True)
class LoglikelihoodWork:
    """(context, continuation) requests to score."""

    requests: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Job:
    """Work for one replica: item `k` of the work is item `indices[k]` of the driver's list."""

    id: int
    indices: tuple[int, ...]
    work: GenerateWork | LoglikelihoodWork


Result = Generation | tuple[float, bool]
"""One item's result: a generation, or a (log-probability, is greedy) pair."""


@dataclass(frozen=True)
class Failure:
    """An error raised on a replica, in a form that crosses processes intact.

    Exceptions do not always survive pickling (OptionError takes two arguments),
    so the driver gets this record and raises the error again with `error()`.
    """

    kind: str
    message: str
    option: str | None = None
    problem: str | None = None
    user_error: bool = False

    @classmethod
    def of(cls, error: BaseException) -> Failure:
        if isinstance(error, OptionError):
            return cls(type(error).__name__, str(error), error.option, error.problem, True)
        return cls(type(error).__name__, str(error), user_error=isinstance(error, AssayError))

    def error(self, where: str) -> AssayError:
        """The error to raise in the driver; `where` names the replica."""
        if self.option is not None and self.problem is not None:
            return OptionError(self.option, self.problem)
        if self.user_error:
            return ModelError(f"{where}: {self.message}")
        return ModelError(f"{where} failed: {self.kind}: {self.message}")


@dataclass(frozen=True)
class ReplicaInfo:
    """Who a replica is: its process, its node, the model it loaded (or why it could not)."""

    incarnation: str
    node: str
    pid: int
    fingerprint: str | None
    load_seconds: float
    failure: Failure | None = None


@dataclass(frozen=True)
class Progress:
    """A job's results after the `since` the driver asked from, and whether the job is over."""

    incarnation: str
    job: int
    results: tuple[tuple[int, Result], ...]
    stats: LoglikelihoodStats | None
    done: bool
    failure: Failure | None = None


class Replica:
    """The model on one node, doing one job at a time in a thread of its own.

    Args:
        spec: The model's spec string, with local paths made absolute.
        options: How to load it (device already chosen by the driver).
        threads: Torch threads on a CPU replica (the CPUs Ray reserved for it).
    """

    def __init__(self, spec: str, options: ModelOptions, threads: int | None) -> None:
        self.incarnation = uuid.uuid4().hex
        self._lock = threading.Condition()
        self._job: Job | None = None
        self._results: list[tuple[int, Result]] = []
        self._stats: LoglikelihoodStats | None = None
        self._done = True
        self._failure: Failure | None = None
        self._worker: threading.Thread | None = None
        began = time.perf_counter()
        self.model: Any = None
        self.load_failure: Failure | None = None
        try:
            _quiet_libraries()
            if threads is not None:
                import torch

                torch.set_num_threads(max(1, threads))
            from assay.models.registry import load_model

            self.model = load_model(spec, options)
            self.model.load()
            self.fingerprint: str | None = self.model.info.fingerprint
        except BaseException as error:  # reported by ready(), never raised in the constructor
            self.load_failure = Failure.of(error)
            self.fingerprint = None
        self.load_seconds = round(time.perf_counter() - began, 3)

    def ready(self) -> ReplicaInfo:
        """Who this replica is, once the model is loaded (or failed to load)."""
        return ReplicaInfo(
            self.incarnation,
            socket.gethostname(),
            os.getpid(),
            self.fingerprint,
            self.load_seconds,
            self.load_failure,
        )

    def start(self, job: Job) -> str:
        """Start a job (after any job still running, which the driver gave up on)."""
        if self._worker is not None:
            self._worker.join()
        with self._lock:
            self._job, self._results, self._done, self._failure = job, [], False, None
            self._stats = LoglikelihoodStats() if isinstance(job.work, LoglikelihoodWork) else None
        self._worker = threading.Thread(target=self._run, args=(job,), daemon=True, name="job")
        self._worker.start()
        return self.incarnation

    def take(self, job: int, since: int, wait: float) -> Progress:
        """The job's results after the first `since`, waiting up to `wait` seconds for one."""
        with self._lock:
            if self._job is None or self._job.id != job:
                return Progress(self.incarnation, job, (), None, True, _lost(job))
            self._lock.wait_for(lambda: len(self._results) > since or self._done, timeout=wait)
            stats = replace(self._stats) if self._stats is not None else None
            return Progress(
                self.incarnation,
                job,
                tuple(self._results[since:]),
                stats,
                self._done,
                self._failure,
            )

    def _run(self, job: Job) -> None:
        try:
            if self.load_failure is not None:
                raise ModelError(self.load_failure.message)
            if isinstance(job.work, GenerateWork):
                self.model.generate(
                    list(job.work.prompts),
                    job.work.params,
                    on_result=lambda k, generation: self._add(job.indices[k], generation),
                )
            else:
                self.model.loglikelihood(
                    list(job.work.requests),
                    on_result=lambda k, logprob, greedy: self._add(
                        job.indices[k], (logprob, greedy)
                    ),
                    stats=self._stats,
                )
        except BaseException as error:
            with self._lock:
                self._failure = Failure.of(error)
        finally:
            with self._lock:
                self._done = True
                self._lock.notify_all()

    def _add(self, index: int, result: Result) -> None:
        with self._lock:
            self._results.append((index, result))
            self._lock.notify_all()


def _lost(job: int) -> Failure:
    return Failure("LostJob", f"job {job} is not on this replica (its process restarted)")


def _quiet_libraries() -> None:
    """The environment the CLI gives a local run: no progress bars or advisory warnings."""
    for name, value in (
        ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
        ("TRANSFORMERS_VERBOSITY", "error"),
        ("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1"),
        ("TOKENIZERS_PARALLELISM", "false"),
    ):
        os.environ.setdefault(name, value)

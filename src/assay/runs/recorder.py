"""The one lifecycle of a run, for eval, bench, score and retry alike.

    claim ──► add a batch, add a batch, ... ──► finish (complete | incomplete)
      │         (each batch one transaction,      │
      │          with its cache entries)          └─► failed (an error) | interrupted (Ctrl-C)
      └─ by run key: resume the newest run of this key unless it is complete; wait
         while another live process holds it; or create a new one

Only one process works on a run key at a time: the store keeps at most one
"running" run per key (a unique index), so two processes that start the same
command race for that row and the loser waits for the winner's run, then returns
it. While it holds a run, a process refreshes the run's heartbeat from a
background thread; one that dies is noticed (see ownership.py) and the next
identical command takes over where it stopped.

Statuses tell the truth: a run is "complete" only when every example has a usable
output and is scored; "incomplete" says how many failed and why.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from types import TracebackType

from assay.exceptions import AssayError, RunInProgressError, StoreError
from assay.models.base import Generation
from assay.runs.ownership import HEARTBEAT_SECONDS, this_owner
from assay.runs.records import ExampleResult, RunInfo, RunStats, RunStatus
from assay.store import Store

POLL_SECONDS = 1.0
"""How often a process waiting for another one's run looks again."""

log = logging.getLogger("assay")


class RunRecorder:
    """A run held by this process: results are added batch by batch, then it is finished.

    Use :meth:`claim` (by run key: eval and bench) or :meth:`take` (by id: score and
    retry), then as a context manager, so that an error marks the run failed and
    Ctrl-C marks it interrupted::

        recorder = RunRecorder.claim(store, key, make_info)
        if not recorder.owned:            # another process did this run meanwhile
            return store.load_run(recorder.run_id)
        with recorder:
            recorder.add(results)
            recorder.finish(stats)

    Attributes:
        info: The run as claimed.
        owned: False when another process did the run while this one waited.
        stored: Example id -> failed, for the examples stored before this claim.
    """

    def __init__(self, store: Store, info: RunInfo, *, owned: bool) -> None:
        self.store = store
        self.info = info
        self.owned = owned
        self.owner = this_owner()
        self.stored: dict[str, bool] = store.stored_examples(info.id) if owned else {}
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._ended = not owned
        self._beat: threading.Thread | None = None
        if owned:
            self._beat = threading.Thread(target=self._heartbeat, daemon=True, name="heartbeat")
            self._beat.start()

    @property
    def run_id(self) -> str:
        return self.info.id

    @property
    def resumed(self) -> int:
        """Examples with a usable output stored before this claim."""
        return sum(not failed for failed in self.stored.values())

    # -- claiming --------------------------------------------------------------------------

    @classmethod
    def claim(
        cls,
        store: Store,
        run_key: str,
        new_info: Callable[[], RunInfo],
        *,
        wait: bool = True,
    ) -> RunRecorder:
        """Hold the run of this key: resume the newest one unless it is complete, else
        create one with ``new_info()``.

        Args:
            store: The store.
            run_key: What identifies the run's outputs.
            new_info: Makes the RunInfo of a new run (status "running").
            wait: Wait while another live process holds the key (else raise); the wait
                is logged once, naming the run and the process that holds it.

        Raises:
            RunInProgressError: Another live process holds the key and ``wait`` is False.
        """
        owner = this_owner()
        waited_for: str | None = None
        while True:
            runs = store.runs_with_key(run_key)
            live = next((r for r in runs if r.status == "running"), None)
            if live is not None:
                if not wait:
                    raise _in_progress(live)
                if waited_for is None:
                    log.info(
                        "waiting for run %s: process %s is doing the same run", live.id, live.owner
                    )
                waited_for = live.id
                time.sleep(POLL_SECONDS)
                continue
            if waited_for is not None:
                done = next((r for r in runs if r.id == waited_for), None)
                if done is not None and done.status in ("complete", "incomplete"):
                    return cls(store, done, owned=False)
            newest = runs[0] if runs else None
            if newest is not None and newest.status != "complete":
                if store.take_over(newest, owner):
                    return cls(store, store.get_run_info(newest.id), owned=True)
                time.sleep(POLL_SECONDS / 10)  # another process changed it: look again
                continue
            info = new_info()
            info.owner = owner
            info.heartbeat_at = datetime.now(timezone.utc)
            info.status = "running"
            if store.try_create_run(info):
                return cls(store, store.get_run_info(info.id), owned=True)

    @classmethod
    def take(cls, store: Store, run: str) -> RunRecorder:
        """Hold a stored run by id or name (to score it again, or retry its failures).

        Raises:
            RunInProgressError: A live process is working on it.
        """
        info = store.get_run_info(run)
        if info.status == "running":
            raise _in_progress(info)
        if not store.take_over(info, this_owner()):
            raise _in_progress(store.get_run_info(info.id))
        return cls(store, store.get_run_info(info.id), owned=True)

    # -- adding results --------------------------------------------------------------------

    def add(
        self,
        results: Sequence[ExampleResult],
        *,
        generations: Mapping[str, Generation] | None = None,
        loglikelihoods: Mapping[str, tuple[float, bool]] | None = None,
    ) -> None:
        """Commit a batch of results with its cache entries, in one transaction.

        Raises:
            StoreError: Another process took the run over (this one was thought dead).
        """
        if self._lost.is_set():
            raise StoreError(
                f"run {self.run_id} was taken over by another process: this one was "
                f"silent for longer than the lease; its work so far is kept"
            )
        self.store.add_results(
            self.run_id, results, generations=generations, loglikelihoods=loglikelihoods
        )

    # -- ending ----------------------------------------------------------------------------

    def finish(self, stats: RunStats, seconds: float, *, retry_hint: str = "") -> RunInfo:
        """End the run: complete, or incomplete when some examples failed.

        The failed ones are counted and the most common reason is named in the
        run's message, with the command that retries them.
        """
        run = self.store.load_run(self.run_id)
        failed = [r for r in run.results if r.failed]
        stats.failed = len(failed)
        status: RunStatus = "incomplete" if failed else "complete"
        message = None
        if failed:
            reasons = Counter(_first_line(r.error) for r in failed)
            reason, _ = reasons.most_common(1)[0]
            message = f"{len(failed)} of {len(run.results)} failed: {reason} — not scored" + (
                f"; {retry_hint}" if retry_hint else ""
            )
        self._end(status, message=message, seconds=seconds, stats=stats)
        return self.store.get_run_info(self.run_id)

    def restore(self, status: RunStatus, message: str | None) -> None:
        """End the run in a status it had before (score keeps a run as it was)."""
        self._end(status, message=message)

    def __enter__(self) -> RunRecorder:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._ended:
            return
        if error is None:
            self._end("interrupted", message="ended without finishing")
        elif isinstance(error, KeyboardInterrupt):
            self._end("interrupted", message="interrupted by the user")
        elif isinstance(error, AssayError):
            self._end("failed", message=str(error))
        else:
            self._end("failed", message=f"{type(error).__name__}: {error}")

    def _end(
        self,
        status: RunStatus,
        *,
        message: str | None,
        seconds: float | None = None,
        stats: RunStats | None = None,
    ) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
        self._ended = True
        self.store.end_run(self.run_id, status, message=message, seconds=seconds, stats=stats)

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                held = self.store.heartbeat(self.run_id, self.owner)
            except AssayError:  # a busy store: try again at the next beat
                continue
            if not held:
                self._lost.set()
                return


def _in_progress(info: RunInfo) -> RunInProgressError:
    since = f" since {info.created_at:%H:%M:%S}" if info.created_at else ""
    return RunInProgressError(
        f"run {info.id} ({info.name}) is in progress in process {info.owner}{since}; "
        "wait for it, or run the same command again later to get its result"
    )


def _first_line(text: str | None) -> str:
    line = (text or "unknown error").strip().splitlines()[0] if text else "unknown error"
    return line if len(line) <= 120 else line[:119] + "…"

"""The driver's side of a Ray run: shards out to replicas, results back, lost work dealt again.

    deal shards ──► start a job on each ready replica ──► take its results (after the ones
        ▲            held) and hand them to the caller, until every item is in
        │                                   │
        └── a replica lost (its process killed, its node gone, restarted by Ray):
            what it had not sent is dealt again among the replicas still standing

Every item is handed to the caller exactly once: results are taken by item, an
item already handed over is never handed over again (a job given up on and then
heard from, say), and the caller — the run's recorder, in the driver — is the
only one that writes the store.

Only Ray's calls are made here; the replicas' code is in replica.py.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from assay.exceptions import ModelError
from assay.executors.replica import (
    GenerateWork,
    Job,
    LoglikelihoodWork,
    Progress,
    ReplicaInfo,
    Result,
)
from assay.models.base import LoglikelihoodStats

log = logging.getLogger("assay")

TAKE_WAIT = 1.0
"""Most seconds a replica holds a take open while it has no new result."""
LOOK_AGAIN = 1.0
"""Seconds between two looks at a replica that Ray is restarting."""

Deal = Callable[[Sequence[int], int], list[list[int]]]
"""(items, shards) -> the items dealt into at most that many shards."""
Deliver = Callable[[int, Result], None]
"""Called with (item, result) once per item, in the driver."""
MakeWork = Callable[[Sequence[int]], GenerateWork | LoglikelihoodWork]
"""The work of these items, for one job."""

SlotState = Literal["loading", "idle", "busy", "restarting", "dead"]


@dataclass
class _Assignment:
    job: Job
    incarnation: str
    received: int = 0


@dataclass
class Slot:
    """One replica as the driver sees it.

    Attributes:
        number: 1, 2, ... (as messages name it).
        handle: Ray's actor handle.
        info: What the replica said about itself when it was last ready.
        state: loading (the model), idle, busy (a job), restarting (by Ray), dead.
        since: When it entered its state (restarting replicas are given up on after a while).
    """

    number: int
    handle: Any
    info: ReplicaInfo | None = None
    state: SlotState = "loading"
    assignment: _Assignment | None = None
    since: float = field(default_factory=time.monotonic)
    look_at: float = 0.0

    @property
    def name(self) -> str:
        where = f" on {self.info.node} (pid {self.info.pid})" if self.info else ""
        return f"replica {self.number}{where}"

    def enter(self, state: SlotState) -> None:
        self.state = state
        self.since = time.monotonic()


@dataclass
class _Round:
    """One `run` call: what is left, what waits for a replica, where results go."""

    remaining: set[int]
    pool: deque[list[int]]
    make_work: MakeWork
    deal: Deal
    deliver: Deliver
    stats: _StatsTracker


class Scheduler:
    """Runs work on a set of replicas; each `run` call hands every item over once.

    Args:
        slots: The replicas, created by the executor (loading their model).
        expected_fingerprint: The driver's model fingerprint; a replica that loaded a
            different model would store outputs under the wrong identity, so it is refused.
        restart_timeout: Seconds a replica Ray is restarting may take before it counts as gone.
    """

    def __init__(
        self, slots: list[Slot], expected_fingerprint: str, restart_timeout: float
    ) -> None:
        import ray

        self.ray = ray
        # Gone for good (no restarts left, or its creation failed); any other actor error
        # (ActorUnavailableError since Ray 2.2x) means Ray may bring it back.
        self._died = getattr(ray.exceptions, "ActorDiedError", ())
        self.slots = slots
        self.expected = expected_fingerprint
        self.restart_timeout = restart_timeout
        self._calls: dict[Any, tuple[Slot, str]] = {}
        self._jobs = 0
        self._round: _Round | None = None
        for slot in slots:
            self._call(slot, "ready", slot.handle.ready.remote())

    def wait_until_ready(self) -> None:
        """Wait for every replica to load the model; raise the first one's error."""
        while any(s.state in ("loading", "restarting") for s in self.slots):
            self._step()

    def run(
        self,
        items: Sequence[int],
        make_work: MakeWork,
        deal: Deal,
        deliver: Deliver,
        stats: LoglikelihoodStats | None = None,
    ) -> None:
        """Deal the items among the replicas and hand each result to `deliver` once.

        Raises:
            ModelError: A replica failed on the work (the error is the replica's), or
                every replica is gone.
        """
        self._round = _Round(
            remaining=set(items),
            pool=deque(deal(list(items), self._standing())),
            make_work=make_work,
            deal=deal,
            deliver=deliver,
            stats=_StatsTracker(stats),
        )
        try:
            while self._round.remaining:
                self._assign(self._round)
                self._step()
        finally:
            self._round = None

    # -- one turn of the loop --------------------------------------------------------------

    def _step(self) -> None:
        self._look_at_restarting()
        if not self._calls:
            if not any(s.state == "restarting" for s in self.slots):
                raise ModelError(
                    "every replica is gone; the results received so far are stored: run "
                    "the same command again to resume"
                )
            time.sleep(0.05)
            return
        ready, _ = self.ray.wait(list(self._calls), num_returns=1, timeout=LOOK_AGAIN)
        for ref in ready:
            slot, purpose = self._calls.pop(ref)
            try:
                value = self.ray.get(ref)
            except self.ray.exceptions.RayActorError as error:
                self._lost(slot, error)
                continue
            if purpose == "ready":
                self._on_ready(slot, value)
            elif self._round is not None:
                self._on_progress(slot, value, self._round)

    def _on_ready(self, slot: Slot, info: ReplicaInfo) -> None:
        if info.failure is not None:
            raise info.failure.error(f"replica {slot.number} on {info.node}")
        if info.fingerprint != self.expected:
            raise ModelError(
                f"replica {slot.number} on {info.node} loaded a different model (fingerprint "
                f"{(info.fingerprint or '')[:12]}, this process's {self.expected[:12]}): give "
                "every node the same model files and packages, and the same dtype"
            )
        again = slot.info is not None
        slot.info = info
        slot.enter("idle")
        log.info(
            "%s %s the model in %.1f s",
            slot.name,
            "was restarted and loaded" if again else "loaded",
            info.load_seconds,
        )

    def _on_progress(self, slot: Slot, progress: Progress, round_: _Round) -> None:
        assignment = slot.assignment
        if assignment is None or progress.job != assignment.job.id:
            return  # a job given up on
        if progress.incarnation != assignment.incarnation:
            self._requeue(slot, round_, "was restarted")
            return
        round_.stats.update(assignment.job.id, progress.stats)
        assignment.received += len(progress.results)
        for index, result in progress.results:
            if index in round_.remaining:
                round_.remaining.discard(index)
                round_.deliver(index, result)
        if progress.failure is not None:
            raise progress.failure.error(slot.name)
        if not progress.done:
            self._take(slot, assignment)
            return
        slot.assignment = None
        slot.enter("idle")
        missing = sum(i in round_.remaining for i in assignment.job.indices)
        if missing:
            raise ModelError(f"{slot.name} ended its work with no result for {missing} items")

    # -- assigning -------------------------------------------------------------------------

    def _assign(self, round_: _Round) -> None:
        for slot in self.slots:
            if not round_.pool:
                return
            if slot.state != "idle" or slot.info is None:
                continue
            indices = round_.pool.popleft()
            self._jobs += 1
            job = Job(self._jobs, tuple(indices), round_.make_work(indices))
            slot.handle.start.remote(job)
            slot.assignment = _Assignment(job, slot.info.incarnation)
            slot.enter("busy")
            self._take(slot, slot.assignment)

    def _take(self, slot: Slot, assignment: _Assignment) -> None:
        ref = slot.handle.take.remote(assignment.job.id, assignment.received, TAKE_WAIT)
        self._call(slot, "take", ref)

    def _call(self, slot: Slot, purpose: str, ref: Any) -> None:
        self._calls[ref] = (slot, purpose)

    # -- losing a replica ------------------------------------------------------------------

    def _lost(self, slot: Slot, error: Exception) -> None:
        """A call to the slot failed: Ray is restarting it, or it is gone for good."""
        for ref in [r for r, (s, _) in self._calls.items() if s is slot]:
            del self._calls[ref]
        told = slot.state == "restarting"  # asked again while Ray restarts it: said already
        if not isinstance(error, self._died):
            if not told:
                slot.enter("restarting")
            slot.look_at = time.monotonic() + LOOK_AGAIN
            reason = "is unreachable (Ray restarts it)"
        else:
            slot.enter("dead")
            told = False
            reason = f"is gone ({_first_line(error)})"
        if self._round is not None and slot.assignment is not None:
            self._requeue(slot, self._round, reason)
        elif not told:
            log.warning("%s %s", slot.name, reason)

    def _requeue(self, slot: Slot, round_: _Round, reason: str) -> None:
        """Deal what the slot's job had not sent among the replicas still standing."""
        assignment, slot.assignment = slot.assignment, None
        if slot.state == "busy":
            slot.enter("idle")
        if assignment is None:
            return
        left = [i for i in assignment.job.indices if i in round_.remaining]
        if left:
            round_.pool.extend(round_.deal(left, self._standing()))
        log.warning("%s %s: its %d unfinished items are dealt again", slot.name, reason, len(left))

    def _look_at_restarting(self) -> None:
        """Ask the replicas Ray is restarting whether they are back; give up on slow ones."""
        now = time.monotonic()
        asked = {s.number for s, _ in self._calls.values()}
        for slot in self.slots:
            if slot.state != "restarting" or slot.number in asked or now < slot.look_at:
                continue
            if now - slot.since > self.restart_timeout:
                slot.enter("dead")
                log.warning(
                    "%s was not back after %.0f s: given up on", slot.name, self.restart_timeout
                )
                continue
            slot.look_at = now + LOOK_AGAIN
            self._call(slot, "ready", slot.handle.ready.remote())

    def _standing(self) -> int:
        return max(1, sum(s.state != "dead" for s in self.slots))


class _StatsTracker:
    """The caller's LoglikelihoodStats as the sum of every job's latest counts."""

    def __init__(self, stats: LoglikelihoodStats | None) -> None:
        self.stats = stats
        self.jobs: dict[int, LoglikelihoodStats] = {}

    def update(self, job: int, latest: LoglikelihoodStats | None) -> None:
        if self.stats is None or latest is None:
            return
        self.jobs[job] = latest
        for name in (f.name for f in fields(LoglikelihoodStats)):
            setattr(self.stats, name, sum(getattr(s, name) for s in self.jobs.values()))


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:160] if lines else type(error).__name__

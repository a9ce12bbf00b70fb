"""Who is working on a running run, and whether that process is still alive.

A process that works on a run writes its owner string ("host:pid") into the run
and refreshes ``heartbeat_at`` every ``HEARTBEAT_SECONDS`` from a background
thread, while it holds the run. Another process decides the owner is gone when
either

- the owner is on this host and its pid no longer exists (so a run whose process
  was killed is taken over at once, without waiting for a lease), or
- the heartbeat is older than ``LEASE_SECONDS`` (an owner on another host that
  crashed, or a pid that the system has reused since).

A running run whose owner is gone reads as "interrupted", and the next identical
command resumes it.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path

HEARTBEAT_SECONDS = 10.0
"""How often a working process refreshes its run's heartbeat."""

LEASE_SECONDS = 60.0
"""How long a heartbeat stays valid: an owner silent for longer is gone."""


def this_owner() -> str:
    """The owner string of this process: "host:pid"."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(
    owner: str | None, heartbeat_at: datetime | None, *, lease_seconds: float = LEASE_SECONDS
) -> bool:
    """Whether the process that holds a run is still working on it."""
    if owner is None or heartbeat_at is None:
        return False
    now = datetime.now(timezone.utc)
    if heartbeat_at.tzinfo is None:
        heartbeat_at = heartbeat_at.replace(tzinfo=timezone.utc)
    if now - heartbeat_at > timedelta(seconds=lease_seconds):
        return False
    host, _, pid = owner.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        return _pid_exists(int(pid))
    return True


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A killed process its parent has not reaped yet (Linux); False where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]

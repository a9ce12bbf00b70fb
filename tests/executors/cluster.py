"""A real two-node Ray cluster on this machine, for the executor tests.

Two `ray start --block` processes, each a node with one CPU and its own temp
folder: the head, and a second node joined to it by address. Every port is
chosen free (other agents and test runs share the machine), and the cluster is
stopped by terminating exactly the two processes started here (`--block` makes
each one stop its node's processes when it gets SIGTERM), never by `ray stop`,
which stops every Ray process of the user.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

RAY = Path(sys.executable).with_name("ray")
STARTED = "Ray runtime started"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_range(size: int) -> tuple[int, int]:
    """`size` consecutive ports nothing listens on (for a node's workers)."""
    for _ in range(200):
        start = random.randrange(30000, 60000 - size)
        if all(_is_free(port) for port in range(start, start + size)):
            return start, start + size - 1
    raise RuntimeError(f"no {size} consecutive free ports")


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class LocalCluster:
    """The cluster's address and the processes that hold its two nodes."""

    root: Path
    address: str = ""
    client_address: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, timeout: float = 180) -> None:
        port, client = free_port(), free_port()
        self.address = f"127.0.0.1:{port}"
        self.client_address = f"ray://127.0.0.1:{client}"
        head = [
            "--head", "--port", str(port), "--ray-client-server-port", str(client),
            "--dashboard-port", str(free_port()), "--include-dashboard", "false",
        ]  # fmt: skip
        self._node("head", head, timeout)
        self._node("node2", ["--address", self.address], timeout)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def _node(self, name: str, role: list[str], timeout: float) -> None:
        low, high = free_range(40)
        folder = self.root / name
        folder.mkdir(parents=True)
        args = [
            str(RAY), "start", *role, "--num-cpus", "1", "--node-ip-address", "127.0.0.1",
            "--temp-dir", str(folder), "--disable-usage-stats", "--block",
            "--node-manager-port", str(free_port()), "--object-manager-port", str(free_port()),
            "--dashboard-agent-listen-port", str(free_port()),
            "--dashboard-agent-grpc-port", str(free_port()),
            "--runtime-env-agent-port", str(free_port()),
            "--metrics-export-port", str(free_port()),
            "--min-worker-port", str(low), "--max-worker-port", str(high),
            "--object-store-memory", str(200 * 2**20),
        ]  # fmt: skip
        log = folder / "start.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                args,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
            )
        self.processes.append(process)
        deadline = time.monotonic() + timeout
        while STARTED not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                said = log.read_text(errors="replace")[-3000:]
                self.stop()
                raise RuntimeError(f"ray node {name} did not start:\n{said}")
            time.sleep(0.25)


def start_cluster() -> LocalCluster:
    """A started two-node cluster in a short temp folder (Ray's socket paths must stay short)."""
    cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="ray", dir="/tmp")))
    cluster.start()
    return cluster

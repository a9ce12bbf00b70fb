"""`--executor ray` on a real two-node Ray cluster with PostgreSQL as the store: two
replicas equal a local run; a replica SIGKILLed mid-run and a driver SIGKILLed mid-run
both end with every example stored exactly once and the local run's predictions."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
import torch
from tests.postgres import fresh_database

import assay
from assay.exceptions import OptionError
from assay.executors import RayOptions
from assay.store import open_store

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
MODEL = "smollm2-135m-instruct"
DATA = REPO / "examples" / "qa" / "test.jsonl"
N = 24
SETTINGS = {"limit": N, "max_new_tokens": 16, "batch_size": 4, "dtype": "float32"}


@pytest.fixture(scope="module")
def local_predictions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The reference: the same eval in this process, the model loaded here."""
    db = tmp_path_factory.mktemp("local") / "assay.db"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each replica runs; and a shared 2-core machine
    try:
        run = assay.evaluate(MODEL, DATA, store=str(db), progress=False, **SETTINGS)  # type: ignore[arg-type]
    finally:
        torch.set_num_threads(threads)
    assert run.info.status == "complete"
    return {r.example_id: r.prediction for r in run.results}


def stored(url: str) -> list[tuple[str, str]]:
    """(example id, prediction) of every stored result, read as another process would."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT example_id, prediction FROM results").fetchall()
    return [(str(i), str(p)) for i, p in rows]


def committed(url: str) -> int:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            return int(conn.execute("SELECT count(*) FROM results").fetchone()[0])  # type: ignore[index]
    except psycopg.errors.UndefinedTable:
        return 0


def assert_once_each(url: str, expected: dict[str, str]) -> None:
    rows = stored(url)
    ids = [i for i, _ in rows]
    assert len(ids) == len(set(ids)) == N, "an example is missing or stored twice"
    assert dict(rows) == expected


def test_two_replicas_equal_a_local_run(
    ray_cluster: str, local_predictions: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with fresh_database() as url, caplog.at_level(logging.INFO, logger="assay"):
        ray = RayOptions(address=ray_cluster, replicas=2)
        run = assay.evaluate(MODEL, DATA, store=url, progress=False, executor=ray, **SETTINGS)  # type: ignore[arg-type]
        assert run.info.status == "complete" and run.info.stats.generated == N
        assert {r.example_id: r.prediction for r in run.results} == local_predictions
        assert_once_each(url, local_predictions)
        loaded = [m for m in caplog.messages if re.match(r"replica \d on .* loaded the model", m)]
        assert len(loaded) == 2

        # the outputs went into the generation cache under the local run's keys
        again = assay.evaluate(MODEL, DATA, store=url, progress=False, **SETTINGS)  # type: ignore[arg-type]
        assert again.info.stats.cached == N
        with open_store(url) as store:
            assert len(store.list_runs()) == 2


def test_replicas_the_cluster_cannot_hold_are_refused_at_once(ray_cluster: str) -> None:
    ray = RayOptions(address=ray_cluster, replicas=3)
    with fresh_database() as url, pytest.raises(OptionError, match="holds 2") as raised:
        assay.evaluate(MODEL, DATA, store=url, progress=False, executor=ray, **SETTINGS)  # type: ignore[arg-type]
    assert raised.value.option == "replicas"


class Driver:
    """`assay eval --executor ray` in its own process, its stderr read as it comes."""

    def __init__(self, url: str, address: str) -> None:
        command = [
            sys.executable, "-m", "assay", "eval", "--model", MODEL, "--data", str(DATA),
            "--limit", str(N), "--max-new-tokens", "16", "--batch-size", "4",
            "--dtype", "float32", "--executor", "ray", "--replicas", "2",
            "--ray-address", address, "--db", url, "--no-progress",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip())

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def replica_pids(self) -> list[int]:
        return [int(p) for p in re.findall(r"replica \d on .* \(pid (\d+)\) loaded", self.stderr)]

    def wait_for(self, url: str, results: int, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while committed(url) < results:
            assert self.process.poll() is None, f"the eval ended early:\n{self.stderr}"
            assert time.monotonic() < deadline, f"no {results} results in {timeout} s"
            time.sleep(0.05)

    def finish(self, timeout: float = 300) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return code


def test_a_replica_killed_mid_run_loses_and_duplicates_nothing(
    ray_cluster: str, local_predictions: dict[str, str]
) -> None:
    with fresh_database() as url:
        driver = Driver(url, ray_cluster)
        try:
            driver.wait_for(url, 4)
            victim = driver.replica_pids()[0]
            os.kill(victim, signal.SIGKILL)
            code = driver.finish()
        finally:
            driver.process.kill()
        assert code == 0, driver.stderr
        assert "unfinished items are dealt again" in driver.stderr
        assert_once_each(url, local_predictions)
        with open_store(url) as store:
            [info] = store.list_runs()
        assert info.status == "complete"


def test_a_driver_killed_mid_run_resumes_like_a_local_run(
    ray_cluster: str, local_predictions: dict[str, str]
) -> None:
    with fresh_database() as url:
        first = Driver(url, ray_cluster)
        try:
            first.wait_for(url, 4)
            os.kill(first.process.pid, signal.SIGKILL)
            first.finish()
        finally:
            first.process.kill()
        kept = committed(url)
        assert 4 <= kept < N

        again = Driver(url, ray_cluster)
        assert again.finish() == 0, again.stderr
        assert_once_each(url, local_predictions)
        with open_store(url) as store:
            [info] = store.list_runs()
        assert info.status == "complete"
        assert info.stats.resumed == kept and info.stats.generated == N - kept

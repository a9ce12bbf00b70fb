"""Fixtures of the executor tests: a real two-node Ray cluster (started once, on first
use) and the benchmark data in the hub schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.executors.cluster import LocalCluster, start_cluster

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def ray_cluster(local_cluster: LocalCluster) -> str:
    """The address of a two-node, two-CPU Ray cluster on this machine."""
    return local_cluster.address


@pytest.fixture(scope="session")
def local_cluster() -> Iterator[LocalCluster]:
    """A two-node, two-CPU Ray cluster on this machine.

    Token authentication is off for the cluster and every driver the tests start (this
    process, `assay` subprocesses): Ray turns it on by itself once any local `ray.init()`
    has left a token in ~/.ray, and nodes and drivers must agree.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAY_AUTH_MODE", "disabled")
        cluster = start_cluster()
        try:
            yield cluster
        finally:
            cluster.stop()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "arc").is_dir():
        pytest.skip(f"the offline benchmark data is not at {SHARED_DATA}")
    return SHARED_DATA

"""Fixtures of the executor tests: a real two-node Ray cluster (started once, on first
use) and the benchmark data in the hub schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.executors.cluster import start_cluster

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """The address of a two-node, two-CPU Ray cluster on this machine."""
    cluster = start_cluster()
    try:
        yield cluster.address
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "arc").is_dir():
        pytest.skip(f"the offline benchmark data is not at {SHARED_DATA}")
    return SHARED_DATA

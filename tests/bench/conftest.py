"""Fixtures for the benchmark tests: the bundled real data and a folder laid out like --data-dir."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "arc").is_dir():
        pytest.skip(f"the offline benchmark data is not at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def bench_data(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Like shared/data, with HellaSwag's 10 sample rows as both its train and validation split."""
    root = tmp_path_factory.mktemp("bench-data")
    for name in ("arc", "mmlu", "truthfulqa"):
        (root / name).symlink_to(shared_data / name)
    (root / "hellaswag").mkdir()
    sample = shared_data / "hellaswag" / "validation_sample.jsonl"
    (root / "hellaswag" / "validation.jsonl").symlink_to(sample)
    (root / "hellaswag" / "train.jsonl").symlink_to(sample)
    return root

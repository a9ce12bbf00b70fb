"""Records, and a store on each backend (SQLite in tmp_path, a fresh PostgreSQL database),
shared by the store tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from tests.postgres import fresh_database

from assay.data.prompts import PromptConfig
from assay.metrics.base import Score
from assay.models.base import GenerationParams
from assay.runs.records import EvalConfig, ExampleResult, RunInfo
from assay.store import Store, open_store

T0 = datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc)


def _make_info(run_id: str = "a1b2c3d4e5f6", *, minutes: int = 0, **changes: Any) -> RunInfo:
    """A run description; `minutes` after T0 sets its creation time."""
    fields: dict[str, Any] = {
        "id": run_id,
        "name": f"tiny on qa ({run_id})",
        "kind": "eval",
        "status": "running",
        "run_key": f"key-{run_id}",
        "model_spec": "smollm2-135m-instruct",
        "model_fingerprint": "mfp",
        "dataset_name": "qa.jsonl",
        "dataset_fingerprint": "dfp",
        "n_examples": 4,
        "model_details": {"dtype": "float32"},
        "config": EvalConfig(
            prompt=PromptConfig("chat", "{input}", None),
            generation=GenerationParams(max_new_tokens=16, stop=("\n",)),
        ),
        "metrics": ["exact_match"],
        "assay_version": "0.1.0",
        "created_at": T0 + timedelta(minutes=minutes),
    }
    fields.update(changes)
    return RunInfo(**fields)


def _make_result(i: int, **changes: Any) -> ExampleResult:
    """The result for example i (id "ex<i>", position i), scored by exact_match."""
    fields: dict[str, Any] = {
        "example_id": f"ex{i}",
        "position": i,
        "input": f"question {i} — ünïcode",
        "reference": f"answer {i}",
        "prompt": f"<user>question {i}</user>",
        "prediction": f"answer {i}" if i % 2 == 0 else "wrong",
        "prompt_tokens": 10 + i,
        "completion_tokens": 3,
        "finish_reason": "stop",
        "seconds": 0.25,
        "truncated_tokens": 0,
        "error": None,
        "cached": i == 1,
        "metadata": {"topic": f"t{i % 2}", "difficulty": i},
        "scores": {"exact_match": Score(1.0 if i % 2 == 0 else 0.0)},
    }
    fields.update(changes)
    return ExampleResult(**fields)


MakeInfo = Callable[..., RunInfo]
MakeResult = Callable[..., ExampleResult]


@pytest.fixture
def make_info() -> MakeInfo:
    """Factory: make_info(run_id="a1b2c3d4e5f6", *, minutes=0, **field_changes)."""
    return _make_info


@pytest.fixture
def make_result() -> MakeResult:
    """Factory: make_result(i, **field_changes)."""
    return _make_result


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "assay.db"


@pytest.fixture
def sqlite_store(db_path: Path) -> Iterator[Store]:
    with open_store(str(db_path)) as opened:
        yield opened


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A postgresql:// URL of an empty database, dropped after the test."""
    with fresh_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, db_path: Path) -> Iterator[Store]:
    """A store on each backend in turn: every store test runs on both."""
    if request.param == "sqlite":
        with open_store(str(db_path)) as opened:
            yield opened
    else:
        with fresh_database() as url, open_store(url) as opened:
            yield opened

"""Fixtures shared across the test tree: the metric registry guard and the tiny QA files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from assay.metrics import registry

# Property tests judge what comes out, never how fast: on a loaded CI machine an example
# can take seconds, and hypothesis's default 200 ms deadline would fail it for that alone.
settings.register_profile("assay", deadline=None)
settings.load_profile("assay")

FILES = Path(__file__).parent / "files"
REPO = Path(__file__).parent.parent


@pytest.fixture
def clean_registry() -> Iterator[None]:
    """Lets a test register metrics without leaving them behind for the others."""
    saved = dict(registry._REGISTRY)
    yield
    registry._REGISTRY.clear()
    registry._REGISTRY.update(saved)


@pytest.fixture
def qa_data() -> Path:
    """Four questions with id, question, answer (and a topic on some)."""
    return FILES / "qa_tiny.jsonl"


@pytest.fixture
def qa_preds() -> Path:
    """Predictions for qa_tiny.jsonl by id: exact_match 0.25, f1 13/24 (see test_runner.py)."""
    return FILES / "qa_tiny_preds.jsonl"


@pytest.fixture
def qa_preds_csv() -> Path:
    """The same predictions as qa_tiny_preds.jsonl, as CSV naming examples by question."""
    return FILES / "qa_tiny_preds.csv"

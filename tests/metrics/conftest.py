"""Shared fixtures for the metric tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assay.metrics import registry


@pytest.fixture
def clean_registry() -> Iterator[None]:
    """Lets a test register metrics without leaving them behind for the others."""
    saved = dict(registry._REGISTRY)
    yield
    registry._REGISTRY.clear()
    registry._REGISTRY.update(saved)

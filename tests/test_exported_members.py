"""The public API of assay and of each public subpackage is exactly its `__all__`:
every name listed exists, and every public name defined there is listed (httpx's rule)."""

from __future__ import annotations

import importlib
import types

import pytest

PUBLIC = [
    "assay",
    "assay.arena",
    "assay.bench",
    "assay.card",
    "assay.cli",
    "assay.compare",
    "assay.data",
    "assay.datacheck",
    "assay.error_analysis",
    "assay.evaluation",
    "assay.integrations",
    "assay.judge",
    "assay.metrics",
    "assay.models",
    "assay.report",
    "assay.review",
    "assay.runs",
    "assay.serve",
    "assay.store",
    "assay.web",
]


@pytest.mark.parametrize("name", PUBLIC)
def test_all_lists_exactly_the_public_names(name: str) -> None:
    module = importlib.import_module(name)
    listed = module.__all__
    assert len(listed) == len(set(listed)), f"{name}.__all__ repeats a name"
    for member in listed:
        assert hasattr(module, member), f"{name}.__all__ lists {member}, which is not there"
    public = {
        member
        for member, value in vars(module).items()
        if not member.startswith("_")
        and not isinstance(value, types.ModuleType)
        and member not in ("annotations",)
    }
    assert public - {*listed} == set(), f"{name} exports names missing from __all__"

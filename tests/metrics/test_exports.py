"""assay.metrics exports exactly its public API."""

from __future__ import annotations

import assay.metrics


def test_all_names_exist_and_are_public() -> None:
    for name in assay.metrics.__all__:
        assert hasattr(assay.metrics, name), name
        assert not name.startswith("_")
    assert sorted(assay.metrics.__all__) == assay.metrics.__all__

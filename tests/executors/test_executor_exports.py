"""assay.executors exports exactly its __all__ (the rule tests/test_exported_members.py
holds every public package to), and importing it does not import Ray."""

from __future__ import annotations

import subprocess
import sys
import types

import assay.executors


def test_all_lists_exactly_the_public_names() -> None:
    listed = assay.executors.__all__
    assert all(hasattr(assay.executors, name) for name in listed)
    public = {
        name
        for name, value in vars(assay.executors).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    } - {"annotations"}
    assert public == set(listed)


def test_ray_is_imported_only_when_used() -> None:
    code = "import sys, assay, assay.executors, assay.cli; print('ray' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "False"

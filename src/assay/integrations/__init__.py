"""assay inside other libraries' loops.

:mod:`assay.integrations.transformers` evaluates a model while transformers (or TRL)
trains it: each checkpoint becomes a run, tagged with its step and the training run's
name. Import the submodule itself; this package imports nothing heavy.
"""

from __future__ import annotations

__all__: list[str] = []

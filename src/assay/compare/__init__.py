"""Comparing two runs on the same examples: paired differences with intervals and
tests, and the examples fixed and broken."""

from __future__ import annotations

from assay.compare.paired import Comparison, compare_runs

__all__ = ["Comparison", "compare_runs"]

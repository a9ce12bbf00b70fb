"""Checks of a test set itself: duplicates, conflicting answers, leaks into the
training set, empty or trivial references, extreme lengths, and coverage."""

from __future__ import annotations

from assay.datacheck.check import CheckOptions, DataCheckReport, check_data

__all__ = ["CheckOptions", "DataCheckReport", "check_data"]

"""Iteration: where a model fails (error categories), whether the test set can be
trusted (duplicates, leaks, coverage), and whether a new run is better (paired tests).

Importing this package registers the built-in error detectors and the
``example_errors`` table (so a Store opened afterwards creates it).
"""

from __future__ import annotations

# Importing the detector modules registers them; importing tables defines the table.
from assay.analysis import detectors, language, spelling, tables  # noqa: F401
from assay.analysis.categories import Category, detector, get_category, list_categories
from assay.analysis.check_data import CheckOptions, DataCheckReport, check_data
from assay.analysis.compare import Comparison, compare_runs
from assay.analysis.context import DetectorContext, ErrorOptions
from assay.analysis.errors_report import analyze_errors
from assay.analysis.records import CategoryCount, ErrorReport, ExampleError
from assay.analysis.storage import load_errors, save_errors

__all__ = [
    "Category",
    "CategoryCount",
    "CheckOptions",
    "Comparison",
    "DataCheckReport",
    "DetectorContext",
    "ErrorOptions",
    "ErrorReport",
    "ExampleError",
    "analyze_errors",
    "check_data",
    "compare_runs",
    "detector",
    "get_category",
    "list_categories",
    "load_errors",
    "save_errors",
]

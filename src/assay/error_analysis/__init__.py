"""Error analysis: every answer of a run sorted into error categories (empty,
truncated, repetition, verbose, ..., incorrect; on tool rows no_tool_call, unknown_tool,
invalid_arguments, unexpected_tool_call; thinking_unfinished), most severe and most common first,
with what to change in the training data. The rule for ``incorrect`` and for failed
generations is in :mod:`assay.error_analysis.report`; what ``language`` and
``spelling`` judge (prose, never code) in :mod:`assay.error_analysis.prose`.

Importing this package registers the built-in detectors and the ``example_errors``
table (so a Store opened afterwards creates it).
"""

from __future__ import annotations

# Importing the detector modules registers them; importing tables defines the table.
from assay.error_analysis import detectors, language, spelling, tables, tool_use  # noqa: F401
from assay.error_analysis.categories import Category, detector, get_category, list_categories
from assay.error_analysis.context import DetectorContext, ErrorOptions, training_vocabulary
from assay.error_analysis.records import CategoryCount, ErrorReport, ExampleError
from assay.error_analysis.report import analyze_errors
from assay.error_analysis.storage import load_errors, save_errors

__all__ = [
    "Category",
    "CategoryCount",
    "DetectorContext",
    "ErrorOptions",
    "ErrorReport",
    "ExampleError",
    "analyze_errors",
    "detector",
    "get_category",
    "list_categories",
    "load_errors",
    "save_errors",
    "training_vocabulary",
]

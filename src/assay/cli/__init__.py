"""The `assay` command line: a thin shell over the library (see app.py)."""

from assay.cli.app import app, main

__all__ = ["app", "main"]

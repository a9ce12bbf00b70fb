"""The Jinja2 environment of the review app: autoescape on for every template, and the
filters it shares with the report (report/formatting.py: one scale for numbers, n with
the unscored count). Model text is never marked safe."""

from __future__ import annotations

from assay.report.formatting import environment

templates = environment("assay.web")

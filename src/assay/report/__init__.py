"""The HTML report: one self-contained file (styles, script and plots inline) about one
or more runs, to share or archive. Build it with :func:`build_report` (the HTML text)
or :func:`write_report`, or ``assay report RUN_ID ... -o report.html``.
"""

from __future__ import annotations

from assay.report.build import MAX_ROWS, ReportData, build_report, collect, write_report

__all__ = ["MAX_ROWS", "ReportData", "build_report", "collect", "write_report"]

"""CSV that a spreadsheet opens as data, never as formulas (OWASP's CSV injection rule).

Labels and preferences hold text that reviewers and models wrote. A cell starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel, LibreOffice and
Google Sheets as a formula (``=HYPERLINK(...)``, ``@SUM(...)``, DDE); such a cell is
written with a leading ``'``, which the spreadsheet shows as text and hides. Every other
cell is written unchanged, and every cell is quoted (a lone carriage return inside an
unquoted cell would end the row early). JSONL exports keep the text exactly as stored.
"""

from __future__ import annotations

import csv

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""


def neutralise(cell: object) -> object:
    """The cell as a spreadsheet will show it literally: text starting like a formula
    gets a leading apostrophe; anything else is returned as is."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def safe_csv(frame: pd.DataFrame) -> str:
    """The frame as CSV text (no index, every cell quoted), every text cell and header
    neutralised."""
    safe = frame.rename(columns=lambda c: neutralise(str(c)))
    for column in safe.columns:
        safe[column] = safe[column].map(neutralise)
    return str(safe.to_csv(index=False, quoting=csv.QUOTE_ALL))

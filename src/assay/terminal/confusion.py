"""The confusion matrix of a classification run (`assay eval --choices`): references down,
predictions across, the diagonal (right answers) in green, with each label's recall."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from assay.evaluation.choices import Confusion
from assay.terminal.text import escape, number

MAX_LABEL = 24
"""Longest label shown whole; longer ones are clipped with an ellipsis."""


def confusion_table(console: Console, matrix: Confusion) -> None:
    """Rows: the reference label; columns: the predicted one; last column: recall."""
    table = Table(
        title=f"confusion matrix ({matrix.total} examples; rows: reference, columns: prediction)",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("reference \\ predicted", overflow="fold")
    for label in matrix.labels:
        table.add_column(escape(_clip(label)), justify="right")
    table.add_column("recall", justify="right")
    for i, (label, row) in enumerate(zip(matrix.labels, matrix.counts, strict=True)):
        cells = [f"[green]{c}[/]" if i == j and c else str(c) for j, c in enumerate(row)]
        total = sum(row)
        table.add_row(escape(_clip(label)), *cells, number(row[i] / total) if total else "–")
    console.print(table)


def _clip(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"

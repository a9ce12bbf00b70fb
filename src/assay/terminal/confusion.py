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
    """Rows: the reference label; columns: the predicted one; last column: recall. When
    the labels do not fit across the terminal, the columns are numbered and each row's
    label carries its number."""
    labels = [escape(_clip(label)) for label in matrix.labels]
    width = max(len(label) for label in labels)
    # each column takes its text and 3 characters; recall 6 + 3; the table's edges 2
    numbered = width + 3 + sum(len(label) + 3 for label in labels) + 11 > console.width
    console.print(
        f"confusion matrix ({matrix.total} examples; rows: reference, columns: prediction)"
    )
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("", no_wrap=True)
    for i, label in enumerate(labels, start=1):
        table.add_column(str(i) if numbered else label, justify="right", no_wrap=True)
    table.add_column("recall", justify="right", no_wrap=True)
    for i, (label, row) in enumerate(zip(labels, matrix.counts, strict=True)):
        cells = [f"[green]{c}[/]" if i == j and c else str(c) for j, c in enumerate(row)]
        total = sum(row)
        name = f"{i + 1} {label}" if numbered else label
        table.add_row(name, *cells, number(row[i] / total) if total else "–")
    console.print(table)


def _clip(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"

"""The confusion matrix of a classification run (`assay eval --choices`): references down,
predictions across, the diagonal (right answers) in green, with each label's recall."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from assay.evaluation.choices import Confusion
from assay.terminal.text import escape, number

MAX_LABEL = 24
"""Longest label shown whole; longer ones are clipped with an ellipsis."""


def confusion_table(console: Console, matrix: Confusion) -> None:
    """Rows: the reference label; columns: the predicted one; last column: recall. When
    the labels do not fit across the terminal, the columns are numbered and each row's
    label carries its number."""
    console.print(
        f"confusion matrix ({matrix.total} examples; rows: reference, columns: prediction)"
    )
    table = _table(matrix, numbered=False)
    wide = console.options.update_width(10_000)  # measure the table uncut
    if Measurement.get(console, wide, table).maximum > console.width:
        table = _table(matrix, numbered=True)
    console.print(table)


def _table(matrix: Confusion, *, numbered: bool) -> Table:
    labels = [escape(_clip(label)) for label in matrix.labels]
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
    return table


def _clip(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"

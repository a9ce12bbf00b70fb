"""PNG bar charts (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from assay.exceptions import AssayError, MissingDependencyError

COLORS = {"high": "#c0392b", "medium": "#e67e22", "low": "#f1c40f"}


def bar_chart(
    path: str | Path,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    xlabel: str,
    colors: Sequence[str] | None = None,
) -> Path:
    """Write a horizontal bar chart (first label on top) to a PNG file.

    Raises:
        AssayError: The file cannot be written.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError("matplotlib", "a plot") from None
    path = Path(path)
    figure, axes = plt.subplots(figsize=(8, 1 + 0.4 * max(1, len(labels))))
    try:
        positions = list(range(len(labels)))[::-1]
        axes.barh(positions, list(values), color=list(colors) if colors else "#2e86c1")
        axes.set_yticks(positions)
        axes.set_yticklabels([label[:40] for label in labels])
        axes.set_xlabel(xlabel)
        axes.set_title(title)
        figure.tight_layout()
        figure.savefig(path, dpi=100)
    except OSError as exc:
        raise AssayError(f"cannot write the plot {path}: {exc.strerror or exc}") from exc
    finally:
        plt.close(figure)
    return path

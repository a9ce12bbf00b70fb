"""Pictures written to files (matplotlib, Agg backend: no display needed): the bar
charts of error analysis and the data checks, and the one way every figure is saved.

A plot's file format comes from its extension; an extension that no image format
has is refused before anything is drawn, and a file that cannot be written is a
one-line error naming it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assay.exceptions import AssayError, MissingDependencyError, OptionError

COLORS = {"high": "#c0392b", "medium": "#e67e22", "low": "#f1c40f"}

FORMATS = ("png", "svg", "pdf", "jpg", "jpeg")
"""Extensions a plot may have."""


def check_plot_path(path: str | Path, option: str = "plot") -> Path:
    """The path, if its extension names an image format.

    Raises:
        OptionError: No extension, or one no image format has.
    """
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        shown = f"'.{suffix}'" if suffix else "no extension"
        raise OptionError(option, f"{path}: {shown} is not an image format; use .png, .svg or .pdf")
    return path


@contextmanager
def figure(path: str | Path, size: tuple[float, float], option: str = "plot") -> Iterator[Any]:
    """A matplotlib (figure, axes) to draw on, saved to `path` when the block ends.

    Raises:
        OptionError: The extension is not an image format.
        AssayError: The file cannot be written.
    """
    path = check_plot_path(path, option)
    plt = _pyplot()
    fig, axes = plt.subplots(figsize=size)
    try:
        yield fig, axes
        fig.tight_layout()
        fig.savefig(path, dpi=120)
    except OSError as exc:
        raise AssayError(f"cannot write the plot {path}: {exc.strerror or exc}") from exc
    finally:
        plt.close(fig)


def bar_chart(
    path: str | Path,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    xlabel: str,
    colors: Sequence[str] | None = None,
) -> Path:
    """Write a horizontal bar chart (first label on top) to an image file."""
    with figure(path, (8, 1 + 0.4 * max(1, len(labels)))) as (_, axes):
        positions = list(range(len(labels)))[::-1]
        axes.barh(positions, list(values), color=list(colors) if colors else "#2e86c1")
        axes.set_yticks(positions)
        axes.set_yticklabels([label[:40] for label in labels])
        axes.set_xlabel(xlabel)
        axes.set_title(title)
    return Path(path)


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError("matplotlib", "a plot") from None
    return plt

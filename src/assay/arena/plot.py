"""The ratings with their 95% intervals, as a PNG."""

from __future__ import annotations

from pathlib import Path

from assay.arena.ratings import Ratings
from assay.exceptions import AssayError


def plot_ratings(ratings: Ratings, path: str | Path) -> Path:
    """Write a dot-and-interval plot of the ratings (best on top) to a PNG file."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise AssayError("--plot needs the package 'matplotlib': pip install matplotlib") from None
    path = Path(path)
    n = len(ratings.models)
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.35 * n))
    y = list(range(n))[::-1]
    ax.errorbar(
        ratings.rating,
        y,
        xerr=[ratings.rating - ratings.ci_low, ratings.ci_high - ratings.rating],
        fmt="o",
        capsize=3,
    )
    ax.set_yticks(y, ratings.models)
    ax.set_xlabel("rating (Bradley–Terry, Elo scale) with 95% bootstrap interval")
    ax.set_title(f"{ratings.n_battles} battles, {ratings.rounds} bootstrap rounds")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=120)
    except OSError as exc:
        raise AssayError(f"--plot {path}: cannot write: {exc}") from exc
    finally:
        plt.close(fig)
    return path

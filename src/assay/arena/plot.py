"""The ratings with their 95% intervals, as a picture."""

from __future__ import annotations

from pathlib import Path

from assay.arena.ratings import Ratings
from assay.charts import figure


def plot_ratings(ratings: Ratings, path: str | Path) -> Path:
    """Write a dot-and-interval plot of the ratings (best on top) to an image file."""
    n = len(ratings.models)
    with figure(path, (7, 1.2 + 0.35 * n)) as (_, ax):
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
    return Path(path)

"""The HTML views' charts, drawn with matplotlib and embedded as SVG data URIs (the
pages allow images from data: only; SVG stays sharp at any width).

One rule keeps every chart readable: each metric gets its own panel and its own
axis (small multiples), so a word count of 30 never squeezes 0-1 scores into
slivers; proportions (every value within 0-1) always get the whole 0-1 axis, as every
view shows them. Labels are shortened to fit their panel, never cut by the frame:
the full names are in the tables beside each chart.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

PANEL_WIDTH = 4.2
"""Inches per panel: two panels a row are 840 pixels at 100 dpi, shown at their own size
on a wide page and barely shrunk on an 800-pixel one, so their text stays readable."""

COLUMNS = 2
LABEL_CHARS = 22
PALETTE = ("#8d99ae", "#3d7dd8", "#e07a5f", "#81b29a", "#f2cc8f", "#6d597a")
"""Base first (grey), then each fine-tune or run."""


@dataclass(frozen=True)
class Bar:
    """One run's value on one metric, with its 95% interval."""

    label: str
    mean: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Panel:
    """One metric's bars (one per run)."""

    title: str
    bars: list[Bar]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "svg.fonttype": "none",  # text stays text: searchable, and crisp at any zoom
            "svg.hashsalt": "assay",  # the same chart gives the same bytes
        }
    )
    return plt


def _encode(fig: Any) -> str:
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def short(label: str, width: int = LABEL_CHARS) -> str:
    """A label that fits its panel: the middle elided, both ends kept."""
    if len(label) <= width:
        return label
    keep = width - 1
    return label[: (keep + 1) // 2] + "…" + label[len(label) - keep // 2 :]


def is_unit_scale(values: Sequence[float]) -> bool:
    """Whether every value lies in 0-1: drawn on the whole 0-1 axis."""
    seen = [v for v in values if not math.isnan(v)]
    return bool(seen) and all(0.0 <= v <= 1.0 for v in seen)


def metric_panels(panels: Sequence[Panel]) -> str | None:
    """Small multiples: one panel per metric, a bar with its interval per run."""
    panels = [p for p in panels if any(not math.isnan(b.mean) for b in p.bars)]
    if not panels:
        return None
    plt = _pyplot()
    runs = max(len(p.bars) for p in panels)
    columns = min(COLUMNS, len(panels))
    rows = math.ceil(len(panels) / columns)
    height = 0.42 * runs + 0.9
    fig, axes = plt.subplots(
        rows, columns, figsize=(PANEL_WIDTH * columns, height * rows), squeeze=False
    )
    for ax, panel in zip(axes.flat, panels, strict=False):
        bars = [b for b in panel.bars if not math.isnan(b.mean)]
        y = list(range(len(bars)))[::-1]
        low = [max(0.0, b.mean - b.ci_low) if not math.isnan(b.ci_low) else 0.0 for b in bars]
        high = [max(0.0, b.ci_high - b.mean) if not math.isnan(b.ci_high) else 0.0 for b in bars]
        colors = [PALETTE[i % len(PALETTE)] for i in range(len(bars))]
        ax.barh(y, [b.mean for b in bars], xerr=[low, high], color=colors, capsize=3, height=0.6)
        ax.set_yticks(y, [short(b.label) for b in bars])
        ax.set_title(short(panel.title, 40), loc="left", fontsize=9, fontweight="bold")
        for position, bar in zip(y, bars, strict=True):
            ax.annotate(
                f"{bar.mean:.3f}",
                (bar.mean, position),
                xytext=(3, -9),
                textcoords="offset points",
                fontsize=7,
                color="#333333",
            )
        values = [v for b in bars for v in (b.mean, b.ci_low, b.ci_high)]
        if is_unit_scale(values):
            ax.set_xlim(0.0, 1.0)
        else:
            top = max((v for v in values if not math.isnan(v)), default=1.0)
            ax.set_xlim(min(0.0, *[v for v in values if not math.isnan(v)]), top * 1.12 or 1.0)
        ax.grid(axis="x", color="#e5e7eb", linewidth=0.6)
        ax.set_axisbelow(True)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return _encode(fig)


def category_shift_plot(
    categories: Sequence[str], before: Sequence[int], after: Sequence[int], labels: tuple[str, str]
) -> str | None:
    """Examples per error category, before and after, as paired bars."""
    if not categories:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(categories) + 1.0))
    y = list(range(len(categories)))[::-1]
    ax.barh([v + 0.2 for v in y], before, height=0.38, color=PALETTE[0], label=short(labels[0]))
    ax.barh([v - 0.2 for v in y], after, height=0.38, color=PALETTE[1], label=short(labels[1]))
    ax.set_yticks(y, [short(c, 28) for c in categories])
    ax.set_xlabel("examples")
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.grid(axis="x", color="#e5e7eb", linewidth=0.6)
    ax.set_axisbelow(True)
    fig.tight_layout()
    return _encode(fig)


def categories_plot(counts: dict[str, dict[str, int]]) -> str | None:
    """Examples per error category, one bar per run in each category."""
    categories = sorted({c for per_run in counts.values() for c in per_run})
    if not categories:
        return None
    plt = _pyplot()
    runs = list(counts)
    fig, ax = plt.subplots(figsize=(7.5, 0.3 * len(categories) * max(1, len(runs)) + 1.0))
    width = 0.8 / len(runs)
    for i, run in enumerate(runs):
        positions = [k + i * width for k in range(len(categories))]
        ax.barh(
            positions,
            [counts[run].get(c, 0) for c in categories],
            height=width,
            label=short(run),
            color=PALETTE[i % len(PALETTE)],
        )
    ax.set_yticks([k + 0.4 - width / 2 for k in range(len(categories))], categories)
    ax.set_xlabel("examples")
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return _encode(fig)


@dataclass(frozen=True)
class CurveSeries:
    """One metric over a training run's checkpoints."""

    metric: str
    steps: list[int]
    means: list[float]
    lows: list[float]
    highs: list[float]
    best_step: int | None


def curve_panels(series: Sequence[CurveSeries]) -> str | None:
    """Each metric against the training step, its interval as a band, the best step marked."""
    series = [s for s in series if s.steps]
    if not series:
        return None
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    columns = min(COLUMNS, len(series))
    rows = math.ceil(len(series) / columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(PANEL_WIDTH * columns, 2.6 * rows), squeeze=False
    )
    for ax, s in zip(axes.flat, series, strict=False):
        ax.fill_between(s.steps, s.lows, s.highs, color=PALETTE[1], alpha=0.18, linewidth=0)
        ax.plot(s.steps, s.means, marker="o", markersize=3, color=PALETTE[1])
        if s.best_step is not None and s.best_step in s.steps:
            i = s.steps.index(s.best_step)
            ax.plot([s.best_step], [s.means[i]], marker="*", markersize=13, color=PALETTE[2])
            ax.annotate(
                f"best: step {s.best_step}, {s.means[i]:.3f}",
                (s.best_step, s.means[i]),
                xytext=(0, 9),
                textcoords="offset points",
                ha="center",
                fontsize=7,
            )
        ax.set_title(short(s.metric, 40), loc="left", fontsize=9, fontweight="bold")
        ax.set_xlabel("step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
        if is_unit_scale([*s.lows, *s.highs]):
            ax.set_ylim(0.0, 1.05)
        ax.grid(color="#e5e7eb", linewidth=0.6)
        ax.set_axisbelow(True)
    for ax in list(axes.flat)[len(series) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return _encode(fig)

"""The report's plots, drawn with matplotlib (Agg) and embedded as PNG data URIs."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from typing import Any

from assay.runs.records import RunInfo


def _figure(height: float) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(7.5, max(1.6, height)), dpi=100)


def _encode(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def metrics_plot(runs: Sequence[RunInfo], metrics: Sequence[str]) -> str | None:
    """Each metric's mean per run with its 95% interval, as a PNG data URI (None if empty);
    a metric nothing was scored on (mean NaN) has no bar."""
    rows = [
        (metric, run, run.summary[metric])
        for metric in metrics
        for run in runs
        if metric in run.summary and not math.isnan(run.summary[metric].mean)
    ]
    if not rows:
        return None
    fig, ax = _figure(0.35 * len(rows) + 0.8)
    labels = [f"{metric} · {run.name[:40]}" for metric, run, _ in rows][::-1]
    means = [s.mean for _, _, s in rows][::-1]
    low = [max(0.0, s.mean - s.ci_low) for _, _, s in rows][::-1]
    high = [max(0.0, s.ci_high - s.mean) for _, _, s in rows][::-1]
    ax.barh(range(len(rows)), means, xerr=[low, high], color="#7c9be0", capsize=3)
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.set_xlabel("mean with 95% interval")
    if all(s.ci_low >= 0.0 and s.ci_high <= 1.0 for _, _, s in rows):
        ax.set_xlim(0.0, 1.0)  # proportions: the whole 0-1 scale, as every view shows them
    return _encode(fig)


def categories_plot(counts: dict[str, dict[str, int]]) -> str | None:
    """Examples per error category, one bar group per run."""
    categories = sorted({c for per_run in counts.values() for c in per_run})
    if not categories:
        return None
    fig, ax = _figure(0.3 * len(categories) * max(1, len(counts)) + 0.8)
    width = 0.8 / len(counts)
    for i, (run, per_run) in enumerate(counts.items()):
        positions = [k + i * width for k in range(len(categories))]
        ax.barh(positions, [per_run.get(c, 0) for c in categories], height=width, label=run[:40])
    ax.set_yticks([k + 0.4 - width / 2 for k in range(len(categories))], categories, fontsize=8)
    ax.set_xlabel("examples")
    ax.legend(fontsize=7)
    return _encode(fig)

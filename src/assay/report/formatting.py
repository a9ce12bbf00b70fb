"""How numbers read in the HTML views (the report and the review app), one rule for both
and the terminal's (terminal/text.py): every proportion and mean on one scale, 0 to 1,
with three decimals; n always with the examples a metric could not score beside it; a
failed example shown as failed, with its error.
"""

from __future__ import annotations

import math
from urllib.parse import quote

from jinja2 import Environment, PackageLoader

from assay.metrics.base import MetricSummary


def number(value: object, digits: int = 3) -> str:
    """A score or mean with three decimals; "" for none, "–" for NaN."""
    if value is None:
        return ""
    result = float(value)  # type: ignore[arg-type]
    return "–" if math.isnan(result) else f"{result:.{digits}f}"


def interval(summary: MetricSummary) -> str:
    """The 95% interval as "[0.412, 0.633]", or "" when there is none."""
    if math.isnan(summary.ci_low) or math.isnan(summary.ci_high):
        return ""
    return f"[{number(summary.ci_low)}, {number(summary.ci_high)}]"


def counted(summary: MetricSummary) -> str:
    """n, and beside it the examples the metric could not score: "n=3, 2 unscored"."""
    unscored = f", {summary.unscored} unscored" if summary.unscored else ""
    return f"n={summary.n}{unscored}"


def clip(text: str | None, width: int = 160) -> str:
    """The text on one line, cut at `width` characters with an ellipsis."""
    if not text:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width] + "…"


def environment(package: str) -> Environment:
    """An autoescaping environment over a package's templates, with the shared filters.
    Model text is never marked safe."""
    env = Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = number
    env.filters["interval"] = interval
    env.filters["counted"] = counted
    env.filters["clip"] = clip
    env.filters["path"] = lambda value: quote(str(value), safe="")
    return env

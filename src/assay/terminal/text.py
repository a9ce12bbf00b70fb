"""The small pieces every terminal view shares: escaping, clipping, numbers.

Model text is untrusted: every string that came from a model or a data set is
escaped before rich sees it, so "[bold]" or "[link=...]" in an answer prints as
typed. Every proportion and mean is shown on one scale, 0 to 1, with three
decimals, in every view.
"""

from __future__ import annotations

import math

from rich.markup import escape as _rich_escape

from assay.metrics.base import MetricSummary

CLIP = 240
"""Most characters of one model answer or input shown in a table cell."""
VERDICT_COLORS = {"better": "green", "worse": "red", "changed": "yellow"}
"""A paired comparison's verdict as the terminal colours it ("same" stays plain)."""
TEST_LABELS = {"mcnemar": "McNemar", "permutation": "perm."}
"""A paired test's name as a narrow column shows it."""


def escape(text: str) -> str:
    """Text as rich prints it literally."""
    return _rich_escape(text)


def clip(value: object, width: int = CLIP) -> str:
    """The text on one line, cut at `width` characters with an ellipsis; "" for nothing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def number(value: object) -> str:
    """A score or mean, three decimals; "" for none, "–" for NaN (nothing was scored)."""
    if value is None:
        return ""
    result = float(value)  # type: ignore[arg-type]
    return "–" if math.isnan(result) else f"{result:.3f}"


def interval(low: float, high: float) -> str:
    """The interval as "0.412–0.633", or "" when there is none."""
    if math.isnan(low) or math.isnan(high):
        return ""
    return f"{number(low)}–{number(high)}"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """ "1 tie", "2 ties": the count and its noun, in the number the count needs."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def counted(summary: MetricSummary) -> str:
    """n, and the examples the metric could not score beside it: "3 (2 unscored)"."""
    return f"{summary.n} ({summary.unscored} unscored)" if summary.unscored else str(summary.n)

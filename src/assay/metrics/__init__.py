"""Metrics: score predictions against their examples, and summarise the scores of a run.

Importing this package registers the built-in metrics (``exact_match``, ``f1``,
``contains``, ``length``, ``length_ratio``, ``embedding``). Look one up with
:func:`get_metric`, score a batch with the function it returns, and aggregate
the values with :func:`summarize`.
"""

from __future__ import annotations

# Importing the built-in metric modules registers them.
from assay.metrics import contains, embedding, exact_match, f1, judge, length  # noqa: F401
from assay.metrics.base import MetricFn, MetricSummary, Score, ScoreInput
from assay.metrics.intervals import summarize
from assay.metrics.registry import (
    MetricInfo,
    MetricSpec,
    get_metric,
    list_metrics,
    metric,
    metric_info,
    parse_metric_names,
    register_metric,
    resolve_metrics,
)

__all__ = [
    "MetricFn",
    "MetricInfo",
    "MetricSpec",
    "MetricSummary",
    "Score",
    "ScoreInput",
    "get_metric",
    "list_metrics",
    "metric",
    "metric_info",
    "parse_metric_names",
    "register_metric",
    "resolve_metrics",
    "summarize",
]

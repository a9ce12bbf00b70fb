"""Metrics: score predictions against their examples, and summarise the scores of a run.

Importing this package registers the built-in metrics (``exact_match``, ``f1``,
``contains``, ``length``, ``length_ratio``, ``embedding``, ``judge``; for tool rows
``tool_name``, ``tool_args``, ``tool_call_valid``; for structured outputs ``json_valid``,
``json_schema``, ``json_fields``). Every metric scores the answer without a reasoning
model's thinking (assay.metrics.thinking). Look one up with
:func:`get_metric`, score a batch with the function it returns, and aggregate
the values with :func:`summarize`.
"""

from __future__ import annotations

# Importing the built-in metric modules registers them.
from assay.metrics import (  # noqa: F401
    contains,
    embedding,
    exact_match,
    f1,
    judge,
    length,
    structured,
    tool_use,
)
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

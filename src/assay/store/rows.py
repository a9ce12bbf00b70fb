"""Conversions between the store's table rows and assay's records.

NaN scores are stored as NULL (portable, and PostgreSQL JSON rejects NaN) and come
back as NaN; timestamps are UTC both ways (see tables.UTCDateTime).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import Row

from assay.metrics.base import MetricSummary, Score
from assay.run import ExampleResult, RunInfo

V = TypeVar("V")


def float_or_nan(value: float | None) -> float:
    """NULL back to NaN."""
    return math.nan if value is None else float(value)


def null_if_nan(value: float) -> float | None:
    """NaN to NULL (PostgreSQL JSON and some drivers reject NaN; NULL is portable)."""
    return None if value is None or math.isnan(value) else float(value)


def run_row(info: RunInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "name": info.name,
        "kind": info.kind,
        "status": info.status,
        "run_key": info.run_key,
        "model_spec": info.model_spec,
        "model_fingerprint": info.model_fingerprint,
        "model_details": dict(info.model_details),
        "dataset_name": info.dataset_name,
        "dataset_fingerprint": info.dataset_fingerprint,
        "n_examples": info.n_examples,
        "prompt_config": dict(info.prompt_config),
        "generation_params": dict(info.generation_params),
        "metrics": list(info.metrics),
        "assay_version": info.assay_version,
        "created_at": info.created_at,
        "finished_at": info.finished_at,
        "seconds": info.seconds,
        "stats": dict(info.stats),
    }


def run_info(row: Row[Any], summary: dict[str, MetricSummary]) -> RunInfo:
    return RunInfo(
        id=row.id,
        name=row.name,
        kind=row.kind,
        status=row.status,
        run_key=row.run_key,
        model_spec=row.model_spec,
        model_fingerprint=row.model_fingerprint,
        dataset_name=row.dataset_name,
        dataset_fingerprint=row.dataset_fingerprint,
        n_examples=row.n_examples,
        model_details=row.model_details or {},
        prompt_config=row.prompt_config or {},
        generation_params=row.generation_params or {},
        metrics=list(row.metrics or []),
        assay_version=row.assay_version,
        created_at=row.created_at,
        finished_at=row.finished_at,
        seconds=row.seconds,
        stats=row.stats or {},
        summary=ordered(summary, row.metrics or []),
    )


def result_row(run_id: str, r: ExampleResult) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "example_id": r.example_id,
        "position": r.position,
        "input": r.input,
        "reference": r.reference,
        "prompt": r.prompt,
        "prediction": r.prediction,
        "prompt_tokens": r.prompt_tokens,
        "completion_tokens": r.completion_tokens,
        "finish_reason": r.finish_reason,
        "seconds": r.seconds,
        "truncated_tokens": r.truncated_tokens,
        "error": r.error,
        "cached": r.cached,
        "metadata": dict(r.metadata),
    }


def example_result(row: Row[Any], scores: dict[str, Score]) -> ExampleResult:
    return ExampleResult(
        example_id=row.example_id,
        position=row.position,
        input=row.input,
        reference=row.reference,
        prompt=row.prompt,
        prediction=row.prediction,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        finish_reason=row.finish_reason,
        seconds=row.seconds,
        truncated_tokens=row.truncated_tokens,
        error=row.error,
        cached=bool(row.cached),
        metadata=row.metadata or {},
        scores=scores,
    )


def score_row(run_id: str, example_id: str, metric: str, score: Score) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "example_id": example_id,
        "metric": metric,
        "value": null_if_nan(score.value),
        "detail": score.detail,
    }


def ordered(values: dict[str, V], order: Iterable[str]) -> dict[str, V]:
    """The dict with the names in `order` first, in that order, then the rest as they came."""
    first = [name for name in order if name in values]
    rest = [name for name in values if name not in first]
    return {name: values[name] for name in first + rest}

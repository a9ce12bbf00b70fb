"""Conversions between the store's table rows and assay's records.

NaN scores are stored as NULL (portable, and PostgreSQL JSON rejects NaN) and come
back as NaN; timestamps are UTC both ways (see tables.UTCDateTime). A run's config
lives in the two JSON columns it always had: for an eval run ``prompt_config``
holds the prompt and the field names and ``generation_params`` the generation; for a
bench run ``prompt_config`` holds the BenchConfig. A "running" run whose owner is
gone reads as "interrupted" (see runs/ownership.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import Row

from assay.data.prompts import DEFAULT_THINKING, PromptConfig
from assay.metrics.base import MetricSummary, Score
from assay.models.base import GenerationParams
from assay.runs.ownership import owner_alive
from assay.runs.records import (
    BenchConfig,
    EvalConfig,
    ExampleResult,
    FieldNames,
    RunConfig,
    RunInfo,
    RunStats,
)

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
        **config_columns(info.config),
        "metrics": list(info.metrics),
        "assay_version": info.assay_version,
        "created_at": info.created_at,
        "finished_at": info.finished_at,
        "seconds": info.seconds,
        "stats": info.stats.to_dict(),
        "message": info.message,
        "owner": info.owner,
        "heartbeat_at": info.heartbeat_at,
        "tags": list(info.tags),
    }


def config_columns(config: RunConfig) -> dict[str, Any]:
    """The run's config as its two JSON columns."""
    if isinstance(config, BenchConfig):
        return {
            "prompt_config": {
                "tasks": list(config.tasks),
                "shots": dict(config.shots),
                "limit": config.limit,
                "data_dir": config.data_dir,
                "fewshot_seed": config.fewshot_seed,
            },
            "generation_params": {},
        }
    fields = {"input": config.fields.input, "reference": config.fields.reference}
    return {
        "prompt_config": {**config.prompt.to_dict(), "fields": fields},
        "generation_params": config.generation.to_dict(),
    }


def run_config(kind: str, prompt: dict[str, Any], generation: dict[str, Any]) -> RunConfig:
    """The typed config from the two JSON columns (rows of every earlier version read too)."""
    if kind == "bench":
        return BenchConfig(
            tasks=tuple(prompt.get("tasks") or ()),
            shots=dict(prompt.get("shots") or {}),
            limit=prompt.get("limit"),
            data_dir=prompt.get("data_dir"),
            fewshot_seed=int(prompt.get("fewshot_seed", 1234)),
        )
    names = prompt.get("fields") or {}
    known = GenerationParams.__dataclass_fields__
    params = {k: v for k, v in generation.items() if k in known}
    params["stop"] = tuple(params.get("stop") or ())
    return EvalConfig(
        prompt=PromptConfig(
            format=prompt.get("format", "auto"),
            template=prompt.get("template"),
            system=prompt.get("system"),
            thinking=tuple(prompt.get("thinking") or DEFAULT_THINKING),
        ),
        generation=GenerationParams(**params),
        fields=FieldNames(names.get("input") or "input", names.get("reference")),
    )


def run_info(row: Row[Any], summary: dict[str, MetricSummary]) -> RunInfo:
    return RunInfo(
        id=row.id,
        name=row.name,
        kind=row.kind,
        status=_status(row),
        run_key=row.run_key,
        model_spec=row.model_spec,
        model_fingerprint=row.model_fingerprint,
        dataset_name=row.dataset_name,
        dataset_fingerprint=row.dataset_fingerprint,
        n_examples=row.n_examples,
        model_details=row.model_details or {},
        config=run_config(row.kind, row.prompt_config or {}, row.generation_params or {}),
        metrics=list(row.metrics or []),
        assay_version=row.assay_version,
        created_at=row.created_at,
        finished_at=row.finished_at,
        seconds=row.seconds,
        stats=RunStats.from_dict(row.stats or {}),
        summary=ordered(summary, row.metrics or []),
        message=row.message,
        owner=row.owner,
        heartbeat_at=row.heartbeat_at,
        tags=tuple(row.tags or ()),
    )


def _status(row: Row[Any]) -> Any:
    """The stored status, except that a running run whose owner is gone is interrupted."""
    if row.status == "running" and not owner_alive(row.owner, row.heartbeat_at):
        return "interrupted"
    return row.status


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

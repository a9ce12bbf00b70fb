"""Scoring a stored run: metrics per example, aggregates with intervals, saved back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from assay.data.example import Example
from assay.metrics import MetricFn, Score, ScoreInput, get_metric, summarize
from assay.run import ExampleResult, Run, RunInfo
from assay.store import Store


def resolve_metrics(
    names: Sequence[str], options: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, MetricFn]:
    """Every metric by name, configured with its options (metric name -> keyword options).

    Fails on an unknown name or option before any work is done.
    """
    options = options or {}
    return {name: get_metric(name, **options.get(name, {})) for name in names}


def score_run(store: Store, run_id: str, metrics: dict[str, MetricFn]) -> Run:
    """Score every example of a run with each metric, store scores and summaries, return the run."""
    run = store.load_run(run_id)
    items = [
        ScoreInput(prediction=r.prediction, example=example_of(r, run.info)) for r in run.results
    ]
    summaries = {}
    for name, metric_fn in metrics.items():
        scores = metric_fn(items)
        store.save_scores(run.id, name, _by_id(run.results, scores))
        summaries[name] = summarize(name, [s.value for s in scores])
    store.save_summary(run.id, summaries)
    return store.load_run(run.id)


def example_of(result: ExampleResult, info: RunInfo) -> Example:
    """The example as the data set had it: every column under its own name."""
    names = info.prompt_config.get("fields") or {}
    fields = dict(result.metadata)
    fields.setdefault(names.get("input") or "input", result.input)
    if result.reference is not None:
        fields.setdefault(names.get("reference") or "reference", result.reference)
    return Example(
        id=result.example_id, input=result.input, reference=result.reference, fields=fields
    )


def _by_id(results: Sequence[ExampleResult], scores: Sequence[Score]) -> dict[str, Score]:
    return {r.example_id: s for r, s in zip(results, scores, strict=True)}


def rescore(
    run_id: str,
    metrics: Sequence[str],
    *,
    store: Store | str | None = None,
    metric_options: Mapping[str, Mapping[str, Any]] | None = None,
) -> Run:
    """Score a stored run again (new metrics, or changed ones) without generating anything."""
    from assay.store import open_store

    active = store if isinstance(store, Store) else open_store(store)
    try:
        metric_fns = resolve_metrics(metrics, metric_options)
        return score_run(active, active.get_run_info(run_id).id, metric_fns)
    finally:
        if not isinstance(store, Store):
            active.close()

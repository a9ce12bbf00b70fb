"""Filling in a run's failed examples: generate again only those, then score the run again.

A remote backend records an example it could not get an answer for as an error
(finish_reason "error") and the run completes; `assay eval --retry-errors RUN_ID`
(or :func:`retry_errors`) asks again for those examples alone, with the run's
own model, prompt and generation parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import delete

from assay.data.prompts import PromptConfig, build_prompts
from assay.models.base import Generation, GenerationParams, ModelOptions
from assay.models.registry import load_model
from assay.run import ExampleResult, Run
from assay.runner import cache_key, generation_fields
from assay.scoring import example_of, resolve_metrics, score_run
from assay.store import Store, open_store
from assay.store import tables as t


def retry_errors(
    run_id: str,
    *,
    store: Store | str | None = None,
    model_options: ModelOptions | None = None,
    metric_options: Mapping[str, Mapping[str, Any]] | None = None,
) -> Run:
    """Generate again the examples of a run that failed, store them, and score the run again.

    Returns:
        The run, with the examples that failed again still marked as errors.
    """
    active = store if isinstance(store, Store) else open_store(store)
    try:
        run = active.load_run(run_id)
        failed = [r for r in run.results if r.finish_reason == "error"]
        if not failed:
            return run
        metrics = resolve_metrics(run.info.metrics, metric_options)
        model = load_model(run.info.model_spec, model_options)
        stored_prompt = run.info.prompt_config
        config = PromptConfig(
            format=stored_prompt.get("format", "auto"),
            template=stored_prompt.get("template"),
            system=stored_prompt.get("system"),
        )
        examples = [example_of(r, run.info) for r in failed]
        prompts = build_prompts(config, examples, model_has_chat_template=model.has_chat_template)
        stored = dict(run.info.generation_params)
        params = GenerationParams(**{**stored, "stop": tuple(stored.get("stop") or ())})
        model.load()
        generations = model.generate(prompts, params)
        fresh = [_updated(r, g) for r, g in zip(failed, generations, strict=True)]
        _replace_results(active, run.info.id, fresh)
        active.cache_put(
            {
                cache_key(model.info.fingerprint, r.prompt, params): g
                for r, g in zip(fresh, generations, strict=True)
                if g.finish_reason != "error"
            }
        )
        scored = score_run(active, run.info.id, metrics)
        errors = sum(r.finish_reason == "error" for r in scored.results)
        active.finish_run(
            run.info.id, seconds=run.info.seconds, stats={**run.info.stats, "errors": errors}
        )
        return active.load_run(run.info.id)
    finally:
        if not isinstance(store, Store):
            active.close()


def _updated(result: ExampleResult, generation: Generation) -> ExampleResult:
    return replace(result, **generation_fields(generation), cached=False, scores={})


def _replace_results(store: Store, run_id: str, results: list[ExampleResult]) -> None:
    ids = [r.example_id for r in results]
    with store.connection(write=True) as conn:  # no per-example delete in Store
        for table in (t.scores, t.results):
            conn.execute(delete(table).where(table.c.run_id == run_id, table.c.example_id.in_(ids)))
    store.add_results(run_id, results)

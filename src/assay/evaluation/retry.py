"""Filling in a run's failed examples: generate again only those, then score the run again.

A backend records an example it could not get an answer for as failed (finish
reason "error"); the run ends "incomplete" and says so. `assay eval
--retry-errors RUN` (or :func:`retry_errors`) asks again for those examples alone,
with the run's own model, prompt and generation parameters, through the same
lifecycle as the first attempt (runs/recorder.py). Running the original command
again does the same.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from assay.data.prompts import build_prompts
from assay.evaluation.evaluate import cache_key, generation_fields
from assay.metrics import MetricSpec, resolve_metrics
from assay.models.base import ModelOptions
from assay.models.registry import load_model
from assay.runs.recorder import RunRecorder
from assay.runs.records import Run
from assay.scoring import example_of, retry_hint, score_run
from assay.store import Store
from assay.store.store import using_store


def retry_errors(
    run: str,
    *,
    store: Store | str | None = None,
    model_options: ModelOptions | None = None,
    metrics: Sequence[str | MetricSpec] | None = None,
) -> Run:
    """Generate again the examples of a run that failed, store them, and score the run again.

    Args:
        run: The run's id, id prefix or name.
        store: A Store, a database URL/path, or None for the default.
        model_options: How to load the model (batch size, device, ...).
        metrics: The metrics (with options) to score with; default the run's own.

    Returns:
        The run: "complete", or "incomplete" with the examples that failed again.
    """
    with using_store(store, create=False) as active:
        before = active.load_run(run)
        failed = [r for r in before.results if r.failed]
        if not failed:
            return before
        config = before.info.eval_config
        metric_fns = resolve_metrics(metrics or before.info.metrics)
        model = load_model(before.info.model_spec, model_options)
        recorder = RunRecorder.take(active, before.info.id)
        with recorder:
            started = time.perf_counter()
            examples = [example_of(r, before.info) for r in failed]
            prompts = build_prompts(
                config.prompt, examples, model_has_chat_template=model.has_chat_template
            )
            model.load()
            generations = model.generate(prompts, config.generation)
            fresh = [
                replace(r, **generation_fields(g), cached=False, scores={})
                for r, g in zip(failed, generations, strict=True)
            ]
            recorder.add(
                fresh,
                generations={
                    cache_key(model.info.fingerprint, r.prompt, config.generation): g
                    for r, g in zip(fresh, generations, strict=True)
                },
            )
            score_run(active, before.info.id, metric_fns)
            stats = replace(before.info.stats, generated=len(failed))
            recorder.finish(
                stats,
                before.info.seconds + time.perf_counter() - started,
                retry_hint=retry_hint(before.info.id),
            )
        return active.load_run(before.info.id)

"""Scoring a stored run: metrics per example, aggregates with intervals, saved back.

Failed generations are never scored: an example without a usable output has no
metric values, is left out of every mean and interval, and is counted apart (the
run says how many failed). A value a metric could not give (NaN: an unparsable
judge reply) is left out too, and counted as ``unscored`` beside ``n``.
"""

from __future__ import annotations

from collections.abc import Sequence

from assay.data.example import Example
from assay.metrics import MetricFn, MetricSpec, Score, ScoreInput, resolve_metrics, summarize
from assay.runs.recorder import RunRecorder
from assay.runs.records import EvalConfig, ExampleResult, Run, RunInfo
from assay.store import Store, open_store


def score_run(store: Store, run_id: str, metrics: dict[str, MetricFn]) -> Run:
    """Score every usable example of a run with each metric; store the scores (one
    transaction) and the summaries; return the run.

    Raises:
        MetricError: A metric failed (names the metric, and the example where known);
            nothing of this scoring is stored then.
    """
    run = store.load_run(run_id)
    usable = [r for r in run.results if not r.failed]
    items = [ScoreInput(prediction=r.prediction, example=example_of(r, run.info)) for r in usable]
    scores: dict[str, dict[str, Score]] = {}
    summaries = {}
    for name, metric_fn in metrics.items():
        values = metric_fn(items) if items else []
        scores[name] = {r.example_id: s for r, s in zip(usable, values, strict=True)}
        summaries[name] = summarize(name, [s.value for s in values])
    store.save_scores(run.id, scores)
    store.save_summary(run.id, summaries)
    return store.load_run(run.id)


def example_of(result: ExampleResult, info: RunInfo) -> Example:
    """The example as the data set had it: every column under its own name."""
    names = info.config.fields if isinstance(info.config, EvalConfig) else None
    fields = dict(result.metadata)
    fields.setdefault(names.input if names else "input", result.input)
    if result.reference is not None:
        fields.setdefault((names.reference if names else None) or "reference", result.reference)
    return Example(
        id=result.example_id, input=result.input, reference=result.reference, fields=fields
    )


def rescore(
    run: str,
    metrics: Sequence[str | MetricSpec],
    *,
    store: Store | str | None = None,
) -> Run:
    """Score a stored run again (new metrics, or changed ones) without generating anything.

    The run keeps its status: a failure while scoring leaves it exactly as it was.

    Raises:
        RunInProgressError: A live process is working on the run.
    """
    active = store if isinstance(store, Store) else open_store(store, create=False)
    try:
        metric_fns = resolve_metrics(metrics)
        before = active.get_run_info(run)
        recorder = RunRecorder.take(active, before.id)
        try:
            score_run(active, before.id, metric_fns)
        except BaseException:
            recorder.restore(before.status, before.message)
            raise
        if before.status == "interrupted":  # not every example is there: still to resume
            recorder.restore(before.status, before.message)
        else:
            recorder.finish(before.stats, before.seconds, retry_hint=retry_hint(before.id))
        return active.load_run(before.id)
    finally:
        if not isinstance(store, Store):
            active.close()


def retry_hint(run_id: str) -> str:
    """The command that generates a run's failed examples again."""
    return f"assay eval --retry-errors {run_id}"

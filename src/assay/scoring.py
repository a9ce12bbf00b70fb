"""Scoring a stored run: metrics per example, aggregates with intervals, saved back.

Metrics score answers: a reasoning model's thinking is left out by the run's thinking
markers (assay.metrics.thinking), and a metric whose scores have parts (json_fields'
per-field breakdown) has each part summarised beside it as "<metric>/<part>".

Failed generations are never scored: an example without a usable output has no
metric values, is left out of every mean and interval, and is counted apart (the
run says how many failed). A value a metric could not give (NaN: an unparsable
judge reply) is left out too, and counted as ``unscored`` beside ``n``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assay.data.conversations import read_dialogue
from assay.data.dialogue import Dialogue
from assay.data.example import Example
from assay.data.prompts import DEFAULT_THINKING
from assay.exceptions import AssayError
from assay.metrics import (
    MetricFn,
    MetricSpec,
    MetricSummary,
    Score,
    ScoreInput,
    resolve_metrics,
    summarize,
)
from assay.runs.recorder import RunRecorder
from assay.runs.records import EvalConfig, ExampleResult, Run, RunInfo
from assay.store import Store
from assay.store.store import using_store


def score_run(store: Store, run_id: str, metrics: dict[str, MetricFn]) -> Run:
    """Score every usable example of a run with each metric; store the scores (one
    transaction) and the summaries; return the run.

    Raises:
        MetricError: A metric failed (names the metric, and the example where known);
            nothing of this scoring is stored then.
    """
    run = store.load_run(run_id)
    usable = [r for r in run.results if not r.failed]
    thinking = run.info.config.prompt.thinking if isinstance(run.info.config, EvalConfig) else None
    items = [
        ScoreInput(r.prediction, example_of(r, run.info), thinking or DEFAULT_THINKING)
        for r in usable
    ]
    scores: dict[str, dict[str, Score]] = {}
    summaries = {}
    for name, metric_fn in metrics.items():
        values = metric_fn(items) if items else []
        scores[name] = {r.example_id: s for r, s in zip(usable, values, strict=True)}
        summaries[name] = summarize(name, [s.value for s in values])
        summaries.update(_parts(name, values))
    store.save_scores(run.id, scores)
    store.save_summary(run.id, summaries)
    return store.load_run(run.id)


def _parts(name: str, scores: Sequence[Score]) -> dict[str, MetricSummary]:
    """Each part of a metric's scores (json_fields' precision, recall, fields) summarised as
    "<metric>/<part>" over the examples that have it."""
    names = dict.fromkeys(part for score in scores for part in score.parts)
    return {
        f"{name}/{part}": summarize(
            f"{name}/{part}", [s.parts[part] for s in scores if part in s.parts]
        )
        for part in names
    }


def example_of(result: ExampleResult, info: RunInfo) -> Example:
    """The example as the data set had it: every column under its own name, and a
    conversation or tool row read again by the loader's rule (assay.data.conversations)."""
    names = info.config.fields if isinstance(info.config, EvalConfig) else None
    fields = dict(result.metadata)
    input_field = names.input if names else "input"
    fields.setdefault(input_field, result.input)
    reference_field = names.reference if names else None
    stored = dict(fields)
    if result.reference is not None:
        fields.setdefault(reference_field or "reference", result.reference)
    return Example(
        id=result.example_id,
        input=result.input,
        reference=result.reference,
        fields=fields,
        dialogue=_dialogue(result, info, stored, fields, input_field, reference_field),
    )


def asked(result: ExampleResult, info: RunInfo) -> str:
    """The example's question as a list shows it: a plain row's input, a conversation or
    tool row's answered turn (Dialogue.answered)."""
    try:
        dialogue = example_of(result, info).dialogue
    except AssayError:  # stored columns that no longer read as a conversation
        return result.input
    return result.input if dialogue is None else dialogue.answered


def _dialogue(
    result: ExampleResult,
    info: RunInfo,
    stored: dict[str, Any],
    fields: dict[str, Any],
    input_field: str,
    reference_field: str | None,
) -> Dialogue | None:
    """The row's dialogue, read as the loader read it. A reference column left out of the
    stored columns (it equalled the reference text) is put back unless the reference was
    the conversation's last assistant turn, which the stored columns still hold."""
    where = f"run {info.id}, example {result.example_id}"
    found = read_dialogue(where, stored, input_field=input_field, reference_field=reference_field)
    if found is not None and found.reference is None and result.reference is not None:
        found = read_dialogue(
            where, fields, input_field=input_field, reference_field=reference_field
        )
    return found.dialogue if found is not None else None


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
    with using_store(store, create=False) as active:
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


def retry_hint(run_id: str) -> str:
    """The command that generates a run's failed examples again."""
    return f"assay eval --retry-errors {run_id}"

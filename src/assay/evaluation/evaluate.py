"""Running a model over a data set: cached, resumable, with progress, stored as a run.

The steps, in order: load the data and the model, check the metrics, build and
render prompts, claim the run (resume an unfinished one with the same key, or
wait for another process doing it; see runs/recorder.py), take what the
generation cache already knows, generate the rest in continuous batches while
committing results (and cache entries) batch by batch, then score. A run killed
at any point loses at most the results not yet flushed; started again with the
same arguments it carries on where it stopped, and examples that failed are
generated again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas

from assay import __version__
from assay.data.example import Dataset, Example
from assay.data.loaders import load_dataset
from assay.data.prompts import Prompt, PromptConfig, build_prompts
from assay.evaluation.choices import ChoiceOptions, classify
from assay.exceptions import OptionError, at_least
from assay.executors import RayOptions, open_executor
from assay.metrics import MetricSpec, resolve_metrics
from assay.metrics.base import MetricFn
from assay.models.base import Generation, GenerationParams, Model, ModelOptions
from assay.runs.recorder import RunRecorder
from assay.runs.records import (
    EvalConfig,
    ExampleResult,
    FieldNames,
    Run,
    RunInfo,
    RunStats,
    new_run_id,
)
from assay.scoring import retry_hint, score_run
from assay.store import Store
from assay.store.store import using_store
from assay.terminal.progress import WorkProgress

DEFAULT_METRICS = ("exact_match", "f1")


@dataclass(frozen=True)
class DataOptions:
    """Which rows and fields of a data set to use."""

    split: str | None = None
    input_field: str | None = None
    reference_field: str | None = None
    id_field: str | None = None
    limit: int | None = None
    sample: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for option in ("limit", "sample"):
            value = getattr(self, option)
            if value is not None:
                at_least(option, value, 1)


@dataclass(frozen=True)
class EvalOptions:
    """Everything `evaluate` needs beyond the model and the data; one object for CLI and Python.

    Attributes:
        metrics: Metric names, or MetricSpec records for metrics with options.
        data: Which rows and fields.
        prompt: How examples become prompts.
        generation: How to generate.
        model: How to load and run the model.
        name: A name for the run.
        tags: Labels for the run.
        use_cache: Take outputs from the generation cache where it has them.
        progress: Show a progress bar.
        wait: When another process is doing the same run, wait for it (else raise).
        executor: Run the model on replicas on a Ray cluster (RayOptions); None runs it
            in this process. Either way this process alone writes the store.
        choices: Classify by log-likelihood over these labels instead of generating
            (evaluation/choices.py); the metrics are then accuracy and macro_f1.
    """

    metrics: tuple[str | MetricSpec, ...] = DEFAULT_METRICS
    data: DataOptions = field(default_factory=DataOptions)
    prompt: PromptConfig = field(default_factory=PromptConfig)
    generation: GenerationParams = field(default_factory=GenerationParams)
    model: ModelOptions = field(default_factory=ModelOptions)
    name: str | None = None
    tags: tuple[str, ...] = ()
    use_cache: bool = True
    progress: bool = True
    wait: bool = True
    executor: RayOptions | None = None
    choices: ChoiceOptions | None = None

    def __post_init__(self) -> None:
        if not self.metrics:
            raise OptionError("metrics", "names no metric")
        if self.name is not None and not self.name.strip():
            raise OptionError("name", "must not be empty")


def evaluate(
    model: str | Model,
    data: str | Path | pandas.DataFrame | Dataset,
    metrics: Sequence[str | MetricSpec] | None = None,
    *,
    options: EvalOptions | None = None,
    store: Store | str | None = None,
    **overrides: Any,
) -> Run:
    """Run a model over a test set, score it, and keep the run in the store.

    Examples whose generation failed (a server that refused, say) are stored with
    their error, left out of every score, and make the run "incomplete"; running
    the same command again generates them again.

    Args:
        model: A spec string ("smollm2-135m-instruct", "hf:./ft", "replay:preds.jsonl") or a Model.
        data: A file path, a hub id, a DataFrame, or a loaded Dataset.
        metrics: Metric names or MetricSpec records; default exact_match and f1.
        options: Data, prompt, generation and model options (EvalOptions).
        store: A Store, a database URL/path, or None for the default (.assay/assay.db or ASSAY_DB).
        **overrides: Shortcuts for common options: limit, sample, seed, split, input_field,
            reference_field, template, system, prompt_format, max_new_tokens, temperature,
            batch_size, dtype, name, executor.

    Returns:
        The stored run: `run.summary()` for aggregates, `run.to_pandas()` per example,
        `run.info.status` "complete" or "incomplete".
    """
    options = _with_overrides(options or EvalOptions(), metrics, overrides)
    # The data, the metrics, the model and its executor first: a bad file, metric
    # name, model spec or cluster address is refused before a store is created.
    dataset = load_dataset(data, **vars(options.data))
    metric_fns = resolve_metrics(options.metrics)
    evaluation = _Evaluation(model, dataset, metric_fns, options)
    try:
        with using_store(store) as active:
            return evaluation.run(active)
    finally:
        evaluation.executor.close()


class _Evaluation:
    """One evaluation, as the named steps of `evaluate`."""

    def __init__(
        self,
        model: str | Model,
        dataset: Dataset,
        metric_fns: dict[str, MetricFn],
        options: EvalOptions,
    ) -> None:
        self.options = options
        self.dataset = dataset
        self.metric_fns = metric_fns
        self.executor = open_executor(model, options.model, options.executor)
        self.model = self.executor.model
        try:
            self.prompts = build_prompts(
                options.prompt,
                self.dataset.examples,
                model_has_chat_template=self.model.has_chat_template,
            )
            self.rendered = [self.model.render(p) for p in self.prompts]
        except BaseException:
            self.executor.close()
            raise

    def run(self, store: Store) -> Run:
        started = time.perf_counter()
        recorder = RunRecorder.claim(
            store,
            self.run_key,
            self._new_info,
            wait=self.options.wait,
        )
        if not recorder.owned:
            return store.load_run(recorder.run_id)
        with recorder:
            pending = [
                i
                for i, e in enumerate(self.dataset.examples)
                if recorder.stored.get(e.id, True)  # not stored yet, or stored as failed
            ]
            stats = RunStats(resumed=recorder.resumed)
            if self.options.choices is not None:  # labels scored, nothing generated
                classify(self, recorder, stats)
            else:
                misses = self._take_cached(pending, recorder, stats)
                self._generate(misses, recorder, stats)
                _count_outputs(score_run(store, recorder.run_id, self.metric_fns), stats)
            recorder.finish(
                stats, time.perf_counter() - started, retry_hint=retry_hint(recorder.run_id)
            )
        return store.load_run(recorder.run_id)

    @property
    def run_key(self) -> str:
        identity = {
            "model": self.model.info.fingerprint,
            "data": self.dataset.fingerprint,
            "prompt": self.options.prompt.to_dict(),
            "generation": self.options.generation.to_dict(),
        }
        if self.options.choices is not None:
            identity["choices"] = self.options.choices.to_dict()
        return _digest(json.dumps(identity, sort_keys=True))

    def _new_info(self) -> RunInfo:
        model_info = self.model.info
        return RunInfo(
            id=new_run_id(),
            name=self.options.name or f"{model_info.spec} on {Path(self.dataset.name).name}",
            kind="eval",
            status="running",
            run_key=self.run_key,
            model_spec=model_info.spec,
            model_fingerprint=model_info.fingerprint,
            model_details=dict(model_info.details),
            dataset_name=self.dataset.name,
            dataset_fingerprint=self.dataset.fingerprint,
            n_examples=len(self.dataset),
            config=EvalConfig(
                prompt=self.options.prompt,
                generation=self.options.generation,
                fields=FieldNames(self.dataset.input_field, self.dataset.reference_field),
            ),
            metrics=["accuracy", "macro_f1"] if self.options.choices else list(self.metric_fns),
            assay_version=__version__,
            tags=self.options.tags,
        )

    def _cache_key(self, index: int) -> str:
        return cache_key(self.model.info.fingerprint, self.rendered[index], self.options.generation)

    def _take_cached(self, pending: list[int], recorder: RunRecorder, stats: RunStats) -> list[int]:
        """Store every pending example the cache already answers; return the rest."""
        if not self.options.use_cache or not pending:
            return pending
        keys = {i: self._cache_key(i) for i in pending}
        hits = recorder.store.cache_get(list(keys.values()))
        results = [self._result(i, hits[keys[i]], cached=True) for i in pending if keys[i] in hits]
        recorder.add(results)
        stats.cached = len(results)
        return [i for i in pending if keys[i] not in hits]

    def _generate(self, indices: list[int], recorder: RunRecorder, stats: RunStats) -> None:
        if not indices:
            return
        prompts: list[Prompt] = [self.prompts[i] for i in indices]
        self.executor.start()
        began = time.perf_counter()
        progress = WorkProgress(len(indices), enabled=self.options.progress)
        flush_every = max(1, self.options.model.batch_size)
        buffer: list[tuple[int, ExampleResult, Generation]] = []

        def flush() -> None:
            if not buffer:
                return
            batch = buffer[:]
            buffer.clear()
            generations = (
                {self._cache_key(i): g for i, _, g in batch} if self.options.use_cache else None
            )
            recorder.add([r for _, r, _ in batch], generations=generations)

        def on_result(position: int, generation: Generation) -> None:
            index = indices[position]
            buffer.append((index, self._result(index, generation, cached=False), generation))
            progress.advance(tokens=generation.completion_tokens)
            if len(buffer) >= flush_every:
                flush()

        try:
            with progress:
                self.executor.generate(prompts, self.options.generation, on_result)
        finally:
            flush()
        stats.generated = len(indices)
        stats.seconds = round(time.perf_counter() - began, 3)

    def _result(self, index: int, generation: Generation, *, cached: bool) -> ExampleResult:
        example = self.dataset.examples[index]
        return ExampleResult(
            example_id=example.id,
            position=index,
            input=example.input,
            reference=example.reference,
            prompt=self.rendered[index],
            **generation_fields(generation),
            cached=cached,
            metadata=_metadata(example, self.dataset),
        )


def _count_outputs(run: Run, stats: RunStats) -> None:
    """The run's output counts and the throughput of this attempt's generation."""
    results = run.results
    fresh = [r for r in results if not r.cached]
    stats.truncated = sum(r.truncated_tokens > 0 for r in results)
    stats.stopped_at_length = sum(r.finish_reason == "length" for r in results)
    stats.completion_tokens = sum(r.completion_tokens for r in results)
    seconds = max(stats.seconds, 1e-9)
    stats.examples_per_second = round(stats.generated / seconds, 3) if stats.seconds else 0.0
    stats.tokens_per_second = (
        round(sum(r.completion_tokens for r in fresh) / seconds, 1) if stats.seconds else 0.0
    )


def _metadata(example: Example, dataset: Dataset) -> dict[str, Any]:
    """The row's other columns; the input and reference columns too where they hold more
    than the stored text (a list of acceptable answers, say), so metrics still see them."""
    fields = dict(example.fields)
    if fields.get(dataset.input_field) == example.input:
        del fields[dataset.input_field]
    if dataset.reference_field and fields.get(dataset.reference_field) == example.reference:
        del fields[dataset.reference_field]
    return fields


def cache_key(fingerprint: str, rendered: str, params: GenerationParams) -> str:
    """The generation cache's key: same model, same prompt text, same parameters."""
    identity = [fingerprint, rendered, json.dumps(params.to_dict(), sort_keys=True)]
    return _digest(json.dumps(identity))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


_OVERRIDES = {
    "split": ("data", "split"),
    "input_field": ("data", "input_field"),
    "reference_field": ("data", "reference_field"),
    "id_field": ("data", "id_field"),
    "limit": ("data", "limit"),
    "sample": ("data", "sample"),
    "seed": ("data", "seed"),
    "template": ("prompt", "template"),
    "system": ("prompt", "system"),
    "prompt_format": ("prompt", "format"),
    "max_new_tokens": ("generation", "max_new_tokens"),
    "temperature": ("generation", "temperature"),
    "top_p": ("generation", "top_p"),
    "stop": ("generation", "stop"),
    "batch_size": ("model", "batch_size"),
    "dtype": ("model", "dtype"),
    "adapter": ("model", "adapter"),
}

_TOP_LEVEL = ("name", "tags", "use_cache", "progress", "wait", "executor")


def _with_overrides(
    options: EvalOptions, metrics: Sequence[str | MetricSpec] | None, overrides: dict[str, Any]
) -> EvalOptions:
    """Apply the keyword shortcuts of `evaluate` to the nested options."""
    groups: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for key, value in overrides.items():
        if key in _TOP_LEVEL:
            top[key] = tuple(value) if key == "tags" else value
        elif key in _OVERRIDES:
            group, attribute = _OVERRIDES[key]
            groups.setdefault(group, {})[attribute] = tuple(value) if key == "stop" else value
        else:
            known = ", ".join(sorted([*_OVERRIDES, *_TOP_LEVEL]))
            raise OptionError(key, f"is not an option of evaluate(); known: {known}")
    nested = {group: replace(getattr(options, group), **values) for group, values in groups.items()}
    if metrics is not None:
        top["metrics"] = tuple(metrics)
    return replace(options, **nested, **top)


def generation_fields(generation: Generation) -> dict[str, Any]:
    """What a generation sets on its ExampleResult (the runner's and --retry-errors')."""
    return {
        "prediction": generation.text,
        "prompt_tokens": generation.prompt_tokens,
        "completion_tokens": generation.completion_tokens,
        "finish_reason": generation.finish_reason,
        "seconds": generation.seconds,
        "truncated_tokens": generation.truncated_tokens,
        "error": generation.error,
    }

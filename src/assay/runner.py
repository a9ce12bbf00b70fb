"""Running a model over a data set: cached, resumable, with progress, stored as a run.

The steps, in order: load the data and the model, check the metrics, build and
render prompts, find or create the run (an unfinished run with the same key is
resumed), take what the generation cache already knows, generate the rest in
continuous batches while committing results as they finish, then score.
A run killed at any point loses at most the results not yet flushed; started
again with the same arguments it carries on where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas

from assay import __version__
from assay.data.example import Dataset, Example
from assay.data.loaders import load_dataset
from assay.data.prompts import Prompt, PromptConfig, build_prompts
from assay.models.base import Generation, GenerationParams, Model, ModelOptions
from assay.models.registry import load_model
from assay.progress import GenerationProgress
from assay.run import ExampleResult, Run, RunInfo, new_run_id
from assay.scoring import resolve_metrics, score_run
from assay.store import Store, open_store

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


@dataclass(frozen=True)
class EvalOptions:
    """Everything `evaluate` needs beyond the model and the data; one object for CLI and Python."""

    metrics: tuple[str, ...] = DEFAULT_METRICS
    metric_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    data: DataOptions = field(default_factory=DataOptions)
    prompt: PromptConfig = field(default_factory=PromptConfig)
    generation: GenerationParams = field(default_factory=GenerationParams)
    model: ModelOptions = field(default_factory=ModelOptions)
    name: str | None = None
    use_cache: bool = True
    progress: bool = True


def evaluate(
    model: str | Model,
    data: str | Path | pandas.DataFrame | Dataset,
    metrics: Sequence[str] | None = None,
    *,
    options: EvalOptions | None = None,
    store: Store | str | None = None,
    **overrides: Any,
) -> Run:
    """Run a model over a test set, score it, and keep the run in the store.

    Args:
        model: A spec string ("smollm2-135m-instruct", "hf:./ft", "replay:preds.jsonl") or a Model.
        data: A file path, a hub id, a DataFrame, or a loaded Dataset.
        metrics: Metric names; default exact_match and f1.
        options: Data, prompt, generation and model options (EvalOptions).
        store: A Store, a database URL/path, or None for the default (.assay/assay.db or ASSAY_DB).
        **overrides: Shortcuts for common options: limit, sample, seed, split, input_field,
            reference_field, template, system, prompt_format, max_new_tokens, temperature,
            batch_size, dtype, name.

    Returns:
        The stored run: `run.summary()` for aggregates, `run.to_pandas()` per example.
    """
    options = _with_overrides(options or EvalOptions(), metrics, overrides)
    owns_store = not isinstance(store, Store)
    active_store = store if isinstance(store, Store) else open_store(store)
    try:
        return _Evaluation(model, data, options, active_store).run()
    finally:
        if owns_store:
            active_store.close()


class _Evaluation:
    """One evaluation, as the named steps of `evaluate`."""

    def __init__(self, model: str | Model, data: Any, options: EvalOptions, store: Store) -> None:
        self.options = options
        self.store = store
        self.dataset = load_dataset(data, **vars(options.data))
        self.metric_fns = resolve_metrics(options.metrics, options.metric_options)
        self.model = load_model(model, options.model)
        self.prompts = build_prompts(
            options.prompt,
            self.dataset.examples,
            model_has_chat_template=self.model.has_chat_template,
        )
        self.rendered = [self.model.render(p) for p in self.prompts]

    def run(self) -> Run:
        started = time.perf_counter()
        info = self._find_or_create_run()
        done = self.store.done_example_ids(info.id)
        pending = [i for i, e in enumerate(self.dataset.examples) if e.id not in done]
        counts: dict[str, Any] = {"resumed": len(done), "cached": 0, "generated": 0}
        writer = _ResultWriter(self.store, info.id, self._cache_key, self.options.use_cache)
        misses = self._take_cached(pending, writer, counts)
        self._generate(misses, writer, counts)
        run = score_run(self.store, info.id, self.metric_fns)
        stats = self._stats(run, counts, time.perf_counter() - started)
        self.store.finish_run(info.id, seconds=time.perf_counter() - started, stats=stats)
        return self.store.load_run(info.id)

    @property
    def run_key(self) -> str:
        identity = {
            "model": self.model.info.fingerprint,
            "data": self.dataset.fingerprint,
            "prompt": self.options.prompt.to_dict(),
            "generation": self.options.generation.to_dict(),
        }
        return _digest(json.dumps(identity, sort_keys=True))

    def _find_or_create_run(self) -> RunInfo:
        existing = self.store.find_unfinished_run(self.run_key)
        if existing is not None:
            return existing
        model_info = self.model.info
        info = RunInfo(
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
            prompt_config={
                **self.options.prompt.to_dict(),
                "fields": {
                    "input": self.dataset.input_field,
                    "reference": self.dataset.reference_field,
                },
            },
            generation_params=self.options.generation.to_dict(),
            metrics=list(self.options.metrics),
            assay_version=__version__,
        )
        self.store.create_run(info)
        return info

    def _cache_key(self, index: int) -> str:
        return cache_key(self.model.info.fingerprint, self.rendered[index], self.options.generation)

    def _take_cached(
        self, pending: list[int], writer: _ResultWriter, counts: dict[str, Any]
    ) -> list[int]:
        """Store every pending example the cache already answers; return the rest."""
        if not self.options.use_cache or not pending:
            return pending
        keys = {i: self._cache_key(i) for i in pending}
        hits = self.store.cache_get(list(keys.values()))
        results = [self._result(i, hits[keys[i]], cached=True) for i in pending if keys[i] in hits]
        writer.write(results, cache=False)
        counts["cached"] = len(results)
        return [i for i in pending if keys[i] not in hits]

    def _generate(self, indices: list[int], writer: _ResultWriter, counts: dict[str, Any]) -> None:
        if not indices:
            return
        prompts: list[Prompt] = [self.prompts[i] for i in indices]
        self.model.load()
        began = time.perf_counter()
        progress = GenerationProgress(len(indices), enabled=self.options.progress)
        flush_every = max(1, self.options.model.batch_size)

        def on_result(position: int, generation: Generation) -> None:
            writer.add(indices[position], self._result(indices[position], generation, cached=False))
            progress.advance(generation.completion_tokens)
            if writer.buffered >= flush_every:
                writer.flush()

        try:
            with progress:
                self.model.generate(prompts, self.options.generation, on_result=on_result)
        finally:
            writer.flush()
        counts["generated"] = len(indices)
        counts["generation_seconds"] = round(time.perf_counter() - began, 3)

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

    def _stats(self, run: Run, counts: dict[str, Any], seconds: float) -> dict[str, Any]:
        results = run.results
        generated = [r for r in results if not r.cached]
        gen_seconds = max(counts.get("generation_seconds", 0.0), 1e-9)
        return {
            **counts,
            "errors": sum(r.finish_reason == "error" for r in results),
            "truncated": sum(r.truncated_tokens > 0 for r in results),
            "stopped_at_length": sum(r.finish_reason == "length" for r in results),
            "completion_tokens": sum(r.completion_tokens for r in results),
            "examples_per_second": round(counts["generated"] / gen_seconds, 3),
            "tokens_per_second": round(
                sum(r.completion_tokens for r in generated) / gen_seconds, 1
            ),
        }


class _ResultWriter:
    """Buffers finished examples and commits them (and the cache) one batch per transaction."""

    def __init__(self, store: Store, run_id: str, cache_key: Any, use_cache: bool) -> None:
        self.store = store
        self.run_id = run_id
        self.cache_key = cache_key
        self.use_cache = use_cache
        self._pending: list[tuple[int, ExampleResult]] = []

    @property
    def buffered(self) -> int:
        return len(self._pending)

    def add(self, index: int, result: ExampleResult) -> None:
        self._pending.append((index, result))

    def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        self.write([r for _, r in batch], cache=self.use_cache, indices=[i for i, _ in batch])

    def write(
        self, results: list[ExampleResult], *, cache: bool, indices: list[int] | None = None
    ) -> None:
        if not results:
            return
        self.store.add_results(self.run_id, results)
        if cache and indices is not None:
            self.store.cache_put(
                {
                    self.cache_key(i): Generation(
                        text=r.prediction,
                        prompt_tokens=r.prompt_tokens,
                        completion_tokens=r.completion_tokens,
                        finish_reason=r.finish_reason,  # type: ignore[arg-type]
                        truncated_tokens=r.truncated_tokens,
                    )
                    for i, r in zip(indices, results, strict=True)
                    if r.finish_reason != "error"
                }
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


def _with_overrides(
    options: EvalOptions, metrics: Sequence[str] | None, overrides: dict[str, Any]
) -> EvalOptions:
    """Apply the keyword shortcuts of `evaluate` to the nested options."""
    from dataclasses import replace

    from assay.errors import AssayError

    groups: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for key, value in overrides.items():
        if key in ("name", "use_cache", "progress"):
            top[key] = value
        elif key in _OVERRIDES:
            group, attribute = _OVERRIDES[key]
            groups.setdefault(group, {})[attribute] = tuple(value) if key == "stop" else value
        else:
            known = ", ".join(sorted([*_OVERRIDES, "name", "use_cache", "progress"]))
            raise AssayError(f"evaluate() got an unknown option '{key}'; known: {known}")
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

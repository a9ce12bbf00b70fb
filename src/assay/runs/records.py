"""A run: one model over one data set (or benchmark suite), every example's output and
scores, as stored.

This module holds the records and their tabular views; :mod:`assay.runs.recorder`
writes them through their lifecycle, :mod:`assay.store` keeps them.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from assay.data.prompts import PromptConfig
from assay.exceptions import OptionError, StoreError
from assay.metrics.base import MetricSummary, Score
from assay.models.base import GenerationParams, LoglikelihoodStats

RunKind = Literal["eval", "bench"]
RunStatus = Literal["running", "complete", "incomplete", "failed", "interrupted"]
"""running: a live process holds the run. complete: every example has a usable output
and is scored. incomplete: finished, but some examples failed (no usable output;
``message`` says how many and why) and are not scored. failed: an error stopped it
(``message`` holds it). interrupted: its process stopped before the end (Ctrl-C, a kill,
a crash). The same command resumes any run that is not complete."""

RESUMABLE: tuple[RunStatus, ...] = ("running", "incomplete", "failed", "interrupted")
"""Statuses an identical command takes over and carries on (running only once its owner
is gone)."""

GROUP_TAG = "group:"
STEP_TAG = "step:"
"""Tag prefixes of a training run's checkpoints (assay.integrations.transformers): a run
tagged "group:ft-v1" and "step:20" is step 20 of the training run ft-v1. Tags, not
columns: a store of any version holds them, and `assay runs --tag` already filters."""

EXPORT_FORMATS = (".csv", ".jsonl", ".parquet")
"""File extensions Run.export writes."""

SUMMARY_COLUMNS = ["mean", "ci_low", "ci_high", "n", "unscored"]
RESULT_COLUMNS = [
    "prompt",
    "prompt_tokens",
    "completion_tokens",
    "finish_reason",
    "seconds",
    "truncated_tokens",
    "error",
    "cached",
]
"""ExampleResult fields shown after the scores in Run.to_pandas."""


def checkpoint_tags(group: str, step: int) -> tuple[str, str]:
    """The tags of step ``step`` of the training run ``group``."""
    return (f"{GROUP_TAG}{group}", f"{STEP_TAG}{step}")


def new_run_id() -> str:
    """A fresh run id: 12 hex characters."""
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class FieldNames:
    """The data set columns an eval read its inputs and references from."""

    input: str = "input"
    reference: str | None = "reference"


@dataclass(frozen=True)
class EvalConfig:
    """What an eval run asked of the model: the prompt, the fields, the generation.

    Attributes:
        prompt: Format, template and system prompt.
        generation: The generation parameters.
        fields: The data set columns of the inputs and references.
    """

    prompt: PromptConfig = field(default_factory=PromptConfig)
    generation: GenerationParams = field(default_factory=GenerationParams)
    fields: FieldNames = field(default_factory=FieldNames)


@dataclass(frozen=True)
class BenchConfig:
    """What a bench run scored: the tasks as asked, their shots, and where the data came from.

    Attributes:
        tasks: The names as given (suites, groups or tasks).
        shots: Task name -> few-shot examples, for every task run.
        limit: The first N questions of each task, or None for all.
        data_dir: The folder of hub-schema JSONL files, or None for the hub.
        fewshot_seed: The seed of the few-shot sampler.
    """

    tasks: tuple[str, ...] = ()
    shots: Mapping[str, int] = field(default_factory=dict)
    limit: int | None = None
    data_dir: str | None = None
    fewshot_seed: int = 1234


RunConfig = EvalConfig | BenchConfig


@dataclass
class RunStats:
    """What a run did, counted (the same record for eval and bench).

    Attributes:
        resumed: Examples already stored by an earlier, interrupted attempt.
        cached: Examples (eval) or requests (bench, classification) answered by the cache.
        generated: Examples generated (eval) or questions scored (bench) by the model now.
        failed: Examples without a usable output (not scored).
        truncated: Examples whose prompt was cut to fit the context.
        stopped_at_length: Examples that hit max_new_tokens.
        completion_tokens: Tokens generated, over all examples.
        seconds: Wall time of the model work (generation or log-likelihoods), load excluded.
        examples_per_second / tokens_per_second: Throughput of the model work.
        requests: (context, continuation) pairs of a bench run or a classification
            (eval --choices: one per example and label).
        loglikelihood: The log-likelihood engine's counts (bench runs on a local model).
    """

    resumed: int = 0
    cached: int = 0
    generated: int = 0
    failed: int = 0
    truncated: int = 0
    stopped_at_length: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    examples_per_second: float = 0.0
    tokens_per_second: float = 0.0
    requests: int = 0
    loglikelihood: LoglikelihoodStats | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunStats:
        """The stats from their stored form; unknown keys (older versions') are ignored."""
        known = {f.name: f for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known and k != "loglikelihood"}
        for name, value in values.items():  # NaN is stored as null
            if value is None and known[name].type == "float":
                values[name] = math.nan
        if "errors" in data and "failed" not in data:  # stores written before 0.2
            values["failed"] = data["errors"]
        engine = data.get("loglikelihood")
        if isinstance(engine, Mapping):
            names = {f.name for f in fields(LoglikelihoodStats)}
            values["loglikelihood"] = LoglikelihoodStats(
                **{k: v for k, v in engine.items() if k in names}
            )
        return cls(**values)


@dataclass
class ExampleResult:
    """One example of a run: what was asked, what came back, how it scored.

    Attributes:
        example_id: The example's id in its data set.
        position: The example's position in the data set (for stable ordering).
        input: The example's input text.
        reference: The expected answer, if any.
        prompt: The exact text sent to the model.
        prediction: The model's output text.
        prompt_tokens / completion_tokens: Token counts.
        finish_reason: "stop", "length" or "error".
        seconds: Generation time attributed to this example.
        truncated_tokens: Prompt tokens cut to fit the context.
        error: The backend's error message, if the example failed.
        cached: True when the output came from the generation cache.
        metadata: The data set's other columns for this example.
        scores: Metric name -> score.
    """

    example_id: str
    position: int
    input: str
    reference: str | None
    prompt: str
    prediction: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"
    seconds: float = 0.0
    truncated_tokens: int = 0
    error: str | None = None
    cached: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, Score] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """No usable output: the generation failed. Such an example is never scored."""
        return self.finish_reason == "error"


@dataclass
class RunInfo:
    """What was run, so that any run can be reproduced, compared or resumed.

    Attributes:
        id: Short unique id (12 hex characters).
        name: A human name (defaults to "<model> on <data>").
        kind: "eval" (generation over a test set) or "bench" (a benchmark suite).
        status: running, complete, incomplete, failed or interrupted (see RunStatus).
        run_key: Hash of everything that determines the outputs (model
            fingerprint, data fingerprint, prompt config, generation params);
            an unfinished run with the same key is resumed instead of restarted.
        model_spec / model_fingerprint / model_details: The model as given and its identity.
        dataset_name / dataset_fingerprint: The data set as given and its content hash.
        n_examples: Examples in the run (after --limit / --sample).
        config: What was asked: an EvalConfig or a BenchConfig, by kind.
        metrics: Metric names scored, in order.
        assay_version: The assay version that made the run.
        created_at / finished_at: UTC timestamps.
        seconds: Wall time of the whole run.
        stats: What the run did, counted.
        summary: Metric name -> aggregate, filled when the run is scored.
        message: Why the run failed or is incomplete; None otherwise.
        owner: The process working on a running run ("host:pid").
        heartbeat_at: When that process last said it was alive.
        tags: Labels a user put on the run.
    """

    id: str
    name: str
    kind: RunKind
    status: RunStatus
    run_key: str
    model_spec: str
    model_fingerprint: str
    dataset_name: str
    dataset_fingerprint: str
    n_examples: int
    model_details: dict[str, str] = field(default_factory=dict)
    config: RunConfig = field(default_factory=EvalConfig)
    metrics: list[str] = field(default_factory=list)
    assay_version: str = ""
    created_at: datetime | None = None
    finished_at: datetime | None = None
    seconds: float = 0.0
    stats: RunStats = field(default_factory=RunStats)
    summary: dict[str, MetricSummary] = field(default_factory=dict)
    message: str | None = None
    owner: str | None = None
    heartbeat_at: datetime | None = None
    tags: tuple[str, ...] = ()

    @property
    def group(self) -> str | None:
        """The training run this run is a checkpoint of (its "group:" tag), or None."""
        return next((t.removeprefix(GROUP_TAG) for t in self.tags if t.startswith(GROUP_TAG)), None)

    @property
    def step(self) -> int | None:
        """The training step this run evaluated (its "step:" tag), or None."""
        for tag in self.tags:
            if tag.startswith(STEP_TAG) and tag.removeprefix(STEP_TAG).isdigit():
                return int(tag.removeprefix(STEP_TAG))
        return None

    @property
    def eval_config(self) -> EvalConfig:
        """The config of an eval run.

        Raises:
            OptionError: The run is a bench run.
        """
        if not isinstance(self.config, EvalConfig):
            raise OptionError("run", f"{self.id} is a {self.kind} run, not an eval run")
        return self.config


@dataclass
class Run:
    """A stored run: what was run and every example's result, with tabular views.

    Attributes:
        info: What was run, and the aggregates.
        results: One result per example, ordered by position.
    """

    info: RunInfo
    results: list[ExampleResult] = field(repr=False)

    def __repr__(self) -> str:
        return (
            f"Run(id={self.id!r}, name={self.name!r}, status={self.info.status!r}, "
            f"results={len(self.results)})"
        )

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def name(self) -> str:
        return self.info.name

    def summary(self, by: str | None = None) -> pd.DataFrame:
        """One row per metric (index "metric"): mean, ci_low, ci_high, n (examples scored)
        and unscored (examples with an output the metric could not score).

        With ``by`` (a metadata field: "topic", "difficulty", a bench run's "task"), one
        row per (value, metric), index (by, "metric"), each slice's own interval, and
        a "small" column: slices under assay.slices.SMALL_SLICE examples, whose
        intervals are too wide to read much into.

        Raises:
            OptionError: No example of the run has the field.
        """
        if by is not None:
            from assay.slices import slice_frame

            return slice_frame(self, by)
        names = _metric_names(self.info.metrics, [self.info.summary])
        rows = [
            {
                "metric": name,
                "mean": s.mean,
                "ci_low": s.ci_low,
                "ci_high": s.ci_high,
                "n": s.n,
                "unscored": s.unscored,
            }
            for name in names
            if (s := self.info.summary.get(name)) is not None
        ]
        frame = pd.DataFrame(rows, columns=["metric", *SUMMARY_COLUMNS])
        return frame.astype({"n": "int64", "unscored": "int64"}).set_index("metric")

    def to_pandas(self) -> pd.DataFrame:
        """One row per example, ordered by position.

        Columns: example_id, input, reference, prediction, one column per metric
        (its score, NaN where missing), the prompt and accounting fields, the data
        set's other columns as "meta.<name>", and "<metric>.detail" for each metric
        that explains any of its scores.
        """
        results = sorted(self.results, key=lambda r: r.position)
        metrics = _metric_names(self.info.metrics, [r.scores for r in results])
        detailed = [m for m in metrics if any(_detail(r, m) is not None for r in results)]
        meta_keys = list(dict.fromkeys(key for r in results for key in r.metadata))
        columns = [
            "example_id",
            "input",
            "reference",
            "prediction",
            *metrics,
            *RESULT_COLUMNS,
            *(f"meta.{key}" for key in meta_keys),
            *(f"{m}.detail" for m in detailed),
        ]
        rows = []
        for r in results:
            row: dict[str, Any] = {
                "example_id": r.example_id,
                "input": r.input,
                "reference": r.reference,
                "prediction": r.prediction,
            }
            for m in metrics:
                score = r.scores.get(m)
                row[m] = math.nan if score is None else score.value
            for name in RESULT_COLUMNS:
                row[name] = getattr(r, name)
            for key in meta_keys:
                row[f"meta.{key}"] = r.metadata.get(key)
            for m in detailed:
                row[f"{m}.detail"] = _detail(r, m)
            rows.append(row)
        frame = pd.DataFrame(rows, columns=columns)
        return frame.astype({m: "float64" for m in metrics})

    def export(self, path: str | Path) -> Path:
        """Write to_pandas() to a file whose extension picks the format.

        Supported: .csv, .jsonl (one JSON object per line) and .parquet.

        Raises:
            StoreError: The extension is not supported, or the file cannot be written.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in EXPORT_FORMATS:
            raise StoreError(
                f"cannot export run {self.id} to {path}: unsupported extension "
                f"'{path.suffix}'; use one of {', '.join(EXPORT_FORMATS)}"
            )
        frame = self.to_pandas()
        try:
            if suffix == ".csv":
                frame.to_csv(path, index=False)
            elif suffix == ".jsonl":
                frame.to_json(path, orient="records", lines=True, force_ascii=False)
            else:
                frame.to_parquet(path, index=False)
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
        except (ValueError, TypeError) as exc:  # pyarrow: a column of mixed types
            raise StoreError(f"cannot export run {self.id} to {path}: {exc}") from exc
        return path


def _metric_names(order: list[str], found: list[dict[str, Any]]) -> list[str]:
    """The run's metrics in their declared order, then any others as first seen."""
    seen = dict.fromkeys(name for scores in found for name in scores)
    return [m for m in order if m in seen] + [m for m in seen if m not in order]


def _detail(result: ExampleResult, metric: str) -> str | None:
    score = result.scores.get(metric)
    return None if score is None else score.detail

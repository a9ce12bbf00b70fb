"""A run: one model over one data set, every example's output and scores, as stored.

This module holds the records only; :mod:`assay.store` reads and writes them and
:mod:`assay.runner` produces them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from assay.metrics.base import MetricSummary, Score


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


@dataclass
class RunInfo:
    """What was run, so that any run can be reproduced, compared or resumed.

    Attributes:
        id: Short unique id (12 hex characters).
        name: A human name (defaults to "<model> on <data>").
        kind: "eval" (generation over a test set) or "bench" (a benchmark suite).
        status: "running" until every example is stored, then "complete".
        run_key: Hash of everything that determines the outputs (model
            fingerprint, data fingerprint, prompt config, generation params);
            an unfinished run with the same key is resumed instead of restarted.
        model_spec / model_fingerprint / model_details: The model as given and its identity.
        dataset_name / dataset_fingerprint: The data set as given and its content hash.
        n_examples: Examples in the run (after --limit / --sample).
        prompt_config: format, template and system prompt used.
        generation_params: GenerationParams.to_dict().
        metrics: Metric names scored, in order.
        assay_version: The assay version that made the run.
        created_at / finished_at: UTC timestamps.
        seconds: Wall time of the whole run.
        stats: Run-level counts (examples/s, tokens/s, cached, truncated, errors, ...).
        summary: Metric name -> aggregate, filled when the run is scored.
    """

    id: str
    name: str
    kind: str
    status: str
    run_key: str
    model_spec: str
    model_fingerprint: str
    dataset_name: str
    dataset_fingerprint: str
    n_examples: int
    model_details: dict[str, str] = field(default_factory=dict)
    prompt_config: dict[str, Any] = field(default_factory=dict)
    generation_params: dict[str, Any] = field(default_factory=dict)
    metrics: list[str] = field(default_factory=list)
    assay_version: str = ""
    created_at: datetime | None = None
    finished_at: datetime | None = None
    seconds: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, MetricSummary] = field(default_factory=dict)

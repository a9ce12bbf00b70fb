"""The Executor protocol: where a run's model work happens, and choosing one.

A run (eval or bench) is driven by one process, the driver: it builds the
prompts, claims the run, reads the caches and commits results batch by batch
through the run's recorder. What it hands an executor is only the model work —
prompts to generate for, (context, continuation) pairs to score — and it gets
each result back through the same callbacks a model takes, in the driver, so
the rest of the run is the same wherever the work ran:

- `LocalExecutor` (local.py): the model in this process, as always;
- `RayExecutor` (ray.py): replicas of the model on a Ray cluster.

Either way only the driver touches the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from assay.data.prompts import Prompt
from assay.models.base import (
    GenerationParams,
    LoglikelihoodCallback,
    LoglikelihoodStats,
    Model,
    ModelOptions,
    ResultCallback,
)

if TYPE_CHECKING:
    from assay.executors.ray import RayOptions


@runtime_checkable
class Executor(Protocol):
    """Runs a model's work for a driver and reports every result through its callbacks.

    Attributes:
        model: The driver's model: what identifies the outputs (`info`), renders
            prompts; its weights load only where the work runs.
    """

    model: Model

    def start(self) -> None:
        """Load the weights where the work runs (so that timing starts after it)."""
        ...

    def generate(
        self, prompts: Sequence[Prompt], params: GenerationParams, on_result: ResultCallback
    ) -> None:
        """Generate for every prompt; `on_result(index, generation)` once per prompt."""
        ...

    def loglikelihood(
        self,
        requests: Sequence[tuple[str, str]],
        on_result: LoglikelihoodCallback,
        stats: LoglikelihoodStats,
    ) -> None:
        """Score every request; `on_result(index, logprob, greedy)` once per request, with
        `stats` counting the work as it goes."""
        ...

    def close(self) -> None:
        """Give back what `start` took (replicas, a cluster started for the run)."""
        ...


def open_executor(
    model: str | Model, options: ModelOptions, ray: RayOptions | None = None
) -> Executor:
    """The executor for a run: in this process, or on a Ray cluster when `ray` is given.

    Args:
        model: A spec string or a Model (a Model runs only in this process).
        options: How to load and run the model.
        ray: Replicas, cluster address and resources; None runs the model here.
    """
    if ray is None:
        from assay.executors.local import LocalExecutor
        from assay.models.registry import load_model

        return LocalExecutor(load_model(model, options))
    from assay.executors.ray import RayExecutor

    return RayExecutor(model, options, ray)

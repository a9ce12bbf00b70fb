"""The model in this process: what every run did before executors, and still does by default."""

from __future__ import annotations

from collections.abc import Sequence

from assay.data.prompts import Prompt
from assay.models.base import (
    GenerationParams,
    LoglikelihoodCallback,
    LoglikelihoodStats,
    Model,
    ResultCallback,
)


class LocalExecutor:
    """Hands the work straight to the model, in this process."""

    def __init__(self, model: Model) -> None:
        self.model = model

    def start(self) -> None:
        self.model.load()

    def generate(
        self, prompts: Sequence[Prompt], params: GenerationParams, on_result: ResultCallback
    ) -> None:
        self.model.generate(prompts, params, on_result=on_result)

    def loglikelihood(
        self,
        requests: Sequence[tuple[str, str]],
        on_result: LoglikelihoodCallback,
        stats: LoglikelihoodStats,
    ) -> None:
        self.model.loglikelihood(requests, on_result=on_result, stats=stats)

    def close(self) -> None:
        """Nothing to give back: the model lives as long as the process."""

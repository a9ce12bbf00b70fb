"""Executors: where a run's model work happens — in this process, or on replicas of the
model on a Ray cluster — while the driver alone claims the run and commits its results.

    from assay.executors import RayOptions
    assay.evaluate("hf:./ft", "test.jsonl", options=EvalOptions(executor=RayOptions(replicas=4)))
"""

from assay.executors.base import Executor, open_executor
from assay.executors.local import LocalExecutor
from assay.executors.ray import RayExecutor, RayOptions

__all__ = ["Executor", "LocalExecutor", "RayExecutor", "RayOptions", "open_executor"]

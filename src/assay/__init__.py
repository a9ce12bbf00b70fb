"""assay: evaluate fine-tuned language models on your own test set, and iterate.

The public API, for notebooks and scripts::

    import assay
    run = assay.evaluate("smollm2-135m-instruct", "examples/qa/test.jsonl", metrics=["exact_match", "f1"])
    run.summary()      # metric -> mean with a 95% bootstrap interval
    run.to_pandas()    # one row per example
"""

__version__ = "0.1.0"

from assay.data import Dataset, Example, Prompt, PromptConfig, load_dataset
from assay.evaluation import DataOptions, EvalOptions, evaluate
from assay.exceptions import AssayError
from assay.metrics import Score, ScoreInput, list_metrics, metric, register_metric
from assay.models.base import Generation, GenerationParams, Model, ModelOptions
from assay.models.registry import load_model
from assay.runs.records import ExampleResult, Run, RunInfo
from assay.scoring import rescore
from assay.store import Store, open_store

__all__ = [
    "AssayError",
    "DataOptions",
    "Dataset",
    "EvalOptions",
    "Example",
    "ExampleResult",
    "Generation",
    "GenerationParams",
    "Model",
    "ModelOptions",
    "Prompt",
    "PromptConfig",
    "Run",
    "RunInfo",
    "Score",
    "ScoreInput",
    "Store",
    "__version__",
    "evaluate",
    "list_metrics",
    "load_dataset",
    "load_model",
    "metric",
    "open_store",
    "register_metric",
    "rescore",
]

"""assay: evaluate fine-tuned language models on your own test set, and iterate.

The public API, for notebooks and scripts::

    import assay
    run = assay.evaluate("smollm2-135m-instruct", "examples/qa/test.jsonl", metrics=["exact_match", "f1"])
    run.summary()      # metric -> mean with its 95% interval, n and unscored
    run.to_pandas()    # one row per example
    assay.run_bench("smollm2-135m-instruct", "arc_challenge", options=assay.BenchOptions(limit=50))
"""

__version__ = "0.2.0"

from assay.bench import BenchOptions, BenchResult, run_bench
from assay.data import Dataset, Example, Prompt, PromptConfig, load_dataset
from assay.evaluation import DataOptions, EvalOptions, evaluate, retry_errors
from assay.exceptions import AssayError
from assay.metrics import MetricSpec, Score, ScoreInput, list_metrics, metric, register_metric
from assay.models import Generation, GenerationParams, Model, ModelOptions, load_model
from assay.runs import BenchConfig, EvalConfig, ExampleResult, Run, RunInfo, RunStats
from assay.scoring import rescore
from assay.store import RunFilter, Store, open_store

__all__ = [
    "AssayError",
    "BenchConfig",
    "BenchOptions",
    "BenchResult",
    "DataOptions",
    "Dataset",
    "EvalConfig",
    "EvalOptions",
    "Example",
    "ExampleResult",
    "Generation",
    "GenerationParams",
    "MetricSpec",
    "Model",
    "ModelOptions",
    "Prompt",
    "PromptConfig",
    "Run",
    "RunFilter",
    "RunInfo",
    "RunStats",
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
    "retry_errors",
    "run_bench",
]

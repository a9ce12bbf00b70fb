"""Evaluation: a model over a test set, cached and resumable, scored and stored
(evaluate.py), and a second try at the examples that failed (retry.py)."""

from assay.evaluation.evaluate import DataOptions, EvalOptions, evaluate
from assay.evaluation.retry import retry_errors

__all__ = ["DataOptions", "EvalOptions", "evaluate", "retry_errors"]

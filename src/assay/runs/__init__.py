"""Runs: the records of what was run and what came out (records.py), the one lifecycle
every run goes through (recorder.py, ownership.py), and the one rule for which examples
went wrong (verdicts.py)."""

from assay.runs.recorder import RunRecorder
from assay.runs.records import (
    BenchConfig,
    EvalConfig,
    ExampleResult,
    FieldNames,
    Run,
    RunConfig,
    RunInfo,
    RunKind,
    RunStats,
    RunStatus,
)
from assay.runs.verdicts import MainMetric, main_metric

__all__ = [
    "BenchConfig",
    "EvalConfig",
    "ExampleResult",
    "FieldNames",
    "MainMetric",
    "Run",
    "RunConfig",
    "RunInfo",
    "RunKind",
    "RunRecorder",
    "RunStats",
    "RunStatus",
    "main_metric",
]

"""Runs: the records of what was run and what came out (records.py)."""

from assay.runs.records import ExampleResult, Run, RunInfo

__all__ = ["ExampleResult", "Run", "RunInfo"]

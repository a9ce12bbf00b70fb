"""Runs built in memory for the tests of what reads runs (error analysis, compare, report)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assay.metrics import Score
from assay.runs.records import ExampleResult, Run, RunInfo


def make_run(rows: Sequence[dict[str, Any]], run_id: str = "run0000000aa", **info: Any) -> Run:
    """A run whose results are the rows (fields of ExampleResult; "scores" as metric -> value)."""
    results = []
    for position, row in enumerate(rows):
        row = dict(row)
        scores = {k: Score(float(v)) for k, v in row.pop("scores", {}).items()}
        row.setdefault("example_id", str(position))
        row.setdefault("input", f"question {position}?")
        row.setdefault("reference", None)
        row.setdefault("prompt", row["input"])
        results.append(ExampleResult(position=position, scores=scores, **row))
    metrics = list(dict.fromkeys(m for r in results for m in r.scores))
    fields: dict[str, Any] = {
        "id": run_id,
        "name": run_id,
        "kind": "eval",
        "status": "complete",
        "run_key": "k",
        "model_spec": "replay:x",
        "model_fingerprint": "m",
        "dataset_name": "d",
        "dataset_fingerprint": "fp",
        "n_examples": len(results),
        "metrics": metrics,
    }
    fields.update(info)
    return Run(RunInfo(**fields), results)

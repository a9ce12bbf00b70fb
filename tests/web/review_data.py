"""Test data for the review tests: two small runs over the same questions, one answer
an XSS payload."""

from __future__ import annotations

from datetime import datetime, timezone

from assay.metrics.base import MetricSummary, Score
from assay.runs.records import ExampleResult, RunInfo
from assay.store import Store

XSS = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
RUN_A, RUN_B = "aaaa00000001", "bbbb00000002"
T0 = datetime(2025, 1, 2, tzinfo=timezone.utc)


def write_run(store: Store, run_id: str, name: str, n: int, *, good: bool) -> None:
    store.create_run(
        RunInfo(
            id=run_id,
            name=name,
            kind="eval",
            status="running",
            run_key=run_id,
            model_spec=f"replay:{name}.jsonl",
            model_fingerprint="fp",
            dataset_name="qa.jsonl",
            dataset_fingerprint="dfp",
            n_examples=n,
            metrics=["exact_match"],
            created_at=T0,
        )
    )
    results = []
    for i in range(n):
        right = good or i % 2 == 0
        prediction = f"Paris is the capital {i}" if right else f"Lyon is a city {i}"
        if i == 1 and not good:
            prediction = XSS
        results.append(
            ExampleResult(
                example_id=f"ex{i}",
                position=i,
                input=f"What is the capital of France? ({i})",
                reference=f"Paris is the capital {i}",
                prompt=f"Q{i}",
                prediction=prediction,
                scores={"exact_match": Score(1.0 if right else 0.0, "judge says <b>ok</b>")},
            )
        )
    store.add_results(run_id, results)
    mean = sum(r.scores["exact_match"].value for r in results) / n
    store.save_summary(run_id, {"exact_match": MetricSummary("exact_match", mean, 0.0, 1.0, n)})
    store.end_run(run_id, "complete", seconds=1.0)

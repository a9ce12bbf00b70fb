"""A store with what the fine-tuner's loop leaves behind: a base model's and a fine-tune's
eval runs on one test set (with topics), their bench runs (ARC with 25 shots, TruthfulQA
mc2), checkpoints of the training run, and runs the card must refuse."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from assay.metrics.base import Score
from assay.metrics.intervals import summarize
from assay.runs.records import BenchConfig, ExampleResult, RunInfo, checkpoint_tags
from assay.store import Store

T0 = datetime(2025, 3, 1, tzinfo=timezone.utc)
TOPICS = ("cli", "data", "store")
N = 30
"""Examples in the test set: 10 per topic."""
BASE_RIGHT = set(range(0, N, 3))
TUNED_RIGHT = set(range(0, N, 3)) | set(range(1, N, 3)) - {1}
"""The fine-tune fixes 9 (ids 4, 7, ...) and breaks none; id 1 stays wrong."""
ARC = 60


def store_run(
    store: Store,
    run_id: str,
    name: str,
    results: Sequence[ExampleResult],
    *,
    kind: str = "eval",
    dataset: str = "qa/test.jsonl",
    dataset_fingerprint: str = "qa-fp",
    config: object | None = None,
    tags: tuple[str, ...] = (),
    minutes: int = 0,
) -> None:
    """Store a complete run with its summaries (per task/metric for a bench run)."""
    metrics = list(dict.fromkeys(m for r in results for m in r.scores))
    fields: dict[str, object] = {} if config is None else {"config": config}
    store.create_run(
        RunInfo(
            id=run_id,
            name=name,
            kind=kind,  # type: ignore[arg-type]
            status="running",
            run_key=run_id,
            model_spec="smollm2-135m-instruct",
            model_fingerprint=f"fp-{name}",
            dataset_name=dataset,
            dataset_fingerprint=dataset_fingerprint,
            n_examples=len(results),
            metrics=metrics,
            created_at=T0 + timedelta(minutes=minutes),
            tags=tags,
            **fields,  # type: ignore[arg-type]
        )
    )
    store.add_results(run_id, list(results))
    summary = {}
    if kind == "bench":
        tasks = dict.fromkeys(str(r.metadata["task"]) for r in results)
        for task in tasks:
            for metric in metrics:
                values = [
                    r.scores[metric].value
                    for r in results
                    if r.metadata["task"] == task and metric in r.scores
                ]
                if values:
                    summary[f"{task}/{metric}"] = summarize(f"{task}/{metric}", values)
    else:
        for metric in metrics:
            summary[metric] = summarize(metric, [r.scores[metric].value for r in results])
    store.save_summary(run_id, summary)
    store.end_run(run_id, "complete", seconds=1.0)


def qa_results(
    right: set[int], *, verbose: bool, reference_of: dict[int, str] | None = None
) -> list[ExampleResult]:
    results = []
    for i in range(N):
        reference = (reference_of or {}).get(i, f"answer {i}")
        if i in right:
            prediction = reference
        elif verbose:
            prediction = " ".join(["Sure, here is a long explanation about many things"] * 6)
        else:
            prediction = f"wrong {i}"
        results.append(
            ExampleResult(
                example_id=f"qa-{i:03d}",
                position=i,
                input=f"Question {i} about {TOPICS[i % 3]}?",
                reference=reference,
                prompt=f"Q{i}",
                prediction=prediction,
                metadata={"topic": TOPICS[i % 3]},
                scores={
                    "exact_match": Score(float(prediction == reference)),
                    "length": Score(float(len(prediction.split()))),
                },
            )
        )
    return results


def bench_results(
    arc_right: set[int], mc2: float, *, shots: int = 25, phase: int = 0
) -> list[ExampleResult]:
    results = [
        ExampleResult(
            example_id=f"arc_challenge/{i}",
            position=i,
            input=f"ARC question {i}",
            reference="A",
            prompt=f"ARC {i}",
            prediction="A" if i in arc_right else "B",
            metadata={"task": "arc_challenge", "shots": shots},
            scores={"acc": Score(float(i in arc_right)), "acc_norm": Score(float(i in arc_right))},
        )
        for i in range(ARC)
    ]
    results += [
        ExampleResult(
            example_id=f"truthfulqa_mc2/{i}",
            position=ARC + i,
            input=f"TruthfulQA question {i}",
            reference="true",
            prompt=f"T {i}",
            prediction="true",
            metadata={"task": "truthfulqa_mc2", "shots": 0},
            scores={"mc2": Score(mc2 + 0.01 * ((i + phase) % 5))},
        )
        for i in range(20)
    ]
    return results


def bench_config(shots: int = 25) -> BenchConfig:
    return BenchConfig(
        tasks=("arc_challenge", "truthfulqa_mc2"),
        shots={"arc_challenge": shots, "truthfulqa_mc2": 0},
        limit=ARC,
    )


def write_loop(store: Store) -> None:
    """base and ft-v1: eval + bench each; ft-v1's ARC drops from 36 to 20 of 60 right."""
    store_run(store, "base00000001", "base", qa_results(BASE_RIGHT, verbose=True))
    store_run(store, "tune00000001", "ft-v1", qa_results(TUNED_RIGHT, verbose=False), minutes=5)
    store_run(
        store,
        "base00000002",
        "base",
        bench_results(set(range(36)), 0.40),
        kind="bench",
        dataset="arc_challenge,truthfulqa_mc2",
        dataset_fingerprint="bench",
        config=bench_config(),
        minutes=1,
    )
    store_run(
        store,
        "tune00000002",
        "ft-v1",
        bench_results(set(range(20)), 0.40, phase=2),
        kind="bench",
        dataset="arc_challenge,truthfulqa_mc2",
        dataset_fingerprint="bench",
        config=bench_config(),
        minutes=6,
    )
    for step, right in ((0, BASE_RIGHT), (10, BASE_RIGHT | {4, 7}), (20, TUNED_RIGHT)):
        store_run(
            store,
            f"ckpt000000{step:02d}",
            f"ft-v1 step {step}",
            qa_results(right, verbose=step == 0),
            tags=checkpoint_tags("ft-v1", step),
            minutes=2 + step // 10,
        )

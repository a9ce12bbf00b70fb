"""Test data for the review tests: two small runs over the same questions (one answer an
XSS payload), an eval run whose endpoint failed on some examples, and a bench run with
per-question scores."""

from __future__ import annotations

from datetime import datetime, timezone

from assay.metrics.base import MetricSummary, Score
from assay.metrics.intervals import wilson
from assay.runs.records import BenchConfig, ExampleResult, RunInfo, RunStats
from assay.store import Store

XSS = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
RUN_A, RUN_B = "aaaa00000001", "bbbb00000002"
RUN_FAILED, RUN_BENCH = "cccc00000003", "dddd00000004"
TOKEN = "review-token-0123456789"
"""A token long enough for the app (16 or more characters)."""
T0 = datetime(2025, 1, 2, tzinfo=timezone.utc)
FAILED_ERROR = "POST http://127.0.0.1:9/v1/chat/completions: ConnectError: connection refused"
FAILED_MESSAGE = (
    "2 of 6 failed: ConnectError: connection refused — not scored; "
    f"assay eval --retry-errors {RUN_FAILED}"
)


def _info(run_id: str, name: str, n: int, metrics: list[str], **extra: object) -> RunInfo:
    fields: dict[str, object] = {"kind": "eval", **extra}
    return RunInfo(
        id=run_id,
        name=name,
        status="running",
        run_key=run_id,
        model_spec=f"replay:{name}.jsonl",
        model_fingerprint="fp",
        dataset_name="qa.jsonl",
        dataset_fingerprint="dfp",
        n_examples=n,
        metrics=metrics,
        created_at=T0,
        **fields,  # type: ignore[arg-type]
    )


def _summary(metric: str, values: list[float], unscored: int = 0) -> MetricSummary:
    n = len(values)
    low, high = wilson(int(sum(values)), n)
    return MetricSummary(metric, sum(values) / n, low, high, n, unscored)


def write_run(store: Store, run_id: str, name: str, n: int, *, good: bool) -> None:
    store.create_run(_info(run_id, name, n, ["exact_match"]))
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


def write_failed_run(store: Store) -> None:
    """Six questions against an endpoint that refused two of them (ex1 and ex4): the run
    is incomplete, the failed examples have an error and no scores; one judge reply on
    the others could not be read (unscored)."""
    store.create_run(_info(RUN_FAILED, "flaky endpoint", 6, ["exact_match", "judge"]))
    results = []
    for i in range(6):
        failed = i in (1, 4)
        scores = {} if failed else {"exact_match": Score(float(i % 2 == 0))}
        if not failed:
            scores["judge"] = Score(
                float("nan") if i == 5 else 7.0, "unparsable" if i == 5 else "ok"
            )
        results.append(
            ExampleResult(
                example_id=f"ex{i}",
                position=i,
                input=f"What is the capital of France? ({i})",
                reference=f"Paris is the capital {i}",
                prompt=f"Q{i}",
                prediction="" if failed else f"Paris is the capital {i}",
                finish_reason="error" if failed else "stop",
                error=FAILED_ERROR if failed else None,
                scores=scores,
            )
        )
    store.add_results(RUN_FAILED, results)
    store.save_summary(
        RUN_FAILED,
        {
            "exact_match": _summary("exact_match", [1.0, 1.0, 0.0, 0.0]),
            "judge": MetricSummary("judge", 7.0, 7.0, 7.0, 3, unscored=1),
        },
    )
    store.end_run(
        RUN_FAILED,
        "incomplete",
        message=FAILED_MESSAGE,
        seconds=1.0,
        stats=RunStats(generated=6, failed=2),
    )


def write_bench_run(store: Store) -> None:
    """A bench run of four ARC questions (acc, acc_norm) and two TruthfulQA ones (mc2), as
    `assay bench` stores them: scores per question, summaries per "task/metric"."""
    info = _info(
        RUN_BENCH,
        "smollm2 bench",
        6,
        [],
        kind="bench",
        config=BenchConfig(tasks=("arc_challenge", "truthfulqa_mc2"), shots={"arc_challenge": 25}),
    )
    info.model_spec = "smollm2-135m-instruct"
    info.dataset_name = "arc_challenge,truthfulqa_mc2"
    store.create_run(info)
    arc = [(1.0, 1.0), (0.0, 1.0), (0.0, 0.0), (1.0, 0.0)]
    results = [
        ExampleResult(
            example_id=f"arc_challenge/{i}",
            position=i,
            input=f"Question {i}: which planet is largest?",
            reference="Jupiter",
            prompt=f"Question {i}",
            prediction="Jupiter" if acc else "Mars",
            metadata={"task": "arc_challenge", "shots": 25},
            scores={"acc": Score(acc), "acc_norm": Score(norm)},
        )
        for i, (acc, norm) in enumerate(arc)
    ]
    mc2 = [0.625, 0.375]
    results += [
        ExampleResult(
            example_id=f"truthfulqa_mc2/{i}",
            position=4 + i,
            input=f"Is claim {i} true?",
            reference="no",
            prompt=f"Claim {i}",
            prediction="no",
            metadata={"task": "truthfulqa_mc2", "shots": 0},
            scores={"mc2": Score(value)},
        )
        for i, value in enumerate(mc2)
    ]
    store.add_results(RUN_BENCH, results)
    store.save_summary(
        RUN_BENCH,
        {
            "arc_challenge/acc": _summary("arc_challenge/acc", [a for a, _ in arc]),
            "arc_challenge/acc_norm": _summary("arc_challenge/acc_norm", [b for _, b in arc]),
            "truthfulqa_mc2/mc2": MetricSummary("truthfulqa_mc2/mc2", 0.5, 0.375, 0.625, 2),
        },
    )
    store.set_metrics(RUN_BENCH, ["acc", "acc_norm", "mc2"])
    store.end_run(RUN_BENCH, "complete", seconds=3.0)

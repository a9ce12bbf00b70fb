"""What a faster precision mode does to log-likelihood benchmark scores, against float32.

Runs `assay.bench.run_bench` on the bundled SmolLM2 in float32 and in each faster
mode (bfloat16, int8, int4) on the parity tasks of perf/parity_lm_eval.py (the same
shots and data, the first --limit questions of each), one store per mode, and reports
per task and mode:

- each metric and its change from float32, in points;
- how many questions chose the same answer as float32 (by acc and by acc_norm);
- the largest and the median change of a choice's log-likelihood;
- the seconds each mode took.

Float32 is the reference because its scores are lm-evaluation-harness's
(perf/parity_lm_eval.py); a mode's change here is what choosing it costs.

    python perf/precision_scores.py [--limit 25] [--modes bf16,int8,int4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness_tasks import bench_data_dir

ROOT = Path(__file__).resolve().parent.parent
MODEL = "smollm2-135m-instruct"
TASKS = (
    "arc_challenge:25,hellaswag:9,mmlu_abstract_algebra:5,mmlu_anatomy:5,"
    "truthfulqa_mc1:0,truthfulqa_mc2:0"
)
MODES: dict[str, dict[str, str]] = {
    "fp32": {"dtype": "float32"},
    "bf16": {"dtype": "bfloat16"},
    "int8": {"dtype": "float32", "quantize": "int8"},
    "int4": {"dtype": "float32", "quantize": "int4"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=25, help="questions per task")
    parser.add_argument("--tasks", default=TASKS, help="task:shots, comma-separated")
    parser.add_argument("--modes", default="bf16,int8,int4", help="modes against fp32")
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()

    from assay.bench import BenchOptions, run_bench
    from assay.models.base import ModelOptions

    shots = {name: int(n) for name, n in (item.split(":") for item in args.tasks.split(","))}
    modes = ["fp32", *[m for m in args.modes.split(",") if m != "fp32"]]
    data = bench_data_dir(args.data_dir)
    load = [os.getloadavg()[0]]
    results: dict[str, dict[str, Any]] = {}
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for mode in modes:
            model_options = ModelOptions(**MODES[mode])  # type: ignore[arg-type]
            began = time.perf_counter()
            results[mode] = {}
            for task, n in shots.items():
                options = BenchOptions(
                    tasks=(task,),
                    num_fewshot=n,
                    limit=args.limit,
                    data_dir=data,
                    model=model_options,
                    progress=False,
                )
                db = str(Path(scratch) / f"{mode}.db")
                result = run_bench(MODEL, options=options, store=db)
                results[mode][task] = (result, _questions(db, result.run_id))
            seconds[mode] = time.perf_counter() - began
            load.append(os.getloadavg()[0])
            print(f"{mode}: {seconds[mode]:.1f} s", flush=True)
    _report(shots, modes, results, seconds)
    print(f"load average (1 min) before and after each mode: {', '.join(f'{x:.1f}' for x in load)}")


def _questions(db: str, run_id: str) -> list[dict[str, Any]]:
    from assay.store import open_store

    with open_store(db) as store:
        run = store.load_run(run_id)
    return [dict(r.metadata) for r in sorted(run.results, key=lambda r: r.position)]


def _choice(question: dict[str, Any], metric: str) -> int:
    from assay.bench.choices import predicted_choice

    return predicted_choice(question["choices"], question["logliks"], metric)


def _report(
    shots: dict[str, int],
    modes: list[str],
    results: dict[str, dict[str, Any]],
    seconds: dict[str, float],
) -> None:
    print(
        "\n| task | shots | n | mode | metric | fp32 | mode's | change (points) "
        "| same acc | same acc_norm | max dLL | median dLL |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for task, n in shots.items():
        reference, reference_questions = results["fp32"][task]
        for mode in modes[1:]:
            result, questions = results[mode][task]
            pairs = list(zip(reference_questions, questions, strict=True))
            same = sum(_choice(a, "acc") == _choice(b, "acc") for a, b in pairs)
            same_norm = sum(_choice(a, "acc_norm") == _choice(b, "acc_norm") for a, b in pairs)
            changes = [
                abs(x - y)
                for a, b in pairs
                for x, y in zip(a["logliks"], b["logliks"], strict=True)
            ]
            for row, base in zip(result.rows, reference.rows, strict=True):
                if row.task != task:
                    continue
                print(
                    f"| {task} | {n} | {len(pairs)} | {mode} | {row.metric} "
                    f"| {base.value:.3f} | {row.value:.3f} | {100 * (row.value - base.value):+.1f} "
                    f"| {same}/{len(pairs)} | {same_norm}/{len(pairs)} "
                    f"| {max(changes):.3f} | {statistics.median(changes):.3f} |"
                )
    print("\n" + ", ".join(f"{mode} {seconds[mode]:.1f} s" for mode in modes))


if __name__ == "__main__":
    main()

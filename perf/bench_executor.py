"""What `--executor ray` costs and gives, against a local run on the same data, in one run.

Evaluates the bundled SmolLM2 on the example set (examples/qa/test.jsonl, 48
questions, greedy, --no-cache, a fresh store each time) in these ways, in
rounds, interleaved so that the machine's load falls on all of them alike:

- local, T threads: `assay.evaluate` in this process (torch.set_num_threads(T));
- ray, 1 replica of T CPUs: the same run on one Ray replica (a local Ray
  cluster of `--cpus` CPUs, started once by this script);
- ray, 2 replicas of 1 CPU: the work dealt to two replicas.

Times are the runs' own generation time (RunStats.seconds): the weights load
before it starts, locally and on the replicas alike, so model load is excluded.
Reported: the median per way, the executor's overhead (1 replica of T CPUs
against T local threads, for T = 1 and T = 2), two 1-CPU replicas against one
2-thread process, the predictions' equality, and the load average.

    OMP_WAIT_POLICY=passive python perf/bench_executor.py [--rounds 3] [--max-new-tokens 32]

On a host with more runnable threads than cores (a shared CI machine), libgomp's
spinning workers make every multi-threaded torch pass several times slower when
the parallel region starts from a process's main thread (a local run) but not
from another thread (a replica's job thread): 2-thread figures then compare the
spinning, not the executor. OMP_WAIT_POLICY=passive (inherited by the local Ray
cluster this script starts, so by the replicas too) removes that.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import ray
import torch

import assay
from assay.executors import RayOptions

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "examples" / "qa" / "test.jsonl"
MODEL = "smollm2-135m-instruct"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray cluster")
    args = parser.parse_args()
    logging.getLogger("assay").setLevel(logging.WARNING)

    began = os.getloadavg()
    ray.init(num_cpus=args.cpus, include_dashboard=False, logging_level=logging.ERROR)
    settings = {"max_new_tokens": args.max_new_tokens, "use_cache": False, "progress": False}
    ways: dict[str, Callable[[str], assay.Run]] = {
        "local, 1 thread": lambda db: local(db, 1, settings),
        "ray, 1 replica of 1 CPU": lambda db: remote(db, RayOptions(cpus_per_replica=1), settings),
        "local, 2 threads": lambda db: local(db, 2, settings),
        "ray, 1 replica of 2 CPUs": lambda db: remote(db, RayOptions(cpus_per_replica=2), settings),
        "ray, 2 replicas of 1 CPU": lambda db: remote(
            db, RayOptions(replicas=2, cpus_per_replica=1), settings
        ),
    }
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    predictions: dict[str, list[str]] = {}
    loads: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        for round_ in range(args.rounds):
            for name, way in ways.items():
                db = str(Path(folder) / f"{round_}-{len(seconds[name])}-{name[:5]}.db")
                run = way(db)
                seconds[name].append(run.info.stats.seconds)
                predictions[name] = [r.prediction for r in run.results]
                loads.append(os.getloadavg()[0])
                print(f"  round {round_ + 1}  {name:26} {run.info.stats.seconds:7.2f} s")
    ray.shutdown()

    median = {name: statistics.median(values) for name, values in seconds.items()}
    print(f"\n{len(predictions['local, 1 thread'])} examples, max_new_tokens={args.max_new_tokens}")
    for name, value in median.items():
        print(
            f"  {name:26} median {value:7.2f} s  (of {', '.join(f'{v:.2f}' for v in seconds[name])})"
        )
    for threads in (1, 2):
        base = median[f"local, {threads} thread{'s' if threads > 1 else ''}"]
        ours = median[f"ray, 1 replica of {threads} CPU{'s' if threads > 1 else ''}"]
        print(
            f"  executor overhead, {threads} thread(s): {100 * (ours / base - 1):+.1f}% of the run"
        )
    two, one = median["ray, 2 replicas of 1 CPU"], median["local, 2 threads"]
    print(f"  2 replicas of 1 CPU against 1 process of 2 threads: {one / two:.2f}x as fast")
    same = all(p == predictions["local, 1 thread"] for p in predictions.values())
    print(f"  predictions identical in every way: {same}")
    print(
        f"  load average: {began[0]:.2f} before; during {min(loads):.2f}-{max(loads):.2f} "
        f"on {os.cpu_count()} CPUs; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}"
    )


def local(db: str, threads: int, settings: dict[str, object]) -> assay.Run:
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return assay.evaluate(MODEL, DATA, store=db, **settings)  # type: ignore[arg-type]
    finally:
        torch.set_num_threads(before)


def remote(db: str, options: RayOptions, settings: dict[str, object]) -> assay.Run:
    started = time.perf_counter()
    run = assay.evaluate(MODEL, DATA, store=db, executor=options, **settings)  # type: ignore[arg-type]
    assert time.perf_counter() - started >= run.info.stats.seconds
    return run


if __name__ == "__main__":
    main()

"""What a bench costs the second time, and what committing as it goes costs the first.

ARC-Challenge, 25-shot, the first N questions (100 by default), the bundled SmolLM2,
float32, in one process:

1. the engine alone: every log-likelihood of the run in one `model.loglikelihood`
   call, nothing stored (the baseline);
2. `assay.run_bench` into a fresh store: the same log-likelihoods, each question
   committed (with its cache entries) as soon as its choices are scored; the time
   spent inside the store's writes is measured directly;
3. the identical bench again: every log-likelihood from the cache, no weights loaded;
4. in another fresh store, `--limit N/2` then `--limit N`: the second computes only
   the new questions' requests.

    python perf/bench_bench_cache.py [--limit 100] [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import assay
from assay.bench import DataSource, build_questions, get_task
from assay.models import ModelOptions, load_model
from assay.store.store import Store

ROOT = Path(__file__).resolve().parent.parent
MODEL = "smollm2-135m-instruct"
TASK = "arc_challenge"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    args = parser.parse_args()
    options = ModelOptions(dtype="float32")

    engine_seconds, requests = engine_alone(args.limit, args.data_dir, options)
    writes = _time_store_writes()
    with tempfile.TemporaryDirectory() as folder:
        db = str(Path(folder) / "a.db")
        bench = assay.BenchOptions(
            tasks=(TASK,), limit=args.limit, data_dir=args.data_dir, model=options, progress=False
        )
        began = time.perf_counter()
        first = assay.run_bench(MODEL, options=bench, store=db)
        first_seconds = time.perf_counter() - began
        committing = writes.seconds
        began = time.perf_counter()
        again = assay.run_bench(MODEL, options=bench, store=db)
        again_seconds = time.perf_counter() - began

        half_db = str(Path(folder) / "b.db")
        half = assay.BenchOptions(
            tasks=(TASK,), limit=args.limit // 2, data_dir=args.data_dir, model=options,
            progress=False,
        )  # fmt: skip
        assay.run_bench(MODEL, options=half, store=half_db)
        grown = assay.run_bench(MODEL, options=bench, store=half_db)

    same = [(r.task, r.metric, r.value) for r in first.rows] == [
        (r.task, r.metric, r.value) for r in again.rows
    ]
    model_seconds = first.stats.seconds
    print(f"{TASK}, 25-shot, {args.limit} questions, {requests} requests, {MODEL} float32")
    print(f"  load average {os.getloadavg()[0]:.2f}")
    print(f"  engine alone, nothing stored          {engine_seconds:8.2f} s")
    print(f"  first bench (model work)              {model_seconds:8.2f} s")
    print(f"  first bench (whole run_bench)         {first_seconds:8.2f} s")
    print(
        f"  of which store writes                 {committing:8.3f} s"
        f"  = {100 * committing / first_seconds:.2f}% of the run"
    )
    print(
        f"  identical re-run                      {again_seconds:8.2f} s"
        f"  = {first_seconds / again_seconds:.0f}x faster; "
        f"{again.stats.cached} of {again.stats.requests} requests cached, "
        f"{again.stats.generated} questions scored by the model"
    )
    print(
        f"  --limit {args.limit} after --limit {args.limit // 2}: "
        f"{grown.stats.cached} of {grown.stats.requests} requests from the cache, "
        f"{grown.stats.generated} questions computed"
    )
    print(f"  same results on the re-run: {same}")


def engine_alone(limit: int, data_dir: str, options: ModelOptions) -> tuple[float, int]:
    task = get_task(TASK)
    source = DataSource(data_dir)
    docs = [task.process(d) for d in source.load(task.eval_data())][:limit]
    spec = task.fewshot_data()
    assert spec is not None
    pool = [task.process(d) for d in source.load(spec)]
    questions = build_questions(task, docs, pool, 25)
    requests = list(dict.fromkeys(r for q in questions for r in q.requests))
    model = load_model(MODEL, options)
    model.load()
    began = time.perf_counter()
    model.loglikelihood(requests)
    return time.perf_counter() - began, len(requests)


class _Writes:
    seconds = 0.0


def _time_store_writes() -> _Writes:
    """Wrap Store.add_results to add up the time spent in it (results and cache entries)."""
    writes = _Writes()
    inner = Store.add_results

    def timed(self: Store, *args: object, **kwargs: object) -> None:
        began = time.perf_counter()
        try:
            inner(self, *args, **kwargs)  # type: ignore[arg-type]
        finally:
            writes.seconds += time.perf_counter() - began

    Store.add_results = timed  # type: ignore[method-assign]
    return writes


if __name__ == "__main__":
    main()

"""How long an identical eval re-run takes when every output is cached.

Makes a 1,000-example test set, evaluates the bundled SmolLM2 on it once (short
answers, to fill the cache quickly), then times the identical re-run two ways:
`assay.evaluate` in this process, and the whole `assay eval` command in a fresh
process (interpreter start, imports and tokenizer load included). The re-run
must not load the model's weights at all.

    python perf/bench_cache.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import assay

ROOT = Path(__file__).resolve().parent.parent
N = 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "test.jsonl"
        rows = [
            json.loads(line) for line in (ROOT / "examples/qa/train.jsonl").read_text().splitlines()
        ]
        with data.open("w") as handle:
            for i in range(N):
                row = rows[i % len(rows)]
                question = f"{row['question']} (variant {i})"
                handle.write(
                    json.dumps({"id": f"q{i}", "question": question, "answer": row["answer"]})
                    + "\n"
                )
        db = str(Path(folder) / "bench.db")
        args = {
            "metrics": ["exact_match", "f1"],
            "store": db,
            "max_new_tokens": 4,
            "progress": False,
        }

        began = time.perf_counter()
        first = assay.evaluate("smollm2-135m-instruct", data, **args)
        fill = time.perf_counter() - began

        began = time.perf_counter()
        again = assay.evaluate("smollm2-135m-instruct", data, **args)
        rerun = time.perf_counter() - began

        command = [
            sys.executable, "-m", "assay", "eval", "--model", "smollm2-135m-instruct",
            "--data", str(data), "--metrics", "exact_match,f1", "--max-new-tokens", "4",
            "--db", db, "--no-progress",
        ]  # fmt: skip
        began = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        cli = time.perf_counter() - began

    same = [r.prediction for r in first.results] == [r.prediction for r in again.results]
    print(f"{N} examples, max_new_tokens=4")
    print(f"  first run (generates, fills the cache) {fill:7.2f} s")
    print(
        f"  identical re-run, evaluate()           {rerun:7.2f} s   cached={again.info.stats.cached}"
    )
    print(
        f"  identical re-run, `assay eval` process {cli:7.2f} s   (interpreter, imports, tokenizer)"
    )
    print(f"  same predictions: {same}")


if __name__ == "__main__":
    main()

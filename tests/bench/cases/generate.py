"""Regenerate the expected prompts from lm-evaluation-harness itself (the peer's truth).

Run in the benchmark environment (see perf/harness_tasks.py for its setup):

    .venv-bench/bin/python tests/bench_suite/cases/generate.py

Each case is a task, its shots and the harness's context, choices and gold
index for the first few questions. HellaSwag's cases use the 10 sample rows as
both the few-shot and the evaluation split (the full set is not available offline).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT / "perf"))

from harness_tasks import bench_data_dir, harness_prompts, harness_tasks  # noqa: E402

CASES = [
    ("arc_challenge", 25, 3),
    ("arc_easy", 3, 3),
    ("hellaswag", 0, 10),
    ("hellaswag", 4, 4),
    ("mmlu_anatomy", 5, 3),
    ("mmlu_high_school_us_history", 5, 2),
    ("mmlu_abstract_algebra", 0, 2),
    ("truthfulqa_mc1", 0, 2),
    ("truthfulqa_mc2", 0, 3),
]


def main() -> None:
    data = bench_data_dir(ROOT.parent / "shared" / "data")
    scratch = Path(tempfile.mkdtemp())
    for task_name, shots, count in CASES:
        task = harness_tasks([task_name], {task_name: shots}, data, scratch)[task_name]
        case = {
            "task": task_name,
            "shots": shots,
            "questions": harness_prompts(task, shots, count),
        }
        path = HERE / f"{task_name}_{shots}shot.json"
        path.write_text(json.dumps(case, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print("wrote", path.name)


if __name__ == "__main__":
    main()

"""Writes expected.json: the prompts BIG-bench's own code builds for the task files here.

Run with the `bigbench` source distribution unpacked (pip download bigbench --no-deps
--no-binary :all: --no-clean, then move the unpacked folder):

    python tests/bench/cases/bigbench/generate.py /path/to/bigbench-1.0.0

It takes `default_format_fn` and `make_nshot_dataset` from bigbench/api/json_task.py
(read from the file, without importing TensorFlow) and applies them as
JsonTask.evaluate_fixed_shot does: examples deduplicated, formatted with the task's
prefixes and seed 42, few-shot inputs joined by the task's separator, task_prefix first.
"""

from __future__ import annotations

import ast
import copy
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).parent
FILES = (
    "simple_arithmetic_json_multiple_choice/task.json",
    "simple_arithmetic_json_subtasks/one_digit/task.json",
    "conceptual_combinations/homonyms/task.json",
)
SHOTS = (0, 2)


def bigbench_functions(root: Path) -> dict[str, Any]:
    source = (root / "bigbench" / "api" / "json_task.py").read_text()
    tree = ast.parse(source)
    wanted = [
        n
        for n in tree.body
        if isinstance(n, ast.FunctionDef) and n.name in ("default_format_fn", "make_nshot_dataset")
    ]
    namespace: dict[str, Any] = {"np": np, "copy": copy, "Any": Any, "Dict": dict, "List": list}
    namespace["Optional"] = __import__("typing").Optional
    exec(compile(ast.Module(body=wanted, type_ignores=[]), "json_task.py", "exec"), namespace)
    return namespace


def prompts(functions: dict[str, Any], path: Path, shots: int) -> list[str]:
    data = json.loads(path.read_text())
    seen, examples = set(), []
    for example in data["examples"]:
        key = json.dumps(example)
        if key not in seen:
            seen.add(key)
            examples.append(example)
    formatted = [
        functions["default_format_fn"](
            copy.deepcopy(e),
            input_prefix=data.get("example_input_prefix", "\nQ: "),
            output_prefix=data.get("example_output_prefix", "\nA: "),
            choice_prefix=data.get("choice_prefix", "\n  choice: "),
            random_seed=42,
            append_choices_to_input=data.get("append_choices_to_input", True),
        )
        for e in examples
    ]
    samples = functions["make_nshot_dataset"](
        formatted, shots, random_seed=42, separator=data.get("few_shot_example_separator", "\n")
    )
    return [str(data.get("task_prefix", "")) + s["input"] for s in samples]


def main() -> None:
    functions = bigbench_functions(Path(sys.argv[1]))
    expected = {
        name: {str(shots): prompts(functions, HERE / name, shots) for shots in SHOTS}
        for name in FILES
    }
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

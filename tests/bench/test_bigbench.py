"""BIG-bench task.json files read as BIG-bench reads them: real files from the bigbench
sdist (cases/bigbench/, see its PROVENANCE.md), prompts equal to BIG-bench's own."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from assay.bench import DataSource, build_questions, get_group, get_task
from assay.bench import tasks as task_registry
from assay.bench.bigbench import postprocess
from assay.bench.taskfiles import load_task_file
from assay.exceptions import DataError

CASES = Path(__file__).parent / "cases" / "bigbench"
EXPECTED = json.loads((CASES / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("shots", [0, 2])
def test_prompts_equal_bigbench(name: str, shots: int) -> None:
    task = get_task(load_task_file(str(CASES / name)))
    docs = task.eval_docs(DataSource())
    questions = build_questions(task, docs, task.fewshot_pool(DataSource()), shots)
    assert [q.context for q in questions] == EXPECTED[name][str(shots)]


def test_multiple_choice_scores_the_target_score_of_the_likeliest_choice() -> None:
    task = get_task(load_task_file(str(CASES / "simple_arithmetic_json_multiple_choice/task.json")))
    [question] = build_questions(task, task.eval_docs(DataSource())[:1], [], 0)
    assert task.output_type == "multiple_choice" and question.delimiter == ""
    gold = question.choices[question.gold]
    best = [0.0 if c == gold else -5.0 for c in question.choices]
    wrong = [0.0 if c == question.choices[question.gold - 1] else -5.0 for c in question.choices]
    assert task.choice_scores(question, best) == {"multiple_choice_grade": 1.0}
    assert task.choice_scores(question, wrong) == {"multiple_choice_grade": 0.0}


def test_composite_task_is_a_group_of_its_subtasks() -> None:
    name = load_task_file(str(CASES / "simple_arithmetic_json_subtasks/task.json"))
    group = get_group(name)
    assert group is not None
    assert group.tasks == (f"{name}:one_digit", f"{name}:two_digit")
    assert get_task(group.tasks[0]).output_type == "generate_until"


def test_generation_is_postprocessed_as_bigbench_does() -> None:
    assert postprocess("5\nQ: 1 + 1", None, r"[^\.\?\!\;\n]+") == "5"
    assert postprocess("\n", None, r"[^\.\?\!\;\n]+") == ""
    assert postprocess("cat. dog.", ".", None) == "cat."
    task = get_task(
        load_task_file(str(CASES / "simple_arithmetic_json_subtasks/one_digit/task.json"))
    )
    [question] = build_questions(task, task.eval_docs(DataSource())[:1], [], 0)
    grade = task.grade  # type: ignore[attr-defined]
    assert grade(question.doc, "", f" {question.target}\nQ: 2 + 2 =").scores == {
        "exact_str_match": 1.0
    }
    assert grade(question.doc, "", "= 4").scores == {"exact_str_match": 0.0}  # its output_regex


def test_unknown_key_names_file_line_and_the_allowed_keys(tmp_path: Path) -> None:
    data = json.loads((CASES / "simple_arithmetic_json_multiple_choice/task.json").read_text())
    data["scoring"] = "mine"
    path = tmp_path / "task.json"
    path.write_text(json.dumps(data, indent=2))
    line = path.read_text().splitlines().index('  "scoring": "mine"') + 1
    with pytest.raises(
        DataError, match=rf"task.json:{line}: unknown key 'scoring'; allowed: canary, name"
    ):
        load_task_file(str(path))


def test_a_single_choice_names_the_example_and_its_line(tmp_path: Path) -> None:
    data = json.loads((CASES / "simple_arithmetic_json_multiple_choice/task.json").read_text())
    data["examples"][2]["target_scores"] = {"5": 1}
    path = tmp_path / "task.json"
    path.write_text(json.dumps(data, indent=2))
    lines = path.read_text().splitlines()
    with pytest.raises(
        DataError, match=r"example 2: field 'target_scores' has one choice"
    ) as caught:
        load_task_file(str(path))
    line = int(str(caught.value).split("task.json:")[1].split(":")[0])
    assert lines[line - 1].strip() == "{"  # where example 2 starts
    assert data["examples"][2]["input"] in lines[line]


def choice_task(tmp_path: Path, metrics: list[str], examples: list[dict[str, object]]) -> str:
    """A task.json shaped as two real ones of the sdist: social_support (macro_f1 only),
    strategyqa (a target that explains the answer beside target_scores)."""
    path = tmp_path / "task.json"
    data = {"name": "t", "description": "d", "keywords": ["k"], "metrics": metrics}
    path.write_text(json.dumps({**data, "examples": examples}))
    return load_task_file(str(path))


def test_a_task_scored_by_another_choice_metric_is_multiple_choice(tmp_path: Path) -> None:
    scores = {"unsupportive": 0, "neutral": 1, "supportive": 0}
    name = choice_task(tmp_path, ["macro_f1"], [{"input": "Thanks!", "target_scores": scores}])
    task = get_task(name)
    [question] = build_questions(task, task.eval_docs(DataSource()), [], 0)
    assert task.output_type == "multiple_choice" and task.main_metric == "multiple_choice_grade"
    assert question.choices[question.gold] == "neutral"


def test_a_choice_tasks_target_may_explain_the_answer(tmp_path: Path) -> None:
    examples = [
        {"input": f"Question {i}?", "target_scores": {"Yes": i % 2, "No": 1 - i % 2},
         "target": f"{'Yes' if i % 2 else 'No'}. Because of reason {i}."}
        for i in range(4)
    ]  # fmt: skip
    task = get_task(choice_task(tmp_path, ["multiple_choice_grade", "rouge"], examples))
    questions = build_questions(task, task.eval_docs(DataSource()), task.eval_docs(DataSource()), 1)
    assert [q.choices[q.gold] for q in questions] == ["No", "Yes", "No", "Yes"]
    # The shot's answer is its target, as BIG-bench writes it: the explanation.
    assert "Because of reason" in questions[0].context


@pytest.mark.slow  # 1.7 GB of task files: about 3 minutes
@pytest.mark.skipif(
    not os.environ.get("ASSAY_BIGBENCH"),
    reason="set ASSAY_BIGBENCH to the unpacked bigbench sdist (scripts/fetch-bigbench.sh; "
    "make test does)",
)
def test_every_task_file_of_the_sdist_reads() -> None:
    root = Path(os.environ["ASSAY_BIGBENCH"]) / "bigbench" / "benchmark_tasks"
    files = sorted(root.glob("**/task.json"))
    assert len(files) == 1041
    for path in files:
        # Each file's tasks are registered in a copy of the registry, dropped after it:
        # kept, all 1,041 held 14 GB for the rest of the test session.
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(task_registry, "_TASKS", dict(task_registry._TASKS))
            patch.setattr(task_registry, "_GROUPS", dict(task_registry._GROUPS))
            name = load_task_file(str(path))
            group = get_group(name)
            for task_name in group.tasks if group else (name,):
                task = get_task(task_name)
                docs = task.eval_docs(DataSource())
                assert build_questions(task, docs[:3], docs, 0)

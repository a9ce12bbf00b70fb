"""assay's own task files (YAML, TOML): prompts the harness's way, and every mistake a
one-line error naming the file, the line and the field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assay.bench import DataSource, build_questions, get_task
from assay.bench.taskfiles import load_task_file
from assay.exceptions import DataError

CASES = Path(__file__).parent / "cases" / "taskfiles"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The cases, with the ARC rows given `options` (the choice texts) and `answer` fields."""
    for path in CASES.iterdir():
        shutil.copy(path, tmp_path / path.name)
    rows = [json.loads(line) for line in (CASES / "arc_easy_rows.jsonl").read_text().splitlines()]
    with (tmp_path / "arc_easy_rows.jsonl").open("w") as out:
        for row in rows:
            choices = row["choices"]
            answer = choices["text"][choices["label"].index(row["answerKey"])]
            out.write(json.dumps({**row, "options": choices["text"], "answer": answer}) + "\n")
    return tmp_path


def write(folder: Path, text: str, name: str = "task.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_a_choice_task_builds_the_harness_prompt(folder: Path) -> None:
    task = get_task(load_task_file(str(folder / "arc_choices.yaml")))
    docs = task.eval_docs(DataSource())
    questions = build_questions(task, docs[:3], task.fewshot_pool(DataSource()), 2)
    first = questions[0]
    assert first.context.startswith("Answer the science question.\n\nQuestion: ")
    assert first.context.count("\nAnswer: ") == 2  # two shots, each with its answer
    assert first.context.endswith(f"Question: {docs[0]['question']}\nAnswer:")
    assert docs[0]["question"] not in first.context[: -len(docs[0]["question"]) - 9]
    assert list(first.choices) == docs[0]["options"]
    assert first.choices[first.gold] == docs[0]["answer"]
    assert task.metrics == ("acc", "acc_norm")


def test_a_generative_toml_task_extracts_and_matches(folder: Path) -> None:
    task = get_task(load_task_file(str(folder / "arc_generative.toml")))
    [question] = build_questions(task, task.eval_docs(DataSource())[:1], [], 0)
    assert question.kind == "generate_until" and question.target in "ABCDE1234"
    grade = task.grade  # type: ignore[attr-defined]
    assert grade(question.doc, question.target, f" {question.target})").scores == {
        "exact_match": 1.0
    }
    assert grade(question.doc, question.target, " none").scores == {"exact_match": 0.0}


def test_unknown_key_lists_the_allowed_ones(folder: Path) -> None:
    path = write(
        folder,
        "name: t\ndata: arc_easy_rows.jsonl\nprompt: '{question}'\n"
        "target: '{answerKey}'\nshots: 3\n",
    )
    with pytest.raises(DataError, match=r"task.yaml:5: unknown key 'shots'; allowed: name, data,"):
        load_task_file(str(path))


def test_unknown_key_in_toml_names_its_line(folder: Path) -> None:
    path = write(
        folder,
        'name = "t"\ndata = "arc_easy_rows.jsonl"\nprompt = "{question}"\n'
        'target = "{answerKey}"\n\nfew_shots = 3\n',
        "task.toml",
    )
    with pytest.raises(DataError, match=r"task.toml:6: unknown key 'few_shots'; allowed:"):
        load_task_file(str(path))


@pytest.mark.parametrize(
    ("choices", "problem"),
    [("[A, B, A]", "has 'A' twice; each choice must be distinct"), ("[A]", "has 1 choice")],
)
def test_bad_choices_name_file_line_and_field(folder: Path, choices: str, problem: str) -> None:
    path = write(
        folder,
        f"name: t\ndata: arc_easy_rows.jsonl\nprompt: '{{question}}'\n"
        f"target: '{{answerKey}}'\nchoices: {choices}\n",
    )
    with pytest.raises(DataError, match=rf"task.yaml:5: field 'choices' {problem}"):
        load_task_file(str(path))


def test_a_row_whose_choices_repeat_names_the_data_line(folder: Path) -> None:
    rows = (folder / "arc_easy_rows.jsonl").read_text().splitlines()
    row = json.loads(rows[3])
    row["options"] = [row["options"][0], row["options"][0]]
    rows[3] = json.dumps(row)
    (folder / "arc_easy_rows.jsonl").write_text("\n".join(rows) + "\n")
    task = get_task(load_task_file(str(folder / "arc_choices.yaml")))
    with pytest.raises(DataError, match=r"arc_easy_rows.jsonl:4: field 'options' has .* twice"):
        task.eval_docs(DataSource())


def test_a_target_that_is_no_choice_names_the_row(folder: Path) -> None:
    path = write(
        folder,
        "name: t\ndata: arc_easy_rows.jsonl\nprompt: '{question}'\n"
        "target: '{id}'\nchoices_field: options\n",
    )
    task = get_task(load_task_file(str(path)))
    with pytest.raises(
        DataError, match=r"arc_easy_rows.jsonl:1: target '.*' \(from '\{id\}'\) is not one of"
    ):
        task.eval_docs(DataSource())


def test_a_placeholder_the_rows_lack_names_row_and_template(folder: Path) -> None:
    path = write(
        folder, "name: t\ndata: arc_easy_rows.jsonl\n\nprompt: '{stem}'\ntarget: '{answerKey}'\n"
    )
    task = get_task(load_task_file(str(path)))
    with pytest.raises(
        DataError,
        match=r"arc_easy_rows.jsonl:1: the row has no field 'stem', which .*task.yaml:4: field 'prompt' names",
    ):
        task.eval_docs(DataSource())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: t\nprompt: x\ntarget: y\n", "missing key 'data'"),
        (
            "name: t\ndata: nowhere.jsonl\nprompt: x\ntarget: y\n",
            r"task.yaml:2: field 'data': no file at",
        ),
        (
            "name: t\ndata: arc_easy_rows.jsonl\nprompt: x\ntarget: y\nnum_fewshot: two\n",
            r"task.yaml:5: field 'num_fewshot' should be a whole number, got 'two'",
        ),
        (
            "name: a/b\ndata: arc_easy_rows.jsonl\nprompt: x\ntarget: y\n",
            r"task.yaml:1: field 'name' is 'a/b'",
        ),
        (
            "name: t\ndata: arc_easy_rows.jsonl\nprompt: x\ntarget: y\nchoices: [a, b]\nuntil: [x]\n",
            r"task.yaml:6: field 'until' is for generative tasks",
        ),
        (
            "name: t\ndata: arc_easy_rows.jsonl\nprompt: '{question!r}'\ntarget: y\n",
            r"task.yaml:3: field 'prompt': placeholder \{question\} must be a plain field name",
        ),
        ("- just\n- a list\n", r"task.yaml:1: a task file is a mapping of keys"),
        ("name: [unclosed\n", r"task.yaml:2: not valid YAML"),
    ],
)
def test_bad_task_files(folder: Path, text: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_task_file(str(write(folder, text)))


def test_a_file_task_cannot_take_a_built_in_name(folder: Path) -> None:
    path = write(folder, "name: gsm8k\ndata: arc_easy_rows.jsonl\nprompt: x\ntarget: y\n")
    with pytest.raises(Exception, match="the task name 'gsm8k' is a built-in task's"):
        load_task_file(str(path))


def test_the_example_task_file_reads_as_the_readme_says() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "tasks" / "qa_topic.yaml"
    task = get_task(load_task_file(str(example)))
    docs = task.eval_docs(DataSource())
    pool = task.fewshot_pool(DataSource())
    questions = build_questions(task, docs, pool, task.default_shots)
    assert len(questions) == 48 and len(pool) == 120  # examples/qa test and train
    first = questions[0]
    assert first.context.startswith("Say which part of the tool each question is about.")
    assert first.context.count("\nTopic: ") == 3  # three shots from the training questions
    assert first.context.endswith(f"Question: {docs[0]['question']}\nTopic:")
    assert first.choices[first.gold] == docs[0]["topic"]

"""Classification by log-likelihood (`assay eval --choices`): labels checked, accuracy,
macro-F1 and the confusion matrix; on the bundled model, caching and resume.

The rows are real: the first eight ARC-Easy test questions with labels A-D
(cases/arc_easy_letters.jsonl, from shared/data/arc/ARC-Easy/test.jsonl), asked as
"which letter".
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from sklearn.metrics import f1_score

from assay.data.prompts import PromptConfig
from assay.evaluation.choices import (
    ChoiceOptions,
    Confusion,
    choices_problem,
    confusion,
    macro_f1,
    parse_choices,
)
from assay.evaluation.evaluate import EvalOptions, evaluate
from assay.exceptions import DataError, OptionError
from assay.store import open_store
from assay.terminal.confusion import confusion_table

ROWS = Path(__file__).parent / "cases" / "arc_easy_letters.jsonl"
TEMPLATE = "Question: {question}\n{options}\nAnswer with the letter.\nAnswer:"
LETTERS = ("A", "B", "C", "D")


@pytest.mark.parametrize(
    ("labels", "problem"),
    [
        (("a", "b", "a"), "has 'a' twice; each label must be distinct"),
        (("a",), "has 1 label(s); a classification needs two or more"),
        (("a", " "), "has an empty label"),
        (("a", "b"), None),
    ],
)
def test_choices_problems(labels: tuple[str, ...], problem: str | None) -> None:
    assert choices_problem(labels) == problem


def test_options_refuse_bad_labels_and_both_sources() -> None:
    with pytest.raises(OptionError, match="choices has 'x' twice"):
        ChoiceOptions(labels=parse_choices("x, y, x"))
    with pytest.raises(OptionError, match="not both"):
        ChoiceOptions(labels=("a", "b"), field="labels")
    assert parse_choices("billing, technical ,account") == ("billing", "technical", "account")


def test_macro_f1_equals_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        gold = rng.integers(0, 4, size=30)
        predicted = rng.integers(0, 4, size=30)
        expected = f1_score(
            gold, predicted, average="macro", labels=sorted(set(gold) | set(predicted))
        )
        assert macro_f1(gold, predicted, 4) == pytest.approx(expected)


def options(**changes: object) -> EvalOptions:
    return EvalOptions(
        choices=ChoiceOptions(labels=LETTERS),
        prompt=PromptConfig(format="raw", template=TEMPLATE),
        progress=False,
        **changes,  # type: ignore[arg-type]
    )


def evaluate_letters(db: Path, choice_options: ChoiceOptions | None = None, data: Path = ROWS):
    opts = options()
    if choice_options is not None:
        opts = EvalOptions(**{**vars(opts), "choices": choice_options})
    return evaluate(
        "smollm2-135m-instruct",
        str(data),
        options=opts,
        store=str(db),
        input_field="question",
        reference_field="answer",
    )


@pytest.mark.slow
def test_classification_on_the_bundled_model(tmp_path: Path) -> None:
    run = evaluate_letters(tmp_path / "a.db")
    assert run.info.status == "complete"
    assert set(run.info.summary) == {"accuracy", "macro_f1"}
    assert run.info.stats.requests == 8 * 4 and run.info.stats.generated == 8
    for result in run.results:
        lls = result.metadata["logliks"]
        assert result.prediction == LETTERS[int(np.argmax(lls))]
        assert result.scores["accuracy"].value == float(result.prediction == result.reference)
        assert result.prompt.endswith("Answer:")
    matrix = confusion(run.results)
    assert matrix.labels == LETTERS and matrix.total == 8
    assert sum(matrix.counts[i][i] for i in range(4)) == round(
        8 * run.info.summary["accuracy"].mean
    )
    again = evaluate_letters(tmp_path / "a.db")  # the same run again: all from the cache
    assert again.info.stats.cached == 32 and again.info.stats.generated == 0
    assert [r.prediction for r in again.results] == [r.prediction for r in run.results]
    other = evaluate_letters(tmp_path / "b.db")  # a new store: a new run, same answers
    assert [r.prediction for r in other.results] == [r.prediction for r in run.results]


@pytest.mark.slow
def test_per_row_labels_and_the_cache(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    first = evaluate_letters(db)
    by_field = evaluate_letters(db, ChoiceOptions(field="labels"))
    assert by_field.info.id != first.info.id
    assert by_field.info.stats.cached == 32 and by_field.info.stats.generated == 0  # same requests
    assert [r.prediction for r in by_field.results] == [r.prediction for r in first.results]


@pytest.mark.slow
def test_a_reference_that_is_no_label_names_the_example(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in ROWS.read_text().splitlines()]
    rows[2]["answer"] = "E"
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(
        DataError, match=r"rows.jsonl, example .*: field 'answer' is 'E', which is not one"
    ):
        evaluate_letters(tmp_path / "a.db", data=data)
    with open_store(str(tmp_path / "a.db")) as store:
        assert [r.status for r in store.list_runs()] in ([], ["failed"])


@pytest.mark.slow
def test_cli_prints_the_matrix_and_writes_the_image(tmp_path: Path) -> None:
    image = tmp_path / "confusion.png"
    command = [
        sys.executable,
        "-m",
        "assay",
        "eval",
        "-m",
        "smollm2-135m-instruct",
        "-d",
        str(ROWS),
        "--input-field",
        "question",
        "--reference-field",
        "answer",
        "--template",
        TEMPLATE,
        "--prompt-format",
        "raw",
        "--choices",
        "A,B,C,D",
        "--confusion",
        str(image),
        "--db",
        str(tmp_path / "a.db"),
        "--no-progress",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "confusion matrix (8 examples" in done.stdout and "macro_f1" in done.stdout
    assert "8 scored, 0 of 32 label scores cached" in done.stdout  # nothing generated
    assert re.search(r"[1-9][\d.]* tok/s", done.stdout), done.stdout  # the engine's tokens
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = subprocess.run(
        [*command[:-5], "--choices", "A,A", "--db", str(tmp_path / "a.db")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert bad.returncode != 0
    assert "--choices has 'A' twice" in bad.stderr + bad.stdout
    assert "Traceback" not in bad.stderr


def test_labels_too_wide_for_the_terminal_are_numbered() -> None:
    labels = ("cli", "metrics", "data", "models", "store", "prompts", "analysis")
    counts = tuple(tuple(int(i == j) for j in range(7)) for i in range(7))
    console = Console(width=80, record=True)
    confusion_table(console, Confusion(labels, counts))
    text = console.export_text()
    assert "7 analysis" in text and "analys…" not in text
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80
    narrow = Console(width=80, record=True)
    confusion_table(narrow, Confusion(("yes", "no"), ((3, 1), (2, 4))))
    assert "yes   no   recall" in narrow.export_text()

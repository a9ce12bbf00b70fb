"""acc, acc_norm and mc2 on hand-computed log-likelihoods; stderr as the harness computes it."""

from __future__ import annotations

import math

import pytest

from assay.bench import Question, mean_stderr, question_scores, resolve_tasks
from assay.bench.aggregate import aggregate
from assay.bench.choices import pooled_stderr
from assay.metrics.base import Score
from assay.runs.records import ExampleResult


def _question(
    choices: tuple[str, ...], gold: int, labels: tuple[int, ...] | None = None
) -> Question:
    return Question("t", 0, "q", "ctx", choices, gold, labels)


def test_acc_picks_the_most_likely_choice_and_acc_norm_divides_by_characters() -> None:
    # lls -4 (1 char) and -6 (6 chars): acc picks "a"; per character -4 vs -1, acc_norm picks "bbbbbb".
    question = _question(("a", "bbbbbb"), gold=1)
    assert question_scores(question, [-4.0, -6.0]) == {"acc": 0.0, "acc_norm": 1.0}


def test_ties_go_to_the_first_choice_as_numpy_argmax_does() -> None:
    question = _question(("x", "y"), gold=0)
    assert question_scores(question, [-1.0, -1.0])["acc"] == 1.0


def test_mc2_is_the_normalised_probability_mass_on_true_answers() -> None:
    question = _question(("t1", "t2", "f1"), gold=0, labels=(1, 1, 0))
    lls = [math.log(0.2), math.log(0.1), math.log(0.3)]
    # (0.2 + 0.1) / (0.2 + 0.1 + 0.3) = 0.5
    assert question_scores(question, lls)["mc2"] == pytest.approx(0.5)


def test_mean_stderr_is_the_sample_standard_error() -> None:
    mean, stderr = mean_stderr([1.0, 0.0, 1.0, 1.0])
    assert mean == 0.75
    assert stderr == pytest.approx(math.sqrt(0.25 / 4))  # sample variance 1/4, n 4
    assert math.isnan(mean_stderr([1.0])[1])


def test_pooled_stderr_matches_the_stderr_of_the_concatenation_for_equal_means() -> None:
    a, b = [1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]
    pooled = pooled_stderr([mean_stderr(a)[1], mean_stderr(b)[1]], [4, 4])
    assert pooled == pytest.approx(mean_stderr(a + b)[1], rel=0.1)


def _result(task: str, index: int, **scores: float) -> ExampleResult:
    return ExampleResult(
        example_id=f"{task}/{index}",
        position=index,
        input="q",
        reference="a",
        prompt="p",
        prediction="a",
        metadata={"task": task},
        scores={name: Score(value) for name, value in scores.items()},
    )


def test_mmlu_reports_the_mean_over_questions_and_over_subjects_and_the_suite_averages() -> None:
    selections = resolve_tasks(["leaderboard"])
    subjects = selections[2].tasks
    results = [
        _result("arc_challenge", 0, acc=0.0, acc_norm=1.0),
        _result("hellaswag", 0, acc=1.0, acc_norm=0.0),
        _result("truthfulqa_mc2", 0, mc2=0.4),
        # first subject: 3 questions all right; second: 1 question wrong; the rest: none
        *[_result(subjects[0], i, acc=1.0) for i in range(3)],
        _result(subjects[1], 0, acc=0.0),
    ]
    tasks = [("arc_challenge", 25), ("hellaswag", 10), ("truthfulqa_mc2", 0)]
    tasks += [(s, 5) for s in subjects]
    rows, averages = aggregate(selections, tasks, results)
    mmlu = {r.metric: r for r in rows if r.task == "mmlu"}
    assert mmlu["acc"].value == pytest.approx(3 / 4)  # over questions
    assert mmlu["acc_subjects"].value == pytest.approx(1 / 2)  # over the subjects that ran
    board = averages["leaderboard"]
    assert board.value == pytest.approx((1.0 + 0.0 + 0.75 + 0.4) / 4)
    assert board.n == 4

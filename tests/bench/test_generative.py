"""Generative tasks (GSM8K, IFEval, BIG-Bench Hard CoT) equal lm-evaluation-harness's:
prompts, extracted answers and scores, kept as data files in cases/generative/.

The cases were written by perf/parity_generative.py --write-cases from the harness's
own task code (its YAML, filters and process_results) on the real rows of
shared/data; each holds a row's prompt and, for several responses, the answers and
scores the harness gives them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assay.bench import DataSource, build_questions, get_task
from assay.bench.generative import GenerativeTask
from assay.bench.instructions import check_row
from assay.exceptions import DataError

CASE_FILES = sorted((Path(__file__).parent / "cases" / "generative").glob("*.json"))


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_prompts_answers_and_scores_equal_the_harness(path: Path, shared_data: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    task = get_task(case["task"])
    assert isinstance(task, GenerativeTask)
    source = DataSource(shared_data)
    rows = max(c["row"] for c in case["cases"]) + 1
    docs = task.eval_docs(source)[:rows]
    pool = task.fewshot_pool(source) if task.default_shots else []
    questions = build_questions(task, docs, pool, task.default_shots)
    for want in case["cases"]:
        question = questions[want["row"]]
        if want["prompt"] is not None:  # each row's prompt is written once
            assert question.context == want["prompt"]
        graded = task.grade(question.doc or {}, question.target or "", want["response"])
        if want["answers"]:
            assert graded.extracted == want["answers"]
        assert _as_harness(task, graded) == want["scores"]


def _as_harness(task: GenerativeTask, graded: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for metric, value in graded.scores.items():
        if metric in graded.items:
            out[f"{metric},none"] = [bool(v) for v in graded.items[metric]]
        else:
            out[task.harness_metrics.get(metric, f"{metric},none")] = float(value)
    return out


def test_every_family_has_cases() -> None:
    names = {p.stem for p in CASE_FILES}
    assert {"gsm8k", "ifeval"} <= names
    assert any(n.startswith("bbh_cot_fewshot_") for n in names)


def test_gsm8k_strict_and_flexible() -> None:
    task = get_task("gsm8k")
    reference = "She has 3 + 4 = <<3+4=7>>7.\n#### 7"
    graded = task.grade({}, reference, " So 3 + 4 = 7.\n#### 7\n\nQuestion: next")  # type: ignore[attr-defined]
    assert graded.extracted == {"strict-match": "7", "flexible-extract": "7"}
    graded = task.grade({}, reference, " The answer is $1,007.")  # type: ignore[attr-defined]
    assert graded.extracted == {"strict-match": "[invalid]", "flexible-extract": "$1,007."}
    assert graded.scores == {"exact_match_strict": 0.0, "exact_match_flexible": 0.0}


def test_ifeval_rows_of_the_real_data(shared_data: Path) -> None:
    rows = [json.loads(line) for line in (shared_data / "ifeval" / "train.jsonl").open()]
    ids = {i for row in rows for i in row["instruction_id_list"]}
    assert len(ids) == 25
    for row in rows:  # every instruction of every row builds and checks
        verdict = check_row(row["instruction_id_list"], row["kwargs"], row["prompt"])
        assert len(verdict.strict) == len(row["instruction_id_list"])
    first = rows[0]  # no commas, 3 highlights, 300+ words
    assert check_row(
        first["instruction_id_list"], first["kwargs"], "*a* *b* *c* " + "word " * 300
    ).strict == (True, True, True)
    assert check_row(first["instruction_id_list"], first["kwargs"], "*a*, *b*").strict == (
        False,
        False,
        False,
    )


def test_ifeval_bad_rows_name_the_instruction() -> None:
    with pytest.raises(DataError, match="unknown instruction 'format:none'"):
        check_row(["format:none"], [{}], "text")
    with pytest.raises(
        DataError, match=r"instruction 1 \(keywords:frequency\): .*needs the argument 'keyword'"
    ):
        check_row(["keywords:frequency"], [{"frequency": 2, "relation": "at least"}], "text")
    with pytest.raises(DataError, match="unknown instruction argument"):
        check_row(["punctuation:no_comma"], [{"commas": 0}], "text")


def test_bbh_needs_the_cot_prompts_from_data_dir() -> None:
    task = get_task("bbh_cot_fewshot_navigate")
    with pytest.raises(DataError, match=r"bbh/cot-prompts/navigate\.txt under --data-dir"):
        task.fewshot_pool(DataSource())

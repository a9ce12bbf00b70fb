"""The --data-dir loader: clear errors naming the file and line; tasks and suites by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import assay
from assay.bench import BenchOptions, DataSource, get_task, resolve_tasks
from assay.exceptions import AssayError, DataError


def _arc_dir(root: Path, rows: list[str]) -> Path:
    folder = root / "arc" / "ARC-Challenge"
    folder.mkdir(parents=True)
    (folder / "test.jsonl").write_text("\n".join(rows) + "\n")
    return root


GOOD = json.dumps(
    {
        "id": "x",
        "question": "Q?",
        "choices": {"text": ["a", "b"], "label": ["A", "B"]},
        "answerKey": "B",
    }
)


def test_a_missing_file_names_the_path_and_the_way_out(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"ARC-Challenge/test\.jsonl.*--data-dir"):
        DataSource(tmp_path).load(get_task("arc_challenge").eval_data())


def test_bad_json_names_file_and_line(tmp_path: Path) -> None:
    root = _arc_dir(tmp_path, [GOOD, "{not json"])
    with pytest.raises(DataError, match=r"test\.jsonl:2: not valid JSON"):
        DataSource(root).load(get_task("arc_challenge").eval_data())


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {"question": "Q?", "choices": {"text": ["a"], "label": ["A"]}},
            "missing field 'answerKey'",
        ),
        ({"question": 3, "choices": {}, "answerKey": "A"}, "'question' should be str"),
        (
            {"question": "Q", "choices": {"text": ["a"], "label": ["A"]}, "answerKey": "C"},
            "answerKey 'C' is not one of",
        ),
    ],
)
def test_a_row_that_does_not_fit_the_schema_names_the_line(
    tmp_path: Path, row: dict[str, object], message: str
) -> None:
    root = _arc_dir(tmp_path, [GOOD, GOOD, json.dumps(row)])
    with pytest.raises(DataError, match=rf"test\.jsonl:3: .*{message}"):
        DataSource(root).load(get_task("arc_challenge").eval_data())


def test_mmlu_rows_are_checked(tmp_path: Path) -> None:
    (tmp_path / "mmlu").mkdir()
    row = {"question": "Q", "subject": "anatomy", "choices": ["a", "b"], "answer": 0}
    (tmp_path / "mmlu" / "test.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(DataError, match=r"test\.jsonl:1: field 'choices' should be a list of 4"):
        DataSource(tmp_path).load(get_task("mmlu_anatomy").eval_data())


def test_hellaswag_falls_back_to_the_sample_file(shared_data: Path) -> None:
    rows = DataSource(shared_data).load(get_task("hellaswag").eval_data())
    assert len(rows) == 10


def test_the_leaderboard_suite_resolves_to_its_tasks_and_shots() -> None:
    selections = resolve_tasks(["leaderboard"])
    assert [(s.name, s.shots, s.metric) for s in selections] == [
        ("arc_challenge", 25, "acc_norm"),
        ("hellaswag", 10, "acc_norm"),
        ("mmlu", 5, "acc"),
        ("truthfulqa_mc2", 0, "mc2"),
    ]
    assert len(selections[2].tasks) == 57
    assert resolve_tasks(["mmlu_anatomy"], 0)[0].shots == 0


def test_an_unknown_task_lists_the_known_ones() -> None:
    with pytest.raises(
        AssayError, match=r"unknown benchmark task 'arc'.*leaderboard.*mmlu_<subject>"
    ):
        resolve_tasks(["arc"])


def test_a_bad_task_data_folder_or_model_is_refused_before_a_store_is_created(
    tmp_path: Path,
) -> None:
    store = tmp_path / "new" / "runs.db"
    empty = BenchOptions(data_dir=tmp_path / "empty")
    with pytest.raises(AssayError, match="unknown benchmark task 'arc'"):
        assay.run_bench("smollm2-135m-instruct", "arc", options=empty, store=str(store))
    with pytest.raises(DataError, match=r"ARC-Challenge/test\.jsonl"):
        assay.run_bench("smollm2-135m-instruct", "arc_challenge", options=empty, store=str(store))
    data = BenchOptions(data_dir=_arc_dir(tmp_path / "data", [GOOD]), num_fewshot=0)
    with pytest.raises(AssayError, match="unknown model 'no-such-model'"):
        assay.run_bench("no-such-model", "arc_challenge", options=data, store=str(store))
    assert not store.exists() and not store.parent.exists()


def test_data_dir_may_be_given_as_a_string(tmp_path: Path) -> None:
    root = _arc_dir(tmp_path, [GOOD])
    rows = DataSource(str(root)).load(get_task("arc_challenge").eval_data())
    assert [row["id"] for row in rows] == ["x"]

"""The replay backend's reading of a predictions file: one prediction per example, as text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assay.data.example import Example
from assay.data.prompts import Prompt
from assay.exceptions import DataError
from assay.models.base import GenerationParams
from assay.models.replay import ReplayModel


def replay(tmp_path: Path, rows: list[dict[str, Any]]) -> ReplayModel:
    path = tmp_path / "preds.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return ReplayModel(f"replay:{path}", path)


def answer(model: ReplayModel, example_id: str, question: str) -> tuple[str, str | None]:
    prompt = Prompt(question, example=Example(example_id, question, None))
    generation = model.generate([prompt], GenerationParams())[0]
    return generation.text, generation.error


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [
                {"id": "a", "prediction": "x"},
                {"id": "b", "prediction": "y"},
                {"id": "a", "prediction": "x"},
            ],
            "the id 'a' appears twice, at line 1 and line 3",
        ),
        (
            [{"id": 1, "prediction": "x"}, {"id": "1", "prediction": "y"}],
            "the id '1' appears twice, at line 1 and line 2",
        ),
        (
            [{"question": "Q?", "prediction": "x"}, {"question": "Q?", "prediction": "y"}],
            "the input 'Q?' appears twice with different predictions, at line 1 and line 2",
        ),
        (
            [{"id": "a", "prediction": ["x"]}],
            "line 1: the prediction column 'prediction' holds an array",
        ),
        (
            [{"id": "a", "prediction": {"t": 1}}],
            "line 1: the prediction column 'prediction' holds an object",
        ),
        (
            [{"id": "a", "prediction": False}],
            "line 1: the prediction column 'prediction' holds true/false",
        ),
        ([{"id": ["a"], "prediction": "x"}], "line 1: the id column 'id' holds an array"),
        ([{"id": "a", "prediction": None}], "line 1: the prediction column 'prediction' is empty"),
        (
            [{"id": "a", "prediction": "x"}, {"id": None, "question": None, "prediction": "y"}],
            "line 2: the row names no example (no value in 'id' or 'question')",
        ),
    ],
)
def test_files_that_do_not_give_one_text_per_example(
    tmp_path: Path, rows: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(DataError) as caught:
        replay(tmp_path, rows)
    assert message in str(caught.value)


def test_the_same_input_with_the_same_prediction_is_no_conflict(tmp_path: Path) -> None:
    model = replay(
        tmp_path, [{"question": "Q?", "prediction": "x"}, {"question": "Q?", "prediction": "x"}]
    )
    assert answer(model, "0", "Q?") == ("x", None)


def test_with_ids_an_input_answered_two_ways_fails_only_the_examples_that_need_it(
    tmp_path: Path,
) -> None:
    model = replay(
        tmp_path,
        [
            {"id": "a", "question": "Q?", "prediction": "x"},
            {"id": "b", "question": "Q?", "prediction": "y"},
        ],
    )
    assert answer(model, "a", "Q?") == ("x", None)
    assert answer(model, "b", "Q?") == ("y", None)
    text, error = answer(model, "c", "Q?")  # found by its input only, which two rows answer
    assert text == "" and error is not None
    assert "differently at line 1 and line 2" in error


def test_numbers_are_text_as_written(tmp_path: Path) -> None:
    model = replay(tmp_path, [{"id": 7, "prediction": 4}, {"id": "8", "prediction": 2.5}])
    assert answer(model, "7", "?") == ("4", None)
    assert answer(model, "8", "?") == ("2.5", None)

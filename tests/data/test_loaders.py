"""load_dataset: every format, field mapping, ids, selection, and every bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import datasets
import pandas as pd
import pytest

from assay.data import Dataset, Example, load_dataset
from assay.exceptions import DataError

ROWS: list[dict[str, Any]] = [
    {"question": "What is 2+2?", "answer": "4", "topic": "math"},
    {"question": "Capital of France?", "answer": "Paris", "topic": "geo"},
    {"question": "Color of the sky?", "answer": "blue", "topic": "nature"},
]

LAMINI_TEST = Path(__file__).resolve().parents[3] / "shared" / "data" / "lamini_docs" / "test.jsonl"


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def assert_rows(dataset: Dataset) -> None:
    """The three ROWS, loaded with detected fields and positional ids."""
    assert [example.input for example in dataset] == [row["question"] for row in ROWS]
    assert [example.reference for example in dataset] == [row["answer"] for row in ROWS]
    assert [example.id for example in dataset] == ["0", "1", "2"]
    assert dataset.examples[1].fields["topic"] == "geo"
    assert (dataset.input_field, dataset.reference_field) == ("question", "answer")


# --- formats -----------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson"])
def test_jsonl(tmp_path: Path, suffix: str) -> None:
    path = write_jsonl(tmp_path / f"qa{suffix}", ROWS)
    dataset = load_dataset(path)
    assert_rows(dataset)
    assert dataset.name == str(path)


def test_jsonl_skips_blank_lines_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "qa.jsonl"
    lines = [json.dumps(row) for row in ROWS]
    path.write_text("\ufeff" + lines[0] + "\n\n  \n" + "\n".join(lines[1:]) + "\n\n")
    assert_rows(load_dataset(str(path)))


@pytest.mark.parametrize("wrap", [None, "data", "examples", "rows"])
def test_json(tmp_path: Path, wrap: str | None) -> None:
    path = tmp_path / "qa.json"
    path.write_text(json.dumps(ROWS if wrap is None else {wrap: ROWS, "version": 1}))
    assert_rows(load_dataset(path))


def test_csv(tmp_path: Path) -> None:
    path = tmp_path / "qa.csv"
    pd.DataFrame(ROWS).to_csv(path, index=False)
    assert_rows(load_dataset(path))


def test_csv_multiline_cell_and_empty_cell(tmp_path: Path) -> None:
    path = tmp_path / "qa.csv"
    path.write_text('question,answer\n"two\nlines",x\nsecond,\n')
    dataset = load_dataset(path)
    assert dataset.examples[0].input == "two\nlines"
    assert dataset.examples[1].reference is None  # an empty cell is a missing value


def test_parquet(tmp_path: Path) -> None:
    path = tmp_path / "qa.parquet"
    pd.DataFrame(ROWS).to_parquet(path)
    assert_rows(load_dataset(path))


def test_save_to_disk_folder(tmp_path: Path) -> None:
    datasets.Dataset.from_list(ROWS).save_to_disk(str(tmp_path / "saved"))
    dataset = load_dataset(tmp_path / "saved")
    assert_rows(dataset)
    assert dataset.name == str(tmp_path / "saved")


def test_dataset_dict_folder_picks_test_split_by_default(tmp_path: Path) -> None:
    folder = tmp_path / "saved"
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_list(ROWS[:1]),
            "test": datasets.Dataset.from_list(ROWS),
        }
    ).save_to_disk(str(folder))
    assert_rows(load_dataset(folder))
    train = load_dataset(folder, split="train")
    assert len(train) == 1
    assert train.name == f"{folder}[train]"


def test_dataset_dict_folder_without_test_split_lists_splits(tmp_path: Path) -> None:
    folder = tmp_path / "saved"
    datasets.DatasetDict(
        {"train": datasets.Dataset.from_list(ROWS), "dev": datasets.Dataset.from_list(ROWS)}
    ).save_to_disk(str(folder))
    with pytest.raises(DataError, match=r"no 'test' split; its splits are train, dev \(.*--split"):
        load_dataset(folder)
    with pytest.raises(DataError, match="no split 'valid'"):
        load_dataset(folder, split="valid")


def test_folder_not_written_by_save_to_disk(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not one written by save_to_disk"):
        load_dataset(tmp_path)


def test_dataframe() -> None:
    dataset = load_dataset(pd.DataFrame(ROWS))
    assert_rows(dataset)
    assert dataset.name == "DataFrame"


def test_dataframe_values_become_plain_python() -> None:
    frame = pd.DataFrame({"question": ["a", "b"], "answer": ["x", None], "n": [1, 2]})
    dataset = load_dataset(frame)
    assert dataset.examples[1].reference is None
    assert type(dataset.examples[0].fields["n"]) is int


def test_dataset_passes_through() -> None:
    dataset = load_dataset(pd.DataFrame(ROWS))
    assert load_dataset(dataset) is dataset
    assert [example.id for example in load_dataset(dataset, limit=2)] == ["0", "1"]
    with pytest.raises(DataError, match="already a loaded Dataset"):
        load_dataset(dataset, input_field="answer")


def test_hub_id_is_loaded_with_datasets(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_load(source: str, split: str) -> datasets.Dataset:
        calls.append((source, split))
        return datasets.Dataset.from_list(ROWS)

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    dataset = load_dataset("someone/qa")
    assert_rows(dataset)
    assert dataset.name == "someone/qa[test]"
    assert load_dataset("someone/qa", split="validation").name == "someone/qa[validation]"
    assert calls == [("someone/qa", "test"), ("someone/qa", "validation")]


def test_hub_failure_says_a_local_path_can_be_given(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_load(source: str, split: str) -> datasets.Dataset:
        raise ConnectionError("no network")

    monkeypatch.setattr(datasets, "load_dataset", failing_load)
    with pytest.raises(DataError) as caught:
        load_dataset("someone/qa")
    message = str(caught.value)
    assert "someone/qa" in message and "Hugging Face hub" in message
    assert "no network" in message and "give the path" in message


@pytest.mark.parametrize("source", ["missing.jsonl", "./data/qa", "/nowhere/qa"])
def test_missing_path_is_not_sent_to_the_hub(source: str) -> None:
    with pytest.raises(DataError, match="no such file or folder"):
        load_dataset(source)


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "qa.txt"
    path.write_text("hello")
    with pytest.raises(DataError, match=r"unknown file type '\.txt'.*\.jsonl"):
        load_dataset(path)


def test_split_on_a_file_is_refused(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "qa.jsonl", ROWS)
    with pytest.raises(DataError, match="--split 'train' does not apply"):
        load_dataset(path, split="train")


def test_real_course_file() -> None:
    dataset = load_dataset(LAMINI_TEST)
    assert len(dataset) == 140
    assert (dataset.input_field, dataset.reference_field) == ("question", "answer")
    assert all(example.reference for example in dataset)


# --- field mapping -------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"prompt": "p", "output": "o"}, ("prompt", "output")),
        ({"instruction": "i", "response": "r"}, ("instruction", "response")),
        ({"input": "i", "target": "t", "prompt": "p"}, ("prompt", "target")),
        ({"Question": "q", "ANSWER": "a"}, ("Question", "ANSWER")),
        ({"input": "i", "Question": "q"}, ("input", None)),  # exact names win over other cases
        ({"question": "q"}, ("question", None)),
    ],
)
def test_field_detection(tmp_path: Path, row: dict[str, str], expected: tuple[str, str]) -> None:
    dataset = load_dataset(write_jsonl(tmp_path / "qa.jsonl", [row]))
    assert (dataset.input_field, dataset.reference_field) == expected
    assert dataset.examples[0].input == row[expected[0]]


def test_named_fields(tmp_path: Path) -> None:
    rows = [{"q": "What?", "gold": "That", "question": "ignored"}]
    dataset = load_dataset(
        write_jsonl(tmp_path / "qa.jsonl", rows), input_field="q", reference_field="gold"
    )
    assert (dataset.examples[0].input, dataset.examples[0].reference) == ("What?", "That")
    assert dataset.examples[0].fields == rows[0]


def test_missing_input_field_lists_the_fields(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "qa.jsonl", [{"query": "q", "gold": "a"}])
    with pytest.raises(DataError) as caught:
        load_dataset(path)
    message = str(caught.value)
    assert str(path) in message and "query, gold" in message and "--input-field" in message


def test_named_input_field_missing_lists_the_fields(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "qa.jsonl", ROWS)
    with pytest.raises(DataError, match=r"--input-field 'query'.*question, answer, topic"):
        load_dataset(path, input_field="query")


def test_named_reference_field_missing_is_an_error(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "qa.jsonl", [{"question": "q"}])
    assert load_dataset(path).examples[0].reference is None
    with pytest.raises(DataError, match=r"--reference-field 'answer'.*fields are: question"):
        load_dataset(path, reference_field="answer")


def test_null_input_names_file_line_and_field(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "qa.jsonl", [ROWS[0], {"question": None, "answer": "x"}])
    with pytest.raises(DataError, match=r"qa\.jsonl, line 2: the input field 'question'"):
        load_dataset(path)


def test_missing_input_in_a_csv_row_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "qa.csv"
    path.write_text("question,answer\nq1,a1\n,a2\n")
    with pytest.raises(DataError, match=r"qa\.csv, line 3: the input field 'question'"):
        load_dataset(path)


def test_missing_input_in_parquet_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "qa.parquet"
    pd.DataFrame({"question": ["q", None], "answer": ["a", "b"]}).to_parquet(path)
    with pytest.raises(DataError, match=r"qa\.parquet, row 2: the input field 'question'"):
        load_dataset(path)


def test_numbers_become_text_and_lists_keep_their_first(tmp_path: Path) -> None:
    rows = [{"question": 12, "answer": 3.5}, {"question": "q", "answer": ["first", "second"]}]
    dataset = load_dataset(write_jsonl(tmp_path / "qa.jsonl", rows))
    assert (dataset.examples[0].input, dataset.examples[0].reference) == ("12", "3.5")
    assert dataset.examples[1].reference == "first"
    assert dataset.examples[1].fields["answer"] == ["first", "second"]


def test_an_object_reference_is_its_json(tmp_path: Path) -> None:
    """The expected output of an extraction: the object stays in the fields for json_fields."""
    reference = {"name": "Ana", "age": 31}
    path = write_jsonl(tmp_path / "qa.jsonl", [{"question": "q", "answer": reference}])
    [example] = load_dataset(path).examples
    assert json.loads(example.reference or "") == reference
    assert example.fields["answer"] == reference


@pytest.mark.parametrize("answer", [[], [1, 2], True])
def test_reference_of_the_wrong_shape(tmp_path: Path, answer: Any) -> None:
    path = write_jsonl(tmp_path / "qa.jsonl", [{"question": "q", "answer": answer}])
    with pytest.raises(DataError, match=r"line 1: the reference field 'answer'"):
        load_dataset(path)


# --- ids -------------------------------------------------------------------------


def test_id_column_is_used(tmp_path: Path) -> None:
    rows = [{"id": f"qa-{n}", **row} for n, row in enumerate(ROWS)]
    dataset = load_dataset(write_jsonl(tmp_path / "qa.jsonl", rows))
    assert [example.id for example in dataset] == ["qa-0", "qa-1", "qa-2"]


def test_named_id_field_and_numeric_ids(tmp_path: Path) -> None:
    rows = [{"key": 10 + n, **row} for n, row in enumerate(ROWS)]
    dataset = load_dataset(write_jsonl(tmp_path / "qa.jsonl", rows), id_field="key")
    assert [example.id for example in dataset] == ["10", "11", "12"]
    with pytest.raises(DataError, match="--id-field 'uid'"):
        load_dataset(tmp_path / "qa.jsonl", id_field="uid")


def test_duplicate_ids_name_both_rows(tmp_path: Path) -> None:
    rows = [{"id": "a", **ROWS[0]}, {"id": "b", **ROWS[1]}, {"id": "a", **ROWS[2]}]
    with pytest.raises(DataError, match="id 'a' appears twice, at line 1 and line 3"):
        load_dataset(write_jsonl(tmp_path / "qa.jsonl", rows))


# --- limit and sample -------------------------------------------------------------


@pytest.fixture
def hundred(tmp_path: Path) -> Path:
    rows = [{"question": f"q{n}", "answer": f"a{n}"} for n in range(100)]
    return write_jsonl(tmp_path / "hundred.jsonl", rows)


def ids(dataset: Dataset) -> list[str]:
    return [example.id for example in dataset]


def test_limit_takes_the_first(hundred: Path) -> None:
    assert ids(load_dataset(hundred, limit=3)) == ["0", "1", "2"]
    assert len(load_dataset(hundred, limit=1000)) == 100


def test_sample_is_deterministic_and_keeps_order(hundred: Path) -> None:
    first = ids(load_dataset(hundred, sample=10, seed=1))
    assert first == ids(load_dataset(hundred, sample=10, seed=1))
    assert first != ids(load_dataset(hundred, sample=10, seed=2))
    assert [int(i) for i in first] == sorted(int(i) for i in first)
    assert len(set(first)) == 10
    assert len(load_dataset(hundred, sample=500)) == 100


def test_sample_then_limit(hundred: Path) -> None:
    sampled = ids(load_dataset(hundred, sample=10, seed=3))
    assert ids(load_dataset(hundred, sample=10, limit=4, seed=3)) == sampled[:4]


@pytest.mark.parametrize("option", ["limit", "sample"])
@pytest.mark.parametrize("value", [0, -1])
def test_non_positive_counts_are_refused(hundred: Path, option: str, value: int) -> None:
    with pytest.raises(DataError, match=f"--{option} must be"):
        if option == "limit":
            load_dataset(hundred, limit=value)
        else:
            load_dataset(hundred, sample=value)


# --- bad files ----------------------------------------------------------------------


def test_malformed_jsonl_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    good = json.dumps(ROWS[0])
    path.write_text(f'{good}\n\n{good}\n{{"question": "q" "answer": "a"}}\n')
    with pytest.raises(DataError) as caught:
        load_dataset(path)
    assert str(caught.value) == (
        f"{path}, line 4: not valid JSON (Expecting ',' delimiter: column 18)"
    )


def test_jsonl_line_that_is_not_an_object(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "x.jsonl", [ROWS[0], ["q", "a"]])
    with pytest.raises(
        DataError, match=r"x\.jsonl, line 2: expected a JSON object, found an array"
    ):
        load_dataset(path)


def test_malformed_json_file(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('[\n{"question": "q",}\n]')
    with pytest.raises(DataError, match=r"x\.json, line 2: not valid JSON"):
        load_dataset(path)


def test_json_of_the_wrong_shape(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"items": ROWS}))
    with pytest.raises(DataError, match="'data', 'examples', 'rows'; found an object"):
        load_dataset(path)
    path.write_text(json.dumps([ROWS[0], "text"]))
    with pytest.raises(DataError, match="item 2: expected a JSON object, found a string"):
        load_dataset(path)


def test_csv_row_with_too_many_values(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("question,answer\nq,a\nq,a,extra\n")
    with pytest.raises(DataError, match="line 3: 3 values, but the header has 2 columns"):
        load_dataset(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            'question,answer\nq1,a1\n"q2,a2\nq3,a3\n',
            "line 3: a quoted value opened here is never closed",
        ),
        ('"question,answer\nq1,a1\n', "line 1: a quoted value opened here is never closed"),
        ('question,answer\nq1,"a1', "line 2: a quoted value opened here is never closed"),
        ('question,answer\nq1,"a1"x\n', "line 2: not valid CSV"),
    ],
)
def test_csv_stray_and_unclosed_quotes(tmp_path: Path, content: str, message: str) -> None:
    """A quote never closed must not swallow the rest of the file into one value."""
    path = tmp_path / "x.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=f"x.csv, {message}"):
        load_dataset(path)


def test_csv_quoted_cells_that_close_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text('question,answer\n"q, with ""quotes""\nand a newline",a\n')
    assert load_dataset(path).examples[0].input == 'q, with "quotes"\nand a newline'


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"question": "q", "score": NaN}', "line 2: NaN is not a JSON number"),
        ('{"question": "q", "answer": -Infinity}', "line 2: -Infinity is not a JSON number"),
        ('{"question": "q", "w": 1e999}', "line 2: the number 1e999 is too large"),
        ('{"question": "q", "n": ' + "7" * 4301 + "}", "line 2: an integer of 4301 digits"),
        ('{"question": "q", "m": ' + "[" * 5000 + "]" * 5000 + "}", "line 2: nested deeper than"),
        ('{"question": "q", "m": ' + "[" * 101 + "]" * 101 + "}", "line 2: nested deeper than"),
        ('{"question": "\\ud800"}', "line 2: the field 'question' holds a lone surrogate"),
    ],
)
def test_jsonl_values_json_cannot_hold(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + line + "\n")
    with pytest.raises(DataError, match=f"x.jsonl, {message}"):
        load_dataset(path)


def test_jsonl_values_at_the_limits_load(tmp_path: Path) -> None:
    deep = "[" * 100 + "]" * 100
    row = '{"question": "\\ud83d\\ude00", "n": ' + "7" * 4300 + ', "m": ' + deep + "}"
    path = tmp_path / "x.jsonl"
    path.write_text(row + "\n")
    example = load_dataset(path).examples[0]
    assert example.input == "\U0001f600" and example.fields["n"] == int("7" * 4300)


def test_json_file_names_the_line_of_a_bad_value(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('[\n{"question": "NaN [[["},\n{"question": "q",\n "a": NaN}\n]')
    with pytest.raises(DataError, match=r"x\.json, line 4: NaN is not a JSON number"):
        load_dataset(path)
    path.write_text(
        '[\n{"question": "q"},\n{"question": "q", "m":\n' + "[" * 3000 + "]" * 3000 + "}]"
    )
    with pytest.raises(DataError, match=r"x\.json, line 4: nested deeper than 100 levels"):
        load_dataset(path)


def test_csv_unclosed_quote_past_the_field_limit(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text('question,answer\nq1,a1\nq2,"a2\n' + "q,a\n" * 40_000)
    with pytest.raises(
        DataError, match=r"x\.csv, line 3: a value that starts on this line runs past"
    ):
        load_dataset(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "x.jsonl",
            '{"question": "q"}\n{"question": "q", "question": "r"}\n',
            "line 2: the key 'question'",
        ),
        ("x.json", '[{"question": "q",\n "m": {"k": [1], "k": 2}}]', "line 2: the key 'k'"),
        (
            "x.json",
            '[{"question": "q", "m": {"k": 1}},\n {"question": "q", "k": 1, "m": {"k": 2}},\n {"q": 1,\n "q": 2}]',
            "line 4: the key 'q'",
        ),
    ],
)
def test_json_key_repeated_in_one_object(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError, match=f"{name}, {message} appears twice in one object"):
        load_dataset(path)


def test_dataframe_with_a_repeated_column() -> None:
    frame = pd.DataFrame([["q", "a", "b"]], columns=["question", "answer", "answer"])
    with pytest.raises(DataError, match=r"DataFrame: the column\(s\) answer appear more than once"):
        load_dataset(frame)


def test_not_utf8_names_file_line_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(json.dumps(ROWS[0]).encode() + b'\n{"question": "caf\xe9"}\n')
    with pytest.raises(DataError) as caught:
        load_dataset(path)
    message = str(caught.value)
    assert f"{path}, line 2: not UTF-8" in message
    assert "0xe9" in message and "Re-encode" in message


def test_utf16_file_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"\xff\xfe" + "question\nq\n".encode("utf-16-le"))
    with pytest.raises(DataError, match=r"line 1: not UTF-8 text \(it looks like UTF-16\)"):
        load_dataset(path)


@pytest.mark.parametrize(
    ("name", "content"), [("x.jsonl", "\n\n"), ("x.json", "[]"), ("x.csv", "")]
)
def test_empty_data_set(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError, match=f"{name}: the data set is empty"):
        load_dataset(path)


def test_unparseable_parquet(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_text("not parquet")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        load_dataset(path)


def test_unsupported_source_type() -> None:
    with pytest.raises(DataError, match="cannot load a data set from a list"):
        load_dataset(cast(Any, [Example("0", "q", "a")]))


def test_bundled_example_set_loads_and_does_not_leak() -> None:
    folder = Path(__file__).parents[2] / "examples" / "qa"
    test, train = load_dataset(folder / "test.jsonl"), load_dataset(folder / "train.jsonl")
    assert (len(test), len(train)) == (48, 120)
    assert (test.input_field, test.reference_field) == ("question", "answer")
    assert test.examples[0].id == "qa-test-001"
    questions = {example.input.lower() for example in test}
    assert not questions & {example.input.lower() for example in train}
    assert {example.fields["topic"] for example in test} <= {
        "cli",
        "data",
        "prompts",
        "models",
        "metrics",
        "store",
        "analysis",
    }

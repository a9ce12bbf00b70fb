"""Property-based fuzz of the loaders: random bytes, random JSON shapes, random CSV quoting.

Whatever a file holds, loading it ends in a data set that every later step can
hold (text inputs, unique ids, fields that are strict JSON and encode as UTF-8)
or in an AssayError; never in another exception. The same holds for a
predictions file read by the replay backend.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay.data import Dataset, load_dataset
from assay.exceptions import AssayError
from assay.models.replay import ReplayModel

SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any code point, lone surrogates included (hypothesis leaves them out by default).
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | ANY_TEXT,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            ANY_TEXT | st.sampled_from(["id", "question", "answer"]), children, max_size=3
        )
    ),
    max_leaves=12,
)
ROWS = st.lists(
    st.dictionaries(
        st.sampled_from(["id", "question", "answer", "prediction", "meta"]) | ANY_TEXT,
        JSON_VALUES,
        max_size=5,
    ),
    max_size=4,
)
CSV_CELLS = st.text(st.sampled_from(['"', ",", "\n", "\r", " ", "a", "b", "1"]), max_size=6)


@contextmanager
def written(name: str, content: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        yield path


def assert_holdable(dataset: Dataset) -> None:
    """What the store and the screen need of a loaded data set."""
    ids = [example.id for example in dataset]
    assert len(set(ids)) == len(ids)
    for example in dataset:
        assert isinstance(example.input, str) and isinstance(example.id, str) and example.id
        assert example.reference is None or isinstance(example.reference, str)
        text = json.dumps(
            [example.id, example.input, example.reference, dict(example.fields)],
            allow_nan=False,
            ensure_ascii=False,
        )
        text.encode("utf-8")  # no lone surrogates anywhere


def load_or_refuse(path: Path) -> None:
    try:
        dataset = load_dataset(path)
    except AssayError:
        return
    assert_holdable(dataset)


def replay_or_refuse(path: Path) -> None:
    try:
        model = ReplayModel(f"replay:{path}", path)
    except AssayError:
        return
    for answer in [*model.by_id.values(), *model.by_input.values()]:
        assert isinstance(answer.text, str)
        answer.text.encode("utf-8")


@FUZZ
@given(content=st.binary(max_size=200), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes(content: bytes, suffix: str) -> None:
    with written(f"data{suffix}", content) as path:
        load_or_refuse(path)
        replay_or_refuse(path)


@FUZZ
@given(rows=ROWS, as_lines=st.booleans())
def test_random_json_shapes(rows: list[dict[str, Any]], as_lines: bool) -> None:
    if as_lines:
        name, text = "data.jsonl", "".join(json.dumps(row) + "\n" for row in rows)
    else:
        name, text = "data.json", json.dumps(rows)
    with written(name, text.encode("utf-8")) as path:
        load_or_refuse(path)
        replay_or_refuse(path)


@FUZZ
@given(value=JSON_VALUES, depth=st.integers(min_value=0, max_value=3000))
def test_random_nesting(value: Any, depth: int) -> None:
    row = {"question": "q", "answer": "a", "meta": value}
    text = '{"question": "q", "meta": ' + "[" * depth + json.dumps(row) + "]" * depth + "}\n"
    with written("data.jsonl", text.encode("utf-8")) as path:
        load_or_refuse(path)
        replay_or_refuse(path)


@FUZZ
@given(
    header=st.lists(
        st.sampled_from(["id", "question", "answer", "prediction", 'x"y', ""]),
        min_size=1,
        max_size=4,
    ),
    rows=st.lists(st.lists(CSV_CELLS, max_size=5), max_size=5),
    quote_all=st.booleans(),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_random_csv_quoting(
    header: list[str], rows: list[list[str]], quote_all: bool, newline: str
) -> None:
    def cell(text: str) -> str:
        return '"' + text.replace('"', '""') + '"' if quote_all else text

    lines = [",".join(cell(name) for name in header)]
    lines += [",".join(cell(value) for value in row) for row in rows]
    with written("data.csv", newline.join(lines).encode("utf-8")) as path:
        load_or_refuse(path)
        replay_or_refuse(path)


@FUZZ
@given(values=st.lists(st.floats() | st.none(), min_size=1, max_size=4))
def test_parquet_floats(values: list[float | None]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"question": ["q"] * len(values), "answer": values, "meta": values})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.parquet"
        pq.write_table(table, path)
        try:
            dataset = load_dataset(path)
        except AssayError:
            assert any(value is not None and math.isinf(value) for value in values)
            return
        assert_holdable(dataset)
        for example, value in zip(dataset, values, strict=True):
            missing = value is None or math.isnan(value)
            assert example.reference == (None if missing else str(value))

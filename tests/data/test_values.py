"""The one rule for a row's values: what is refused, what is converted, and that it is
stored as converted (Parquet types JSON has no kind for, NaN as a missing value)."""

from __future__ import annotations

import datetime
import decimal
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import assay
from assay.data import load_dataset
from assay.data.example import RawRow
from assay.data.values import MAX_DEPTH, plain_row, shown
from assay.exceptions import DataError
from assay.store import open_store

UTC = datetime.timezone.utc


def plain(value: Any) -> Any:
    return plain_row("f.jsonl", RawRow({"v": value}, "line 4")).values["v"]


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text", "text"),
        ("\U0001f600", "\U0001f600"),  # a character beyond the BMP is text, not a surrogate
        (float("nan"), None),
        ([1.5, float("nan")], [1.5, None]),
        ((1, (2,)), [1, [2]]),
        (decimal.Decimal("12.50"), "12.50"),
        (datetime.datetime(2024, 5, 1, 12, 0, tzinfo=UTC), "2024-05-01T12:00:00+00:00"),
        (datetime.date(2024, 5, 1), "2024-05-01"),
        (datetime.time(8, 30), "08:30:00"),
        (datetime.timedelta(minutes=1, milliseconds=500), 60.5),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        (np.int64(3), 3),
        ({"k": np.float32(0.5)}, {"k": 0.5}),
        (pd.NaT, None),
        (nested(MAX_DEPTH), nested(MAX_DEPTH)),
        (10**4000, 10**4000),
    ],
)
def test_converted_by_the_rule(value: Any, expected: Any) -> None:
    assert plain(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a\ud800b", r"line 4: the field 'v' holds a lone surrogate \(\\ud800\)"),
        ({"k": ["\udfff"]}, "the field 'v' holds a lone surrogate"),
        ({"\ud83d": 1}, "the field 'v' holds a lone surrogate"),
        ({1: "x"}, "the field 'v' holds an object key of type int"),
        (float("inf"), "the field 'v' holds inf; numbers must be finite"),
        ([float("-inf")], "the field 'v' holds -inf"),
        (decimal.Decimal("NaN"), "the field 'v' holds the decimal NaN"),
        (b"\x89PNG", "the field 'v' holds binary data"),
        ({"h": bytearray(b"x")}, "the field 'v' holds binary data"),
        (object(), "the field 'v' holds a value of type object"),
        (
            nested(MAX_DEPTH + 1),
            f"line 4: nested deeper than {MAX_DEPTH} levels .* \\(in the field 'v'\\)",
        ),
        (nested(5000), "nested deeper than"),
    ],
)
def test_refused_with_its_place(value: Any, message: str) -> None:
    with pytest.raises(DataError, match=message):
        plain(value)


def test_a_field_name_that_is_not_text() -> None:
    with pytest.raises(DataError, match="line 2: a field name holds a lone surrogate"):
        plain_row("f.jsonl", RawRow({"\ud800": 1}, "line 2"))


def write_parquet(path: Path, columns: dict[str, Any]) -> Path:
    base = {"id": ["q1", "q2"], "question": ["Capital of France?", "2+2?"]}
    pq.write_table(pa.table({**base, **columns}), path)
    return path


def test_parquet_nan_is_a_missing_value_not_the_text_nan(tmp_path: Path) -> None:
    path = write_parquet(
        tmp_path / "qa.parquet",
        {"answer": pa.array([7.0, float("nan")]), "w": pa.array([float("nan"), 2.5])},
    )
    dataset = load_dataset(path)
    assert [example.reference for example in dataset] == ["7.0", None]
    assert [example.fields["w"] for example in dataset] == [None, 2.5]


def test_parquet_types_json_lacks_are_stored_as_converted(tmp_path: Path) -> None:
    """Decimals, timestamps, dates and durations reach the store by the stated rule."""
    path = write_parquet(
        tmp_path / "qa.parquet",
        {
            "answer": ["Paris", "4"],
            "price": pa.array([decimal.Decimal("12.50"), None], type=pa.decimal128(5, 2)),
            "asked": pa.array(
                [datetime.datetime(2024, 5, 1, 12, 0), None], type=pa.timestamp("us", tz="UTC")
            ),
            "day": pa.array([datetime.date(2024, 5, 1), None], type=pa.date32()),
            "took": pa.array([datetime.timedelta(seconds=90), None], type=pa.duration("ms")),
        },
    )
    preds = tmp_path / "preds.jsonl"
    preds.write_text('{"id": "q1", "prediction": "Paris"}\n{"id": "q2", "prediction": "4"}\n')
    store_url = str(tmp_path / "a.db")
    run = assay.evaluate(f"replay:{preds}", path, store=store_url)
    with open_store(store_url) as store:
        stored = store.load_run(run.info.id)
    metadata = {result.example_id: result.metadata for result in stored.results}
    assert metadata["q1"] == {
        "id": "q1",
        "price": "12.50",
        "asked": "2024-05-01T12:00:00+00:00",
        "day": "2024-05-01",
        "took": 90.0,
    }
    assert metadata["q2"] == {"id": "q2", "price": None, "asked": None, "day": None, "took": None}


def test_parquet_binary_is_refused_before_any_run(tmp_path: Path) -> None:
    path = write_parquet(
        tmp_path / "qa.parquet", {"answer": ["Paris", "4"], "image": [b"\x89PNG", b""]}
    )
    with pytest.raises(DataError, match=r"qa.parquet, row 1: the field 'image' holds binary"):
        load_dataset(path)


def test_dataframe_values_pass_the_same_rule() -> None:
    frame = pd.DataFrame(
        {
            "question": ["q1", "q2"],
            "answer": ["a", None],
            "when": pd.to_datetime(["2024-01-02", None]),
        }
    )
    dataset = load_dataset(frame)
    assert [example.fields["when"] for example in dataset] == ["2024-01-02T00:00:00", None]
    with pytest.raises(DataError, match="DataFrame, row 2: the field 'question' holds a lone"):
        load_dataset(pd.DataFrame({"question": ["q", "\ud800"]}, dtype=object))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("two\nlines\r", "two\\nlines\\r"),
        ("a\u2028b\x85c", "a\\u2028b\\u0085c"),
        ("half \ud800", "half \\ud800"),
        ("x" * 100, "x" * 77 + "..."),
    ],
)
def test_shown_keeps_a_message_on_one_line(text: str, expected: str) -> None:
    assert shown(text) == expected
    assert len(shown(text).splitlines()) == 1

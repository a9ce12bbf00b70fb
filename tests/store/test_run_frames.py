"""A stored run as pandas: the summary, the per-example table, and file exports."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from assay.exceptions import StoreError
from assay.metrics.base import MetricSummary, Score
from assay.runs.records import ExampleResult, Run, RunInfo, new_run_id

MakeInfo = Callable[..., RunInfo]
MakeResult = Callable[..., ExampleResult]

BASE_COLUMNS = ["example_id", "input", "reference", "prediction"]
ACCOUNTING = [
    "prompt",
    "prompt_tokens",
    "completion_tokens",
    "finish_reason",
    "seconds",
    "truncated_tokens",
    "error",
    "cached",
]


@pytest.fixture
def run(make_info: MakeInfo, make_result: MakeResult) -> Run:
    info = make_info(
        metrics=["exact_match", "judge"],
        summary={
            "judge": MetricSummary("judge", 0.6, 0.4, 0.8, 2),
            "exact_match": MetricSummary("exact_match", 0.5, 0.0, 1.0, 3),
        },
    )
    results = [
        make_result(2, scores={"exact_match": Score(1.0), "judge": Score(0.5, "partly")}),
        make_result(0, scores={"exact_match": Score(1.0), "judge": Score(math.nan)}),
        make_result(1, metadata={"topic": "t1", "source": "web"}, error="boom"),
    ]
    return Run(info=info, results=results)


def test_summary(run: Run) -> None:
    frame = run.summary()
    assert frame.index.name == "metric"
    assert list(frame.index) == ["exact_match", "judge"]
    assert list(frame.columns) == ["mean", "ci_low", "ci_high", "n", "unscored"]
    assert frame.loc["judge"].to_dict() == {
        "mean": 0.6,
        "ci_low": 0.4,
        "ci_high": 0.8,
        "n": 2,
        "unscored": 0,
    }
    assert frame["n"].dtype == "int64"


def test_summary_of_an_unscored_run(make_info: MakeInfo) -> None:
    frame = Run(info=make_info(), results=[]).summary()
    assert frame.empty and list(frame.columns) == ["mean", "ci_low", "ci_high", "n", "unscored"]


def test_to_pandas_columns_and_order(run: Run) -> None:
    frame = run.to_pandas()
    assert list(frame.columns) == [
        *BASE_COLUMNS,
        "exact_match",
        "judge",
        *ACCOUNTING,
        "meta.topic",
        "meta.difficulty",
        "meta.source",
        "judge.detail",  # exact_match has no detail anywhere, so no column
    ]
    assert list(frame["example_id"]) == ["ex0", "ex1", "ex2"]
    assert frame["exact_match"].tolist() == [1.0, 0.0, 1.0]
    judge = frame["judge"].tolist()
    assert math.isnan(judge[0]) and math.isnan(judge[1]) and judge[2] == 0.5
    assert frame["judge.detail"].isna().tolist() == [True, True, False]
    assert frame["judge.detail"][2] == "partly"
    assert frame["meta.source"][1] == "web" and frame["meta.source"].isna().sum() == 2
    assert frame["error"][1] == "boom" and frame["error"].isna().sum() == 2
    assert frame["cached"].tolist() == [False, True, False]


def test_to_pandas_of_an_empty_run(make_info: MakeInfo) -> None:
    frame = Run(info=make_info(), results=[]).to_pandas()
    assert frame.empty and list(frame.columns) == [*BASE_COLUMNS, *ACCOUNTING]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_export_reads_back(run: Run, tmp_path: Path, suffix: str) -> None:
    path = run.export(tmp_path / f"run{suffix}")
    assert path == tmp_path / f"run{suffix}"
    if suffix == ".csv":
        back = pd.read_csv(path)
    elif suffix == ".jsonl":
        back = pd.read_json(path, lines=True)
        assert "ünïcode" in path.read_text(encoding="utf-8")  # not \\u-escaped
    else:
        back = pd.read_parquet(path)
    expected = run.to_pandas()
    assert list(back.columns) == list(expected.columns)
    assert back["example_id"].tolist() == ["ex0", "ex1", "ex2"]
    assert back["input"].tolist() == expected["input"].tolist()
    assert back["exact_match"].tolist() == [1.0, 0.0, 1.0]
    assert back["prompt_tokens"].tolist() == [10, 11, 12]


def test_export_unknown_extension(run: Run, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"'\.xlsx'; use one of \.csv, \.jsonl, \.parquet"):
        run.export(tmp_path / "run.xlsx")


def test_export_to_a_missing_folder(run: Run, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot write"):
        run.export(tmp_path / "nowhere" / "run.csv")


def test_id_name_and_repr(run: Run) -> None:
    assert (run.id, run.name) == (run.info.id, run.info.name)
    assert repr(run) == f"Run(id={run.id!r}, name={run.name!r}, status='running', results=3)"


def test_new_run_id() -> None:
    ids = {new_run_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) == 12 and int(i, 16) >= 0 for i in ids)

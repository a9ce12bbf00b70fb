"""The run store on a real PostgreSQL server (scripts/start-postgres.sh starts one):
round trips, idempotent writes, NaN handling, the cache, and assay.evaluate end to end.

Each test gets a database of its own (see tests/postgres.py); the NaN-in-JSON test runs
on SQLite too, since JSON columns must hold the same values on both backends.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, text
from tests.postgres import fresh_database

import assay
from assay.errors import StoreError
from assay.metrics.base import MetricSummary, Score
from assay.models.base import Generation
from assay.run import ExampleResult, RunInfo
from assay.store import Store, open_store
from assay.store import tables as t

T0 = datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc)
RUN = "a1b2c3d4e5f6"
SUMMARY = MetricSummary("exact_match", mean=0.5, ci_low=0.0, ci_high=1.0, n=4)

MakeInfo = Callable[..., RunInfo]
MakeResult = Callable[..., ExampleResult]


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A postgresql:// URL of an empty database, dropped after the test."""
    with fresh_database() as url:
        yield url


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    with open_store(pg_url) as opened:
        yield opened


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store on each backend in turn."""
    if request.param == "sqlite":
        with open_store(str(tmp_path / "assay.db")) as opened:
            yield opened
    else:
        with fresh_database() as url, open_store(url) as opened:
            yield opened


def write_full_run(
    store: Store, make_info: MakeInfo, make_result: MakeResult, run_id: str = RUN, minutes: int = 0
) -> None:
    """A complete run of 4 examples in two batches (the first sent twice), with its summary."""
    store.create_run(make_info(run_id, minutes=minutes))
    store.add_results(run_id, [make_result(0), make_result(1)])
    store.add_results(run_id, [make_result(0), make_result(1)])
    store.add_results(run_id, [make_result(3), make_result(2), make_result(2)])
    store.save_summary(run_id, {"exact_match": SUMMARY})
    store.finish_run(run_id, seconds=1.5, stats={"examples_per_s": 2.7, "cached": 1})


def test_round_trip(pg_store: Store, make_info: MakeInfo, make_result: MakeResult) -> None:
    assert pg_store.url.startswith("postgresql://")
    write_full_run(pg_store, make_info, make_result)
    run = pg_store.load_run(RUN)

    expected = make_info(status="complete", seconds=1.5)
    assert run.info.created_at == T0  # microseconds and UTC survive
    assert run.info.finished_at is not None and run.info.finished_at.tzinfo is not None
    assert run.info.stats == {"examples_per_s": 2.7, "cached": 1}
    assert run.info.summary == {"exact_match": SUMMARY}
    for name in ("id", "name", "kind", "status", "run_key", "model_details", "prompt_config"):
        assert getattr(run.info, name) == getattr(expected, name)
    assert run.info.generation_params == expected.generation_params
    assert run.info.metrics == ["exact_match"]
    assert run.results == [make_result(i) for i in range(4)]
    assert pg_store.done_example_ids(RUN) == {"ex0", "ex1", "ex2", "ex3"}
    with pg_store.connection() as conn:
        assert conn.scalar(select(text("count(*)")).select_from(t.results)) == 4
        assert conn.scalar(select(text("count(*)")).select_from(t.scores)) == 4

    listed = pg_store.list_runs()
    assert [r.id for r in listed] == [RUN]
    assert listed[0] == pg_store.get_run_info(RUN) == run.info


def test_added_results_are_never_duplicated(
    pg_store: Store, make_info: MakeInfo, make_result: MakeResult
) -> None:
    pg_store.create_run(make_info())
    pg_store.add_results(RUN, [make_result(0), make_result(1)])
    again = make_result(1, prediction="changed", scores={"exact_match": Score(0.5)})
    pg_store.add_results(RUN, [again, make_result(2), make_result(2)])
    pg_store.add_results(RUN, [])

    results = pg_store.load_run(RUN).results
    assert [r.example_id for r in results] == ["ex0", "ex1", "ex2"]
    assert results[1] == make_result(1)  # the first write wins


def test_the_same_batch_from_many_threads_is_stored_once(
    pg_store: Store, make_info: MakeInfo, make_result: MakeResult
) -> None:
    pg_store.create_run(make_info())
    batch = [make_result(i) for i in range(20)]
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def write() -> None:
        start.wait()
        try:
            pg_store.add_results(RUN, batch)
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert pg_store.load_run(RUN).results == batch


def test_nan_scores_are_null_in_the_database_and_nan_when_read(
    pg_store: Store, make_info: MakeInfo, make_result: MakeResult
) -> None:
    pg_store.create_run(make_info())
    nan_result = make_result(0, scores={"exact_match": Score(math.nan, "no answer")})
    pg_store.add_results(RUN, [nan_result, make_result(1)])
    pg_store.save_scores(RUN, "judge", {"ex0": Score(0.2), "ex1": Score(math.nan, "failed")})
    nan_summary = MetricSummary("judge", math.nan, math.nan, math.nan, 0)
    pg_store.save_summary(RUN, {"exact_match": SUMMARY, "judge": nan_summary})

    with pg_store.connection() as conn:
        nulls = conn.execute(
            select(t.scores.c.example_id, t.scores.c.metric).where(t.scores.c.value.is_(None))
        )
        assert sorted(nulls) == [("ex0", "exact_match"), ("ex1", "judge")]
        mean = conn.scalar(select(t.run_metrics.c.mean).where(t.run_metrics.c.metric == "judge"))
        assert mean is None

    run = pg_store.load_run(RUN)
    assert math.isnan(run.results[0].scores["exact_match"].value)
    assert run.results[0].scores["exact_match"].detail == "no answer"
    assert run.results[0].scores["judge"] == Score(0.2)
    assert math.isnan(run.results[1].scores["judge"].value)
    assert run.info.metrics == ["exact_match", "judge"]
    assert math.isnan(run.info.summary["judge"].mean) and run.info.summary["judge"].n == 0


def test_nan_and_infinity_inside_json_columns_are_stored_as_null(
    any_store: Store, make_info: MakeInfo, make_result: MakeResult
) -> None:
    weird = {
        "nan": math.nan,
        "inf": math.inf,
        "list": [1.5, -math.inf, {"deep": math.nan}],
        "tuple": (math.nan, 2),
        "numpy": np.float32("nan"),
        "numpy64": np.float64("inf"),
        "fine": 0.25,
    }
    cleaned = {
        "nan": None,
        "inf": None,
        "list": [1.5, None, {"deep": None}],
        "tuple": [None, 2],
        "numpy": None,
        "numpy64": None,
        "fine": 0.25,
    }
    any_store.create_run(make_info(model_details=weird, generation_params={"top_p": math.nan}))
    any_store.add_results(RUN, [make_result(0, metadata=weird)])
    any_store.finish_run(RUN, seconds=1.0, stats={"rate": math.nan, "ok": 1.0, "nested": weird})

    run = any_store.load_run(RUN)
    assert run.results[0].metadata == cleaned
    assert run.info.model_details == cleaned
    assert run.info.generation_params == {"top_p": None}
    assert run.info.stats == {"rate": None, "ok": 1.0, "nested": cleaned}


def test_list_runs_newest_first_and_unfinished_runs(
    pg_store: Store, make_info: MakeInfo, make_result: MakeResult
) -> None:
    write_full_run(pg_store, make_info, make_result, "aaaa00000001", minutes=0)
    pg_store.create_run(make_info("bbbb00000002", minutes=10))
    write_full_run(pg_store, make_info, make_result, "cccc00000003", minutes=5)

    runs = pg_store.list_runs()
    assert [r.id for r in runs] == ["bbbb00000002", "cccc00000003", "aaaa00000001"]
    assert runs[0].summary == {} and runs[0].status == "running"
    assert runs[1].summary == {"exact_match": SUMMARY} and runs[1].status == "complete"
    found = pg_store.find_unfinished_run("key-1")
    assert found is not None and found.id == "bbbb00000002"


def test_errors_prefixes_and_delete(
    pg_store: Store, make_info: MakeInfo, make_result: MakeResult
) -> None:
    pg_store.create_run(make_info("abcd12000000"))
    pg_store.create_run(make_info("abcd34000000"))
    with pytest.raises(StoreError, match="already exists"):
        pg_store.create_run(make_info("abcd12000000"))
    with pytest.raises(StoreError, match="no run 'feedfeedfeed'"):
        pg_store.add_results("feedfeedfeed", [make_result(0)])

    assert pg_store.get_run_info("abcd12").id == "abcd12000000"
    with pytest.raises(StoreError, match="ambiguous"):
        pg_store.get_run_info("abcd")
    with pytest.raises(StoreError, match="no run"):
        pg_store.get_run_info("abcd%")  # LIKE wildcards are matched literally
    with pytest.raises(StoreError, match="no run"):
        pg_store.get_run_info("abcd_2")

    pg_store.add_results("abcd12000000", [make_result(0)])
    pg_store.delete_run("abcd12")
    assert [r.id for r in pg_store.list_runs()] == ["abcd34000000"]
    assert pg_store.done_example_ids("abcd12000000") == set()


def test_data_survives_reopening(pg_url: str, make_info: MakeInfo, make_result: MakeResult) -> None:
    with open_store(pg_url) as store:
        write_full_run(store, make_info, make_result)
    with open_store(pg_url) as store:
        assert len(store.load_run(RUN).results) == 4


def test_many_stores_opening_a_new_database_at_once(pg_url: str) -> None:
    """Each creates the schema if it is missing: they must not trip over each other."""
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def open_one() -> None:
        start.wait()
        try:
            with open_store(pg_url) as store:
                store.list_runs()
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_cache_round_trip_of_a_thousand_keys(pg_store: Store) -> None:
    items = {
        f"{i:064x}": Generation(
            text=f"out {i}",
            prompt_tokens=i,
            completion_tokens=i % 7,
            finish_reason="length" if i % 3 == 0 else "stop",
            truncated_tokens=i % 2,
        )
        for i in range(1000)
    }
    pg_store.cache_put(items)
    missing = [f"{i:064x}" for i in range(1000, 1100)]
    assert pg_store.cache_get([*items, *missing]) == items

    first = next(iter(items))
    pg_store.cache_put({first: Generation("other", 1, 1, "stop")})  # insert-or-ignore
    assert pg_store.cache_get([first]) == {first: items[first]}
    failed = Generation("", 5, 0, "error", error="CUDA out of memory")
    pg_store.cache_put({"k1": failed})
    assert pg_store.cache_get(["k1"]) == {}
    assert pg_store.cache_get([]) == {}


def test_evaluate_end_to_end(pg_url: str, qa_data: Path, qa_preds: Path) -> None:
    first = assay.evaluate(f"replay:{qa_preds}", qa_data, ["exact_match", "f1"], store=pg_url)
    summary = first.summary()
    assert summary.loc["exact_match", "mean"] == pytest.approx(0.25)
    assert summary.loc["f1", "mean"] == pytest.approx(13 / 24)
    assert first.info.status == "complete" and first.info.stats["generated"] == 4

    second = assay.evaluate(f"replay:{qa_preds}", qa_data, ["exact_match", "f1"], store=pg_url)
    assert second.id != first.id
    assert second.info.stats["cached"] == 4 and second.info.stats["generated"] == 0

    with open_store(pg_url) as store:
        assert {r.id for r in store.list_runs()} == {first.id, second.id}
        loaded = store.load_run(first.id)
    assert loaded.info == first.info
    assert loaded.results == first.results

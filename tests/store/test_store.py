"""Round trips through an SQLite store: runs, results, scores, summaries, the cache."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest

from assay.errors import StoreError
from assay.metrics.base import MetricSummary, Score
from assay.models.base import Generation
from assay.run import ExampleResult, RunInfo
from assay.store import Store, open_store

T0 = datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc)
SUMMARY = MetricSummary("exact_match", mean=0.5, ci_low=0.0, ci_high=1.0, n=4)


MakeInfo = Callable[..., RunInfo]
MakeResult = Callable[..., ExampleResult]
WriteRun = Callable[..., None]


@pytest.fixture
def write_full_run(make_info: MakeInfo, make_result: MakeResult) -> WriteRun:
    """Writes a complete run of 4 examples, in two batches, with its summary."""

    def write(store: Store, run_id: str = "a1b2c3d4e5f6", minutes: int = 0) -> None:
        store.create_run(make_info(run_id, minutes=minutes))
        store.add_results(run_id, [make_result(0), make_result(1)])
        store.add_results(run_id, [make_result(3), make_result(2)])
        store.save_summary(run_id, {"exact_match": SUMMARY})
        store.finish_run(run_id, seconds=1.5, stats={"examples_per_s": 2.7, "cached": 1})

    return write


def test_round_trip(
    store: Store, write_full_run: WriteRun, make_info: MakeInfo, make_result: MakeResult
) -> None:
    write_full_run(store)
    run = store.load_run("a1b2c3d4e5f6")

    expected = make_info(status="complete", seconds=1.5)
    assert run.info.finished_at is not None
    assert run.info.finished_at.tzinfo is not None
    assert run.info.created_at == T0
    assert run.info.stats == {"examples_per_s": 2.7, "cached": 1}
    assert run.info.summary == {"exact_match": SUMMARY}
    for name in ("id", "name", "kind", "status", "run_key", "model_details", "prompt_config"):
        assert getattr(run.info, name) == getattr(expected, name)
    assert run.info.generation_params == expected.generation_params
    assert run.results == [make_result(i) for i in range(4)]
    assert (run.id, run.name) == (expected.id, expected.name)


def test_added_results_are_never_duplicated(
    store: Store, make_info: MakeInfo, make_result: MakeResult
) -> None:
    store.create_run(make_info())
    store.add_results("a1b2c3d4e5f6", [make_result(0), make_result(1)])
    again = make_result(1, prediction="changed", scores={"exact_match": Score(0.5)})
    store.add_results("a1b2c3d4e5f6", [again, make_result(2), make_result(2)])
    store.add_results("a1b2c3d4e5f6", [])

    assert store.done_example_ids("a1b2c3d4e5f6") == {"ex0", "ex1", "ex2"}
    results = store.load_run("a1b2c3d4e5f6").results
    assert [r.example_id for r in results] == ["ex0", "ex1", "ex2"]
    assert results[1] == make_result(1)  # the first write wins


def test_add_results_to_a_missing_run(store: Store, make_result: MakeResult) -> None:
    with pytest.raises(StoreError, match="no run 'feedfeedfeed'"):
        store.add_results("feedfeedfeed", [make_result(0)])


def test_create_run_twice(store: Store, make_info: MakeInfo) -> None:
    store.create_run(make_info())
    with pytest.raises(StoreError, match="already exists"):
        store.create_run(make_info())


def test_save_scores_replaces_and_keeps_nan(
    store: Store, make_info: MakeInfo, make_result: MakeResult
) -> None:
    store.create_run(make_info())
    store.add_results("a1b2c3d4e5f6", [make_result(i) for i in range(3)])
    store.save_scores("a1b2c3d4e5f6", "judge", {"ex0": Score(0.2, "vague"), "ex1": Score(0.9)})
    store.save_scores(
        "a1b2c3d4e5f6", "judge", {"ex0": Score(math.nan, "judge failed"), "ex2": Score(1.0)}
    )

    results = store.load_run("a1b2c3d4e5f6").results
    nan = results[0].scores["judge"]
    assert math.isnan(nan.value) and nan.detail == "judge failed"
    assert results[1].scores["judge"] == Score(0.9)
    assert results[2].scores["judge"] == Score(1.0)
    assert list(results[0].scores) == ["exact_match", "judge"]
    assert results[0].scores["exact_match"] == Score(1.0)


def test_save_summary_replaces_and_extends_metrics(store: Store, make_info: MakeInfo) -> None:
    store.create_run(make_info())
    store.save_summary("a1b2c3d4e5f6", {"exact_match": SUMMARY})
    nan_judge = MetricSummary("judge", math.nan, math.nan, math.nan, 0)
    better = MetricSummary("exact_match", 0.75, 0.5, 1.0, 4)
    store.save_summary("a1b2c3d4e5f6", {"judge": nan_judge, "exact_match": better})

    info = store.get_run_info("a1b2c3d4e5f6")
    assert info.metrics == ["exact_match", "judge"]
    assert list(info.summary) == ["exact_match", "judge"]
    assert info.summary["exact_match"] == better
    assert math.isnan(info.summary["judge"].mean) and info.summary["judge"].n == 0


def test_list_runs_newest_first_with_summary(
    store: Store, write_full_run: WriteRun, make_info: MakeInfo
) -> None:
    write_full_run(store, "aaaa00000001", minutes=0)
    store.create_run(make_info("bbbb00000002", minutes=10))
    write_full_run(store, "cccc00000003", minutes=5)

    runs = store.list_runs()
    assert [r.id for r in runs] == ["bbbb00000002", "cccc00000003", "aaaa00000001"]
    assert runs[0].summary == {} and runs[0].status == "running"
    assert runs[1].summary == {"exact_match": SUMMARY} and runs[1].status == "complete"


def test_find_unfinished_run(store: Store, write_full_run: WriteRun, make_info: MakeInfo) -> None:
    write_full_run(store, "aaaa00000001", minutes=0)  # complete
    store.create_run(make_info("bbbb00000002", minutes=1))
    store.create_run(make_info("cccc00000003", minutes=2))
    store.create_run(make_info("dddd00000004", minutes=3, run_key="other"))

    found = store.find_unfinished_run("key-1")
    assert found is not None and found.id == "cccc00000003"
    assert store.find_unfinished_run("nope") is None


def test_created_at_defaults_to_now(store: Store, make_info: MakeInfo) -> None:
    before = datetime.now(timezone.utc)
    store.create_run(make_info(created_at=None))
    created = store.get_run_info("a1b2c3d4e5f6").created_at
    assert created is not None and created >= before.replace(microsecond=0)


def test_delete_run(store: Store, write_full_run: WriteRun) -> None:
    write_full_run(store, "aaaa00000001")
    write_full_run(store, "bbbb00000002")
    store.delete_run("aaaa")
    assert [r.id for r in store.list_runs()] == ["bbbb00000002"]
    assert store.done_example_ids("aaaa00000001") == set()
    assert len(store.load_run("bbbb00000002").results) == 4
    with pytest.raises(StoreError, match="no run 'aaaa00000001'"):
        store.delete_run("aaaa00000001")


def test_run_id_prefixes(store: Store, make_info: MakeInfo) -> None:
    store.create_run(make_info("abcd12000000"))
    store.create_run(make_info("abcd34000000"))

    assert store.get_run_info("abcd12").id == "abcd12000000"
    assert store.load_run("abcd3").id == "abcd34000000"
    with pytest.raises(StoreError, match="ambiguous") as ambiguous:
        store.get_run_info("abcd")
    assert "abcd12000000" in str(ambiguous.value) and "abcd34000000" in str(ambiguous.value)
    with pytest.raises(StoreError, match=r"no run 'ffff' in .*assay\.db; `assay runs` lists them"):
        store.get_run_info("ffff")
    with pytest.raises(StoreError, match="at least 4 characters"):
        store.load_run("abc")
    with pytest.raises(StoreError, match="no run"):
        store.get_run_info("abcd%")  # LIKE wildcards are matched literally


def test_data_survives_reopening(db_path: Path, write_full_run: WriteRun) -> None:
    with open_store(str(db_path)) as store:
        write_full_run(store)
    with open_store(str(db_path)) as store:
        assert len(store.load_run("a1b2c3d4e5f6").results) == 4


def test_cache_round_trip_of_a_thousand_keys(store: Store) -> None:
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
    store.cache_put(items)
    missing = [f"{i:064x}" for i in range(1000, 1100)]
    found = store.cache_get([*items, *missing])
    assert found == items

    first = next(iter(items))
    store.cache_put({first: Generation("other", 1, 1, "stop")})  # insert-or-ignore
    assert store.cache_get([first]) == {first: items[first]}
    assert store.cache_get([]) == {}


def test_failed_generations_are_not_cached(store: Store) -> None:
    failed = Generation("", 5, 0, "error", error="CUDA out of memory")
    store.cache_put({"k1": failed, "k2": Generation("ok", 5, 1, "stop")})
    assert set(store.cache_get(["k1", "k2"])) == {"k2"}

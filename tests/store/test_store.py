"""Round trips through the store on SQLite and on PostgreSQL alike: runs, results, scores,
summaries, the caches, and the primitives of the run lifecycle (one running run per key,
take-over by compare-and-set, heartbeats)."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from assay.exceptions import NotFoundError, StoreError
from assay.metrics.base import MetricSummary, Score
from assay.models.base import Generation, GenerationParams, LoglikelihoodStats
from assay.runs.records import EvalConfig, ExampleResult, RunInfo, RunStats
from assay.store import RunFilter, Store, open_store

T0 = datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc)
RUN = "a1b2c3d4e5f6"
SUMMARY = MetricSummary("exact_match", mean=0.5, ci_low=0.0, ci_high=1.0, n=4, unscored=1)
STATS = RunStats(generated=3, cached=1, seconds=1.25, loglikelihood=LoglikelihoodStats(forwards=2))

MakeInfo = Callable[..., RunInfo]
MakeResult = Callable[..., ExampleResult]
WriteRun = Callable[..., None]


@pytest.fixture
def write_full_run(make_info: MakeInfo, make_result: MakeResult) -> WriteRun:
    """Writes a complete run of 4 examples in two batches (the first sent twice), with its
    summary."""

    def write(store: Store, run_id: str = RUN, minutes: int = 0) -> None:
        store.create_run(make_info(run_id, minutes=minutes))
        store.add_results(run_id, [make_result(0), make_result(1)])
        store.add_results(run_id, [make_result(0), make_result(1)])
        store.add_results(run_id, [make_result(3), make_result(2), make_result(2)])
        store.save_summary(run_id, {"exact_match": SUMMARY})
        store.end_run(run_id, "complete", seconds=1.5, stats=STATS)

    return write


def test_round_trip(
    store: Store, write_full_run: WriteRun, make_info: MakeInfo, make_result: MakeResult
) -> None:
    write_full_run(store)
    run = store.load_run(RUN)

    expected = make_info(
        status="complete", seconds=1.5, stats=STATS, summary={"exact_match": SUMMARY}
    )
    assert run.info.finished_at is not None and run.info.finished_at.tzinfo is not None
    assert run.info.created_at == T0  # microseconds and UTC survive
    assert replace(run.info, finished_at=None) == expected
    assert run.info.config == EvalConfig(
        prompt=expected.eval_config.prompt,
        generation=GenerationParams(max_new_tokens=16, stop=("\n",)),
    )
    assert run.results == [make_result(i) for i in range(4)]
    assert store.list_runs() == [run.info] and store.get_run_info(RUN) == run.info


def test_added_results_are_never_duplicated(
    store: Store, make_info: MakeInfo, make_result: MakeResult
) -> None:
    store.create_run(make_info())
    store.add_results(RUN, [make_result(0), make_result(1)])
    again = make_result(1, prediction="changed", scores={"exact_match": Score(0.5)})
    store.add_results(RUN, [again, make_result(2), make_result(2)])
    store.add_results(RUN, [])

    assert store.stored_examples(RUN) == {"ex0": False, "ex1": False, "ex2": False}
    results = store.load_run(RUN).results
    assert [r.example_id for r in results] == ["ex0", "ex1", "ex2"]
    assert results[1] == make_result(1)  # a usable output, once stored, stays


def test_a_failed_example_is_replaced_by_its_next_attempt(
    store: Store, make_info: MakeInfo, make_result: MakeResult
) -> None:
    store.create_run(make_info())
    failed = make_result(0, prediction="", finish_reason="error", error="refused", scores={})
    store.add_results(RUN, [failed, make_result(1)])
    assert store.stored_examples(RUN) == {"ex0": True, "ex1": False}

    store.add_results(RUN, [make_result(0), make_result(1, prediction="other")])
    results = store.load_run(RUN).results
    assert results == [make_result(0), make_result(1)]


def test_the_same_batch_from_many_threads_is_stored_once(
    store: Store, make_info: MakeInfo, make_result: MakeResult
) -> None:
    store.create_run(make_info())
    batch = [make_result(i) for i in range(20)]
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def write() -> None:
        start.wait()
        try:
            store.add_results(RUN, batch)
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.load_run(RUN).results == batch


def test_add_results_to_a_missing_run(store: Store, make_result: MakeResult) -> None:
    with pytest.raises(NotFoundError, match="no run 'feedfeedfeed'"):
        store.add_results("feedfeedfeed", [make_result(0)])


def test_create_run_twice(store: Store, make_info: MakeInfo) -> None:
    store.create_run(make_info())
    with pytest.raises(StoreError, match="already exists"):
        store.create_run(make_info())


def test_only_one_run_per_key_is_running(store: Store, make_info: MakeInfo) -> None:
    assert store.try_create_run(make_info("aaaa00000001", run_key="k"))
    assert not store.try_create_run(make_info("bbbb00000002", run_key="k"))
    assert store.try_create_run(make_info("cccc00000003", run_key="k", status="complete"))
    store.end_run("aaaa00000001", "interrupted", message="killed")
    assert store.try_create_run(make_info("dddd00000004", run_key="k"))
    ids = {r.id: r.status for r in store.runs_with_key("k")}
    assert ids == {
        "aaaa00000001": "interrupted",
        "cccc00000003": "complete",
        "dddd00000004": ids["dddd00000004"],
    }
    assert "bbbb00000002" not in ids


def test_take_over_is_a_compare_and_set(store: Store, make_info: MakeInfo) -> None:
    store.create_run(make_info(status="failed"))
    seen = store.get_run_info(RUN)
    assert store.take_over(seen, "host:1")
    assert not store.take_over(seen, "host:2")  # the run changed since it was read
    taken = store.get_run_info(RUN)
    assert taken.owner == "host:1" and taken.message is None
    assert store.heartbeat(RUN, "host:1")
    assert not store.heartbeat(RUN, "host:2")
    store.end_run(RUN, "complete", seconds=2.0, stats=STATS)
    done = store.get_run_info(RUN)
    assert (done.status, done.owner, done.seconds, done.stats) == ("complete", None, 2.0, STATS)


def test_a_running_run_whose_owner_is_gone_reads_as_interrupted(
    store: Store, make_info: MakeInfo
) -> None:
    store.create_run(make_info(owner="some-other-host:1", heartbeat_at=T0))
    info = store.get_run_info(RUN)
    assert info.status == "interrupted"  # its heartbeat is years old
    assert store.take_over(info, "here:2")
    assert store.get_run_info(RUN).owner == "here:2"


def test_save_scores_replaces_and_keeps_nan(
    store: Store, make_info: MakeInfo, make_result: MakeResult
) -> None:
    store.create_run(make_info())
    store.add_results(RUN, [make_result(i) for i in range(3)])
    store.save_scores(RUN, {"judge": {"ex0": Score(0.2, "vague"), "ex1": Score(0.9)}})
    store.save_scores(RUN, {"judge": {"ex0": Score(math.nan, "judge failed"), "ex2": Score(1.0)}})

    results = store.load_run(RUN).results
    nan = results[0].scores["judge"]
    assert math.isnan(nan.value) and nan.detail == "judge failed"
    assert results[1].scores["judge"] == Score(0.9)
    assert results[2].scores["judge"] == Score(1.0)
    assert list(results[0].scores) == ["exact_match", "judge"]
    assert results[0].scores["exact_match"] == Score(1.0)


def test_save_summary_replaces_and_extends_metrics(store: Store, make_info: MakeInfo) -> None:
    store.create_run(make_info())
    store.save_summary(RUN, {"exact_match": SUMMARY})
    nan_judge = MetricSummary("judge", math.nan, math.nan, math.nan, 0, 3)
    better = MetricSummary("exact_match", 0.75, 0.5, 1.0, 4)
    store.save_summary(RUN, {"judge": nan_judge, "exact_match": better})

    info = store.get_run_info(RUN)
    assert info.metrics == ["exact_match", "judge"]
    assert list(info.summary) == ["exact_match", "judge"]
    assert info.summary["exact_match"] == better
    judge = info.summary["judge"]
    assert math.isnan(judge.mean) and (judge.n, judge.unscored) == (0, 3)


def test_nan_and_infinity_inside_json_columns_are_stored_as_null(
    store: Store, make_info: MakeInfo, make_result: MakeResult
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
    store.create_run(make_info(model_details=weird))
    store.add_results(RUN, [make_result(0, metadata=weird)])
    store.end_run(RUN, "complete", seconds=1.0, stats=RunStats(tokens_per_second=math.nan))

    run = store.load_run(RUN)
    assert run.results[0].metadata == cleaned
    assert run.info.model_details == cleaned
    assert math.isnan(run.info.stats.tokens_per_second)


def test_list_runs_newest_first_with_filters(
    store: Store, write_full_run: WriteRun, make_info: MakeInfo
) -> None:
    write_full_run(store, "aaaa00000001", minutes=0)
    store.create_run(make_info("bbbb00000002", minutes=10, kind="bench", tags=("nightly",)))
    write_full_run(store, "cccc00000003", minutes=5)

    runs = store.list_runs()
    assert [r.id for r in runs] == ["bbbb00000002", "cccc00000003", "aaaa00000001"]
    assert runs[0].summary == {} and runs[0].status == "interrupted"  # no live owner
    assert runs[1].summary == {"exact_match": SUMMARY} and runs[1].status == "complete"
    assert [r.id for r in store.list_runs(RunFilter(kind="bench"))] == ["bbbb00000002"]
    assert [r.id for r in store.list_runs(RunFilter(tag="nightly"))] == ["bbbb00000002"]
    assert len(store.list_runs(RunFilter(status="complete"))) == 2
    assert store.list_runs(RunFilter(model="smollm2", name="cccc"))[0].id == "cccc00000003"
    assert store.list_runs(RunFilter(model="gpt")) == []


def test_created_at_defaults_to_now(store: Store, make_info: MakeInfo) -> None:
    before = datetime.now(timezone.utc)
    store.create_run(make_info(created_at=None))
    created = store.get_run_info(RUN).created_at
    assert created is not None and created >= before.replace(microsecond=0)


def test_delete_run_says_what_it_removed(store: Store, write_full_run: WriteRun) -> None:
    write_full_run(store, "aaaa00000001")
    write_full_run(store, "bbbb00000002")
    removed = store.delete_run("aaaa")
    assert removed["results"] == 4 and removed["scores"] == 4 and removed["run_metrics"] == 1
    assert [r.id for r in store.list_runs()] == ["bbbb00000002"]
    assert store.stored_examples("aaaa00000001") == {}
    assert len(store.load_run("bbbb00000002").results) == 4
    with pytest.raises(NotFoundError, match="no run 'aaaa00000001'"):
        store.delete_run("aaaa00000001")


def test_runs_by_id_prefix_or_name(store: Store, make_info: MakeInfo) -> None:
    store.create_run(make_info("abcd12000000", name="base"))
    store.create_run(make_info("abcd34000000", name="ft-v1"))
    store.create_run(make_info("ef0123000000", name="ft-v1"))

    assert store.get_run_info("abcd12").id == "abcd12000000"
    assert store.load_run("abcd3").id == "abcd34000000"
    assert store.get_run_info("base").id == "abcd12000000"
    with pytest.raises(StoreError, match="2 runs are named 'ft-v1'") as named:
        store.get_run_info("ft-v1")
    assert "abcd34000000" in str(named.value) and "ef0123000000" in str(named.value)
    with pytest.raises(StoreError, match="ambiguous") as ambiguous:
        store.get_run_info("abcd")
    assert "abcd12000000" in str(ambiguous.value) and "abcd34000000" in str(ambiguous.value)
    with pytest.raises(NotFoundError, match=r"no run 'ffff' \(id or name\) in .*; `assay runs`"):
        store.get_run_info("ffff")
    with pytest.raises(NotFoundError, match="at least 4 characters"):
        store.load_run("abc")
    for wildcard in ("abcd%", "abcd_2"):  # LIKE wildcards are matched literally
        with pytest.raises(NotFoundError, match="no run"):
            store.get_run_info(wildcard)


def test_a_name_shared_by_an_eval_and_a_bench_run_means_the_kind_asked_for(
    store: Store, make_info: MakeInfo
) -> None:
    store.create_run(make_info("aaaa00000001", name="ft-v1", kind="eval"))
    store.create_run(make_info("bbbb00000002", name="ft-v1", kind="bench"))
    with pytest.raises(StoreError, match="2 runs are named 'ft-v1'"):
        store.load_run("ft-v1")
    assert store.load_run("ft-v1", kind="eval").id == "aaaa00000001"
    assert store.get_run_info("ft-v1", kind="bench").id == "bbbb00000002"
    assert store.get_run_info("bbbb", kind="eval").id == "bbbb00000002"  # ids are ids


def test_rename_and_tag(store: Store, make_info: MakeInfo) -> None:
    store.create_run(make_info())
    assert store.update_run(RUN, name="base").name == "base"
    assert store.update_run("base", tags=["b", "a", "b"]).tags == ("a", "b")


def test_data_survives_reopening(tmp_path: Path, write_full_run: WriteRun) -> None:
    path = str(tmp_path / "again.db")
    with open_store(path) as store:
        write_full_run(store)
    with open_store(path) as store:
        assert len(store.load_run(RUN).results) == 4


def test_generation_cache_of_a_thousand_keys(store: Store) -> None:
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
    assert store.cache_get([*items, *missing]) == items

    first = next(iter(items))
    store.cache_put({first: Generation("other", 1, 1, "stop")})  # insert-or-ignore
    assert store.cache_get([first]) == {first: items[first]}
    failed = Generation("", 5, 0, "error", error="CUDA out of memory")
    store.cache_put({"k1": failed, "k2": Generation("ok", 5, 1, "stop")})
    assert set(store.cache_get(["k1", "k2"])) == {"k2"}  # failures are never cached
    assert store.cache_get([]) == {}


def test_results_and_cache_entries_commit_together(
    store: Store, make_info: MakeInfo, make_result: MakeResult
) -> None:
    store.create_run(make_info())
    logliks = {f"{i:064x}": (-0.5 * i, i % 2 == 0) for i in range(700)}
    store.add_results(
        RUN,
        [make_result(0)],
        generations={"g": Generation("x", 1, 1, "stop")},
        loglikelihoods=logliks,
    )
    assert store.loglikelihood_cache_get([*logliks, "nope"]) == logliks
    assert set(store.cache_get(["g"])) == {"g"}
    with pytest.raises(NotFoundError):  # nothing of a batch for a missing run is kept
        store.add_results("feedfeedfeed", [make_result(0)], loglikelihoods={"z": (0.0, True)})
    assert store.loglikelihood_cache_get(["z"]) == {}

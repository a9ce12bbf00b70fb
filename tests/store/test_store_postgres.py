"""What only PostgreSQL can show (scripts/start-postgres.sh starts a real server): NaN as
NULL in the database itself, many processes creating the schema at once, and
assay.evaluate end to end. Everything else the store does is tested on both backends in
test_store.py.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

import assay
from assay.metrics.base import MetricSummary, Score
from assay.runs.records import ExampleResult, RunInfo
from assay.store import Store, open_store
from assay.store import tables as t

RUN = "a1b2c3d4e5f6"
SUMMARY = MetricSummary("exact_match", mean=0.5, ci_low=0.0, ci_high=1.0, n=4)

MakeInfo = Callable[..., RunInfo]
MakeResult = Callable[..., ExampleResult]


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    with open_store(pg_url) as opened:
        yield opened


def test_nan_scores_are_null_in_the_database_and_nan_when_read(
    pg_store: Store, make_info: MakeInfo, make_result: MakeResult
) -> None:
    pg_store.create_run(make_info())
    nan_result = make_result(0, scores={"exact_match": Score(math.nan, "no answer")})
    pg_store.add_results(RUN, [nan_result, make_result(1)])
    pg_store.save_scores(RUN, {"judge": {"ex0": Score(0.2), "ex1": Score(math.nan, "failed")}})
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


def test_evaluate_end_to_end(pg_url: str, qa_data: Path, qa_preds: Path) -> None:
    first = assay.evaluate(f"replay:{qa_preds}", qa_data, ["exact_match", "f1"], store=pg_url)
    summary = first.summary()
    assert summary.loc["exact_match", "mean"] == pytest.approx(0.25)
    assert summary.loc["f1", "mean"] == pytest.approx(13 / 24)
    assert first.info.status == "complete" and first.info.stats.generated == 4

    second = assay.evaluate(f"replay:{qa_preds}", qa_data, ["exact_match", "f1"], store=pg_url)
    assert second.id != first.id
    assert second.info.stats.cached == 4 and second.info.stats.generated == 0

    with open_store(pg_url) as store:
        assert {r.id for r in store.list_runs()} == {first.id, second.id}
        loaded = store.load_run(first.id)
    assert loaded.info == first.info
    assert loaded.results == first.results

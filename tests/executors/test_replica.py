"""A replica as a plain object, on the replay backend (real code, no cluster): jobs, results
taken after what the driver holds (so a lost answer is asked for again), errors that cross
processes intact, a restarted process told apart by its incarnation."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

import assay
from assay.data.prompts import Prompt
from assay.exceptions import ModelError, OptionError
from assay.executors.replica import (
    Failure,
    GenerateWork,
    Job,
    LoglikelihoodWork,
    Progress,
    Replica,
)
from assay.models.base import Generation, GenerationParams, ModelOptions


def prompts(data: Path) -> tuple[Prompt, ...]:
    dataset = assay.load_dataset(data)
    return tuple(Prompt(e.input, chat=False, example=e) for e in dataset.examples)


def finish(replica: Replica, job: int) -> Progress:
    for _ in range(100):
        progress = replica.take(job, 0, wait=1.0)
        if progress.done:
            return progress
    raise AssertionError("the job did not end")


def test_a_job_reports_every_result_under_the_drivers_index(qa_data: Path, qa_preds: Path) -> None:
    replica = Replica(f"replay:{qa_preds}", ModelOptions(), threads=None)
    info = replica.ready()
    assert info.failure is None and info.fingerprint
    assert info.incarnation == replica.start(
        Job(7, (10, 11, 12, 13), GenerateWork(prompts(qa_data), GenerationParams()))
    )
    progress = finish(replica, 7)
    assert [i for i, _ in progress.results] == [10, 11, 12, 13]
    texts = [r.text for _, r in progress.results if isinstance(r, Generation)]
    assert texts == ["Paris", "The answer is 4", "blue", "Saturn"]
    again = replica.take(7, 2, wait=0)  # asked again from the third: nothing is lost
    assert [i for i, _ in again.results] == [12, 13] and again.done
    assert pickle.loads(pickle.dumps(again)) == again  # what crosses to the driver


def test_an_error_on_the_replica_reaches_the_driver_as_the_same_kind(qa_preds: Path) -> None:
    replica = Replica(f"replay:{qa_preds}", ModelOptions(), threads=None)
    replica.start(Job(1, (0,), LoglikelihoodWork((("context", " continuation"),))))
    failure = finish(replica, 1).failure
    assert failure is not None
    error = pickle.loads(pickle.dumps(failure)).error("replica 2 on node-b")
    assert isinstance(error, ModelError)
    assert "replica 2 on node-b" in str(error) and "no log-likelihoods" in str(error)


def test_an_option_error_keeps_its_option() -> None:
    failure = Failure.of(OptionError("max_new_tokens", "must be 1 or more, got 0"))
    error = pickle.loads(pickle.dumps(failure)).error("replica 1")
    assert isinstance(error, OptionError) and error.option == "max_new_tokens"


def test_a_model_that_does_not_load_is_reported_by_ready(tmp_path: Path) -> None:
    replica = Replica(f"replay:{tmp_path / 'missing.jsonl'}", ModelOptions(), threads=None)
    info = replica.ready()
    assert info.fingerprint is None and info.failure is not None
    with pytest.raises(ModelError, match=r"replica 1 on .*no such predictions file"):
        raise info.failure.error(f"replica 1 on {info.node}")


def test_a_job_unknown_to_this_incarnation_is_reported_lost(qa_preds: Path) -> None:
    replica = Replica(f"replay:{qa_preds}", ModelOptions(), threads=None)
    progress = replica.take(3, 0, wait=0)
    assert progress.done and progress.failure is not None and progress.failure.kind == "LostJob"
    assert Replica(f"replay:{qa_preds}", ModelOptions(), None).incarnation != replica.incarnation

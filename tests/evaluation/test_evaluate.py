"""The runner through the replay backend: scores, errors, cache, resume, options, rescoring.

The replay model answers from a predictions file, so these tests run the real
runner, store and metrics end to end in milliseconds.
"""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Sequence
from pathlib import Path

import pytest

import assay
from assay.data.prompts import Prompt
from assay.exceptions import AssayError, MetricError, PromptError, RunInProgressError
from assay.models.base import Generation, GenerationParams, ResultCallback
from assay.models.replay import ReplayModel
from assay.store import open_store

IDS = ["q1", "q2", "q3", "q4"]
QUESTIONS = [
    "What is the capital of France?",
    "What is 2 + 2?",
    "What colour is a clear sky by day?",
    "Which is the largest planet?",
]
PREDICTIONS = ["Paris", "The answer is 4", "blue", "Saturn"]
# exact_match: only q1.  f1 (SQuAD): q1 1; q2 "answer is 4" vs "4" = 2*(1/3*1)/(1/3+1) = 1/2;
# q3 "blue" vs "blue sky" = 2*(1*1/2)/(1+1/2) = 2/3; q4 0.  Mean (1 + 1/2 + 2/3) / 4 = 13/24.
EXACT = [1.0, 0.0, 0.0, 0.0]
F1 = [1.0, 0.5, 2 / 3, 0.0]


def replay(path: Path) -> str:
    return f"replay:{path}"


def write_jsonl(path: Path, rows: Sequence[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_evaluate_scores_every_example(tmp_path: Path, qa_data: Path, qa_preds: Path) -> None:
    run = assay.evaluate(
        replay(qa_preds), qa_data, ["exact_match", "f1"], store=str(tmp_path / "a.db")
    )

    summary = run.summary()
    assert list(summary.index) == ["exact_match", "f1"]
    assert summary.loc["exact_match", "mean"] == pytest.approx(0.25)
    assert summary.loc["f1", "mean"] == pytest.approx(13 / 24)
    assert summary["n"].tolist() == [4, 4]
    assert run.info.status == "complete"
    assert run.info.n_examples == 4
    assert run.info.stats.generated == 4
    assert run.info.stats.failed == 0

    frame = run.to_pandas()
    assert frame["example_id"].tolist() == IDS
    assert frame["prediction"].tolist() == PREDICTIONS
    assert frame["exact_match"].tolist() == EXACT
    assert frame["f1"].tolist() == pytest.approx(F1)
    assert frame["meta.topic"].tolist() == ["geo", "math", "nature", "space"]
    # The replay model has no chat template: the prompt sent is the question itself.
    assert frame["prompt"].tolist() == QUESTIONS
    assert [r.prompt for r in run.results] == QUESTIONS


def test_csv_predictions_matched_by_input(
    tmp_path: Path, qa_data: Path, qa_preds_csv: Path
) -> None:
    run = assay.evaluate(replay(qa_preds_csv), qa_data, store=str(tmp_path / "a.db"))
    assert run.to_pandas()["prediction"].tolist() == PREDICTIONS
    assert run.summary().loc["f1", "mean"] == pytest.approx(13 / 24)


def test_missing_prediction_is_an_error_on_that_example(tmp_path: Path, qa_data: Path) -> None:
    preds = write_jsonl(
        tmp_path / "partial.jsonl",
        [{"id": i, "prediction": p} for i, p in zip(IDS, PREDICTIONS, strict=True) if i != "q3"],
    )
    run = assay.evaluate(replay(preds), qa_data, store=str(tmp_path / "a.db"))

    assert run.info.status == "incomplete"
    assert run.info.message is not None and run.info.message.startswith("1 of 4 failed")
    assert len(run.results) == 4
    assert run.info.stats.failed == 1
    failed = {r.example_id: r for r in run.results if r.finish_reason == "error"}
    assert list(failed) == ["q3"]
    assert failed["q3"].prediction == ""
    assert failed["q3"].error is not None
    assert "q3" in failed["q3"].error and str(preds) in failed["q3"].error
    assert all(r.error is None for r in run.results if r.example_id != "q3")


def test_second_identical_run_is_served_from_the_cache(
    tmp_path: Path, qa_data: Path, qa_preds: Path
) -> None:
    db = str(tmp_path / "a.db")
    first = assay.evaluate(replay(qa_preds), qa_data, store=db)
    second = assay.evaluate(replay(qa_preds), qa_data, store=db)

    assert second.id != first.id  # the first run was complete: a new run, not a resume
    assert second.info.stats.cached == 4
    assert second.info.stats.generated == 0
    assert second.info.stats.resumed == 0
    assert all(r.cached for r in second.results)
    assert [r.prediction for r in second.results] == PREDICTIONS
    assert second.summary()["mean"].tolist() == first.summary()["mean"].tolist()


def test_cache_is_keyed_by_the_model_content(tmp_path: Path, qa_data: Path, qa_preds: Path) -> None:
    db = str(tmp_path / "a.db")
    assay.evaluate(replay(qa_preds), qa_data, store=db)

    other = write_jsonl(tmp_path / "other.jsonl", [{"id": i, "prediction": "no idea"} for i in IDS])
    different = assay.evaluate(replay(other), qa_data, store=db)
    assert different.info.stats.generated == 4
    assert different.info.stats.cached == 0
    assert {r.prediction for r in different.results} == {"no idea"}

    # The same content under another name is the same model: its outputs are reused.
    copy = shutil.copy(qa_preds, tmp_path / "renamed.jsonl")
    same = assay.evaluate(replay(Path(copy)), qa_data, store=db)
    assert same.info.stats.cached == 4
    assert [r.prediction for r in same.results] == PREDICTIONS


def test_use_cache_false_generates_again(tmp_path: Path, qa_data: Path, qa_preds: Path) -> None:
    db = str(tmp_path / "a.db")
    assay.evaluate(replay(qa_preds), qa_data, store=db)
    again = assay.evaluate(replay(qa_preds), qa_data, store=db, use_cache=False)
    assert again.info.stats.generated == 4
    assert again.info.stats.cached == 0


class InterruptedReplay:
    """The real replay model, with a Ctrl-C arriving after `after` examples have finished."""

    def __init__(self, inner: ReplayModel, after: int) -> None:
        self.inner = inner
        self.after = after
        self.info = inner.info
        self.has_chat_template = inner.has_chat_template
        self.load = inner.load
        self.render = inner.render
        self.loglikelihood = inner.loglikelihood

    def generate(
        self,
        prompts: Sequence[Prompt],
        params: GenerationParams,
        on_result: ResultCallback | None = None,
    ) -> list[Generation]:
        finished = 0

        def interrupt_after(index: int, generation: Generation) -> None:
            nonlocal finished
            if on_result is not None:
                on_result(index, generation)
            finished += 1
            if finished == self.after:
                raise KeyboardInterrupt

        return self.inner.generate(prompts, params, on_result=interrupt_after)


def test_interrupted_run_resumes_where_it_stopped(
    tmp_path: Path, qa_data: Path, qa_preds: Path
) -> None:
    db = str(tmp_path / "a.db")
    interrupted = InterruptedReplay(ReplayModel(replay(qa_preds), qa_preds), after=2)
    with pytest.raises(KeyboardInterrupt):
        assay.evaluate(interrupted, qa_data, store=db)

    with open_store(db) as store:
        (unfinished,) = store.list_runs()
        assert unfinished.status == "interrupted"
        assert unfinished.message == "interrupted by the user"
        assert set(store.stored_examples(unfinished.id)) == {"q1", "q2"}  # flushed on the interrupt

    resumed = assay.evaluate(replay(qa_preds), qa_data, store=db)
    assert resumed.id == unfinished.id
    assert resumed.info.status == "complete"
    assert resumed.info.stats.resumed == 2
    assert resumed.info.stats.generated == 2
    ids = [r.example_id for r in resumed.results]
    assert ids == IDS  # each example once, in order

    uninterrupted = assay.evaluate(replay(qa_preds), qa_data, store=str(tmp_path / "b.db"))
    assert [r.prediction for r in resumed.results] == [r.prediction for r in uninterrupted.results]
    assert resumed.summary()["mean"].tolist() == uninterrupted.summary()["mean"].tolist()
    with open_store(db) as store:
        assert [r.id for r in store.list_runs()] == [resumed.id]


def test_keyword_overrides(tmp_path: Path, qa_data: Path, qa_preds: Path) -> None:
    db = str(tmp_path / "a.db")
    run = assay.evaluate(
        replay(qa_preds),
        qa_data,
        store=db,
        limit=2,
        template="Q: {question}\nA:",
        system="Answer briefly.",
        prompt_format="raw",
        name="overridden",
    )
    assert run.name == "overridden"
    assert [r.example_id for r in run.results] == ["q1", "q2"]
    assert run.info.n_examples == 2
    assert run.results[0].prompt == "Answer briefly.\n\nQ: What is the capital of France?\nA:"
    config = run.info.eval_config
    assert config.prompt == assay.PromptConfig("raw", "Q: {question}\nA:", "Answer briefly.")
    assert (config.fields.input, config.fields.reference) == ("question", "answer")
    # The prompt is part of the run's identity, so the default prompt makes a new run.
    plain = assay.evaluate(replay(qa_preds), qa_data, store=db, limit=2)
    assert plain.info.run_key != run.info.run_key


def test_chat_format_on_a_model_without_chat_template(
    tmp_path: Path, qa_data: Path, qa_preds: Path
) -> None:
    with pytest.raises(PromptError, match="no chat template"):
        assay.evaluate(
            replay(qa_preds), qa_data, store=str(tmp_path / "a.db"), prompt_format="chat"
        )


def test_unknown_override_names_the_known_ones(
    tmp_path: Path, qa_data: Path, qa_preds: Path
) -> None:
    with pytest.raises(AssayError) as caught:
        assay.evaluate(replay(qa_preds), qa_data, store=str(tmp_path / "a.db"), max_tokens=8)
    message = str(caught.value)
    assert message.startswith("max_tokens is not an option of evaluate()")
    assert "max_new_tokens" in message and "limit" in message
    assert not (tmp_path / "a.db").exists()  # refused before the store is opened


@pytest.mark.usefixtures("clean_registry")
def test_custom_metric_by_name(tmp_path: Path, qa_data: Path, qa_preds: Path) -> None:
    @assay.metric("test_runner_starts_like_reference", pass_fail=True)
    def starts_like_reference(prediction: str, reference: str, example: assay.Example) -> bool:
        """The prediction's first word is the reference's first word."""
        assert example.reference == reference
        return prediction.split()[:1] == reference.split()[:1]

    run = assay.evaluate(
        replay(qa_preds),
        qa_data,
        ["test_runner_starts_like_reference"],
        store=str(tmp_path / "a.db"),
    )
    frame = run.to_pandas()
    # q1 Paris/Paris, q2 The/4, q3 blue/blue, q4 Saturn/Jupiter
    assert frame["test_runner_starts_like_reference"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert run.summary().loc["test_runner_starts_like_reference", "mean"] == pytest.approx(0.5)


@pytest.mark.usefixtures("clean_registry")
def test_custom_metric_sees_the_rows_fields(tmp_path: Path) -> None:
    data = write_jsonl(
        tmp_path / "data.jsonl",
        [{"id": "a", "question": "Name a primary colour.", "answers": ["red", "blue", "yellow"]}],
    )
    preds = write_jsonl(tmp_path / "preds.jsonl", [{"id": "a", "prediction": "blue"}])
    seen: list[dict[str, object]] = []

    @assay.metric("test_runner_any_answer", pass_fail=True)
    def any_answer(prediction: str, reference: str, example: assay.Example) -> bool:
        """The prediction is one of the acceptable answers."""
        seen.append(dict(example.fields))
        return prediction in example.fields["answers"]

    run = assay.evaluate(
        replay(preds),
        data,
        ["test_runner_any_answer"],
        store=str(tmp_path / "a.db"),
        reference_field="answers",
    )
    # Example.fields is documented as "every column of the original row, by name".
    assert seen == [
        {"id": "a", "question": "Name a primary colour.", "answers": ["red", "blue", "yellow"]}
    ]
    assert run.summary().loc["test_runner_any_answer", "mean"] == 1.0


def test_rescore_adds_a_metric_without_generating(
    tmp_path: Path, qa_data: Path, qa_preds: Path
) -> None:
    db = str(tmp_path / "a.db")
    run = assay.evaluate(replay(qa_preds), qa_data, ["exact_match"], store=db)

    rescored = assay.rescore(run.id, ["contains"], store=db)
    assert rescored.id == run.id
    assert rescored.info.metrics == ["exact_match", "contains"]
    assert rescored.info.stats == run.info.stats  # nothing generated again
    frame = rescored.to_pandas()
    assert frame["contains"].tolist() == [1.0, 1.0, 0.0, 0.0]  # "4" in "The answer is 4"
    assert frame["exact_match"].tolist() == EXACT  # earlier scores kept
    assert rescored.summary().loc["contains", "mean"] == pytest.approx(0.5)
    with open_store(db) as store:
        assert len(store.list_runs()) == 1


def test_rescore_unknown_metric_fails_before_writing(
    tmp_path: Path, qa_data: Path, qa_preds: Path
) -> None:
    db = str(tmp_path / "a.db")
    run = assay.evaluate(replay(qa_preds), qa_data, ["exact_match"], store=db)
    with pytest.raises(AssayError, match="Unknown metric 'bleu'"):
        assay.rescore(run.id, ["contains", "bleu"], store=db)
    with open_store(db) as store:
        assert list(store.get_run_info(run.id).summary) == ["exact_match"]


@pytest.mark.usefixtures("clean_registry")
def test_a_metric_that_raises_fails_the_run_which_the_same_call_resumes(
    tmp_path: Path, qa_data: Path, qa_preds: Path
) -> None:
    db = str(tmp_path / "a.db")
    broken = {"value": True}

    @assay.metric("fragile")
    def fragile(prediction: str, reference: str | None, example: assay.Example) -> float:
        if broken["value"] and example.id == "q2":
            raise ZeroDivisionError("division by zero")
        return 1.0

    with pytest.raises(MetricError) as caught:
        assay.evaluate(replay(qa_preds), qa_data, ["exact_match", "fragile"], store=db)
    message = str(caught.value)
    assert message == (
        "metric 'fragile' failed on example 'q2': ZeroDivisionError: division by zero"
    )
    with open_store(db) as store:
        (failed,) = store.list_runs()
    assert (failed.status, failed.message) == ("failed", message)  # never left running

    broken["value"] = False
    fixed = assay.evaluate(replay(qa_preds), qa_data, ["exact_match", "fragile"], store=db)
    assert fixed.id == failed.id and fixed.info.status == "complete"
    assert fixed.info.stats.resumed == 4 and fixed.info.message is None
    assert fixed.info.summary["fragile"].mean == 1.0


def test_the_same_call_waits_for_a_live_process_or_says_it_is_in_progress(
    tmp_path: Path, qa_data: Path, qa_preds: Path
) -> None:
    """A run held by a live owner (here a process of ours that is alive: pid 1) makes an
    identical call refuse at once with wait=False, naming the run and its owner."""
    db = str(tmp_path / "a.db")
    first = assay.evaluate(replay(qa_preds), qa_data, store=db, limit=2)
    with open_store(db) as store:
        info = store.get_run_info(first.id)
        assert store.take_over(info, f"{socket.gethostname()}:1")  # init: always alive
    with pytest.raises(RunInProgressError, match=rf"run {first.id} .* is in progress in process"):
        assay.evaluate(replay(qa_preds), qa_data, store=db, limit=2, wait=False, name="again")


def test_bad_data_metric_or_model_is_refused_before_a_store_is_created(
    tmp_path: Path, qa_data: Path, qa_preds: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "q1", "question": "Q?", "answer": "A"}\n{"id": "q2", "quest\n')
    store = tmp_path / "new" / "runs.db"
    with pytest.raises(AssayError, match=r"bad\.jsonl.*line 2"):
        assay.evaluate(replay(qa_preds), bad, store=str(store))
    with pytest.raises(AssayError, match=r"Unknown metric 'no_such_metric'"):
        assay.evaluate(replay(qa_preds), qa_data, ["no_such_metric"], store=str(store))
    with pytest.raises(AssayError, match=r"unknown model 'no-such-model'"):
        assay.evaluate("no-such-model", qa_data, store=str(store))
    assert not store.exists() and not store.parent.exists()

"""The review library: labels, agreement, filtered pages, diff, blind votes, preferences."""

from __future__ import annotations

import csv
import io
import json
import math
import random
import re
from pathlib import Path

import pytest
from tests.web.review_data import RUN_A, RUN_B, RUN_FAILED

from assay.arena import load_battles
from assay.exceptions import AssayError, NotFoundError, OptionError
from assay.review import (
    ExampleFilter,
    Label,
    Preference,
    agreement,
    cohen_kappa,
    export_preferences,
    fleiss_kappa,
    load_labels,
    new_ticket,
    page_examples,
    preferences,
    save_label,
    vote,
)
from assay.review.diff import diff_pieces
from assay.review.labels import labels_text
from assay.review.spreadsheet import neutralise
from assay.review.votes import preferences_text
from assay.store import Store


def test_labels_round_trip_and_relabel_replaces(store: Store) -> None:
    save_label(store, Label(RUN_A, "ex1", "ann", "incorrect", ["hallucination", " "], "no"))
    save_label(store, Label(RUN_A, "ex1", "bob", "partly"))
    save_label(store, Label(RUN_A, "ex1", "ann", "partly", ["format"]))
    found = load_labels(store, RUN_A)
    assert [(x.reviewer, x.verdict, x.categories) for x in found] == [
        ("ann", "partly", ["format"]),
        ("bob", "partly", []),
    ]
    assert found[0].created_at is not None and found[0].created_at.tzinfo is not None
    assert "ann,partly,format" in labels_text(found, "csv").replace('"', "")
    assert '"categories":["format"]' in labels_text(found, "jsonl")


def test_bad_verdict_is_refused(store: Store) -> None:
    with pytest.raises(AssayError, match="must be one of"):
        save_label(store, Label(RUN_A, "ex1", "ann", "great"))


def test_kappas() -> None:
    assert cohen_kappa(["a", "b", "a", "b"], ["a", "b", "a", "b"]) == 1.0
    assert cohen_kappa(["a", "a", "b", "b"], ["a", "b", "a", "b"]) == 0.0
    assert math.isclose(cohen_kappa(["a", "a", "a", "b"], ["a", "a", "b", "b"]), 0.5)
    # Fleiss' worked example shape: perfect agreement is 1, none defined without pairs.
    assert fleiss_kappa([["a", "a"], ["b", "b"]]) == 1.0
    assert math.isnan(fleiss_kappa([["a"]]))
    assert math.isclose(fleiss_kappa([["a", "a"], ["a", "b"]]), -1 / 3)


def test_agreement_between_reviewers(store: Store) -> None:
    for i, (x, y) in enumerate(
        [("correct", "correct"), ("incorrect", "incorrect"), ("partly", "correct")]
    ):
        save_label(store, Label(RUN_A, f"ex{i}", "ann", x))
        save_label(store, Label(RUN_A, f"ex{i}", "bob", y))
    result = agreement(load_labels(store, RUN_A))
    assert result.reviewers == ["ann", "bob"]
    kappa, n = result.cohen[("ann", "bob")]
    assert n == 3 and 0 < kappa < 1
    assert result.n_items == 3 and math.isclose(result.fleiss, kappa, abs_tol=0.2)


def test_filters_in_sql(store: Store) -> None:
    save_label(store, Label(RUN_A, "ex3", "ann", "incorrect", ["hallucination"]))
    everything = page_examples(store, RUN_A, ExampleFilter(), limit=4)
    assert everything.total == 6 and [r.example_id for r in everything.rows] == [
        "ex0",
        "ex1",
        "ex2",
        "ex3",
    ]
    failed = page_examples(store, RUN_A, ExampleFilter(failed="exact_match"))
    assert [r.example_id for r in failed.rows] == ["ex1", "ex3", "ex5"]
    assert page_examples(store, RUN_A, ExampleFilter(verdict="incorrect")).total == 1
    assert page_examples(store, RUN_A, ExampleFilter(verdict="unlabelled")).total == 5
    assert page_examples(store, RUN_A, ExampleFilter(category="hallucination")).rows[0].labels
    assert page_examples(store, RUN_A, ExampleFilter(search="LYON")).total == 2
    assert page_examples(store, RUN_A, ExampleFilter(search="100%_")).total == 0


def test_diff_marks_changed_words() -> None:
    left, right = diff_pieces("Paris is the capital", "Lyon is the capital")
    assert [(p.text, p.changed) for p in left] == [("Paris", True), (" is the capital", False)]
    assert [(p.text, p.changed) for p in right] == [("Lyon", True), (" is the capital", False)]


def test_vote_is_a_human_battle_recorded_once(store: Store) -> None:
    ticket = new_ticket(store, [RUN_A, RUN_B], "ann", rng=random.Random(1))
    first = vote(store, ticket.id, "a", "ann")
    again = vote(store, ticket.id, "b", "ann")
    assert first.recorded and not again.recorded and again.ticket.winner == "model_a"
    (battle,) = load_battles(store, "human")
    assert (battle.run_a, battle.run_b, battle.decided_by) == (
        ticket.left_run,
        ticket.right_run,
        "ann",
    )
    assert battle.model_a == first.model_a and battle.winner == "model_a"
    with pytest.raises(AssayError, match="another reviewer"):
        vote(store, new_ticket(store, [RUN_A, RUN_B], "ann").id, "a", "bob")


def test_preferences_for_dpo(store: Store) -> None:
    ticket = new_ticket(store, [RUN_A, RUN_B], "ann", rng=random.Random(3))
    vote(store, ticket.id, "b", "ann")
    tie = new_ticket(store, [RUN_A, RUN_B], "ann")
    vote(store, tie.id, "tie", "ann")
    (pref,) = preferences(store)
    answers = {RUN_A: None, RUN_B: None}
    page = {
        run: page_examples(store, run, ExampleFilter(search=ticket.example_id)) for run in answers
    }
    chosen = next(r for r in page[ticket.right_run].rows if r.example_id == ticket.example_id)
    rejected = next(r for r in page[ticket.left_run].rows if r.example_id == ticket.example_id)
    assert (pref.prompt, pref.chosen, pref.rejected) == (
        chosen.input,
        chosen.prediction,
        rejected.prediction,
    )


def test_error_analysis_categories_filter_and_count(store: Store) -> None:
    """Categories from `assay errors` filter the review list beside reviewers' own tags."""
    from assay.error_analysis.records import ExampleError
    from assay.error_analysis.storage import save_errors
    from assay.review.queries import category_counts

    save_errors(store, RUN_A, [ExampleError("ex1", "verbose", "medium", "3.2x", "detector")])
    save_label(store, Label(RUN_A, "ex3", "ann", "incorrect", ["verbose", "hallucination"]))
    verbose = page_examples(store, RUN_A, ExampleFilter(category="verbose"))
    assert [r.example_id for r in verbose.rows] == ["ex1", "ex3"]
    assert category_counts(store, RUN_A) == {"verbose": 2, "hallucination": 1}


CSV_CASES = json.loads((Path(__file__).parent / "files" / "csv_injection.json").read_text())


def _csv_cells(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("case", CSV_CASES, ids=[repr(c["cell"])[:30] for c in CSV_CASES])
def test_label_csv_cells_never_start_like_a_formula(store: Store, case: dict[str, str]) -> None:
    save_label(store, Label(RUN_A, "ex1", "ann", "incorrect", [case["cell"] or "x"], case["cell"]))
    (row,) = _csv_cells(labels_text(load_labels(store, RUN_A), "csv"))
    assert row["note"] == case["shown"]
    if case["cell"].strip():
        assert row["categories"] == neutralise(case["cell"].strip())
    (label,) = load_labels(store, RUN_A)  # the store and the JSONL keep the text as written
    assert label.note == case["cell"]
    assert json.loads(labels_text([label], "jsonl"))["note"] == case["cell"]


@pytest.mark.parametrize("case", CSV_CASES, ids=[repr(c["cell"])[:30] for c in CSV_CASES])
def test_preference_csv_cells_never_start_like_a_formula(case: dict[str, str]) -> None:
    pref = Preference(case["cell"], case["cell"], "no", "=model", "b", "ex1", "@ann")
    (row,) = _csv_cells(preferences_text([pref], "csv"))
    assert (row["prompt"], row["chosen"], row["rejected"]) == (case["shown"], case["shown"], "no")
    assert (row["chosen_model"], row["reviewer"]) == ("'=model", "'@ann")
    assert json.loads(preferences_text([pref], "jsonl"))["prompt"] == case["cell"]


def test_preferences_export_by_extension(store: Store, tmp_path: Path) -> None:
    ticket = new_ticket(store, [RUN_A, RUN_B], "ann", rng=random.Random(3))
    vote(store, ticket.id, "b", "ann")
    assert _csv_cells(export_preferences(store, tmp_path / "p.csv").read_text())[0]["reviewer"]
    assert json.loads(export_preferences(store, tmp_path / "p.jsonl").read_text())["reviewer"]
    with pytest.raises(OptionError, match=r"\.jsonl or \.csv"):
        export_preferences(store, tmp_path / "p.txt")
    assert not (tmp_path / "p.txt").exists()


@pytest.mark.parametrize(
    ("label", "error", "fragment"),
    [
        (Label("nosuchrun000", "ex1", "ann", "correct"), NotFoundError, "no run 'nosuchrun000'"),
        (Label(RUN_A[:6], "ex1", "ann", "correct"), NotFoundError, "full id"),
        (Label(RUN_A, "ex99", "ann", "correct"), NotFoundError, "has no example 'ex99'"),
        (Label(RUN_A, "ex1", " ", "correct"), OptionError, "reviewer needs a name"),
        (Label(RUN_A, "ex1", "a" * 129, "correct"), OptionError, "at most 128"),
        (Label(RUN_A, "ex1", "ann\nbob", "correct"), OptionError, "control character"),
        (Label(RUN_A, "ex1", "ann", "correct", ["c" * 129]), OptionError, "at most 128"),
        (Label(RUN_A, "ex1", "ann", "correct", note="a\x00b"), OptionError, "NUL"),
        (Label(RUN_A, "ex1\x00", "ann", "correct"), OptionError, "NUL"),
    ],
)
def test_a_label_for_nothing_or_with_a_bad_field_is_refused_and_not_stored(
    store: Store, label: Label, error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match=re.escape(fragment)):
        save_label(store, label)
    assert load_labels(store, RUN_A) == [] and load_labels(store, label.run_id) == []


def test_failed_examples_are_never_drawn_for_a_blind_pair(store: Store) -> None:
    drawn = {
        new_ticket(store, [RUN_A, RUN_FAILED], "ann", rng=random.Random(seed)).example_id
        for seed in range(40)
    }
    assert drawn == {"ex0", "ex2", "ex3", "ex5"}  # ex1 and ex4 failed in RUN_FAILED

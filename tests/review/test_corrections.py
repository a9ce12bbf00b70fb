"""Fixing the test set: flag a reference and propose a correction, a second reviewer
decides, the fixed set is exported with a changelog, check-data lists what is still
flagged, and runs on the old and the fixed set say which references changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.card.card_data import store_run
from typer.testing import CliRunner

from assay.cli import app
from assay.exceptions import AssayError, NotFoundError, OptionError
from assay.metrics.base import Score
from assay.review.corrections import (
    apply_corrections,
    decide,
    flag_reference,
    flags_on,
    list_flags,
)
from assay.runs.records import ExampleResult
from assay.store import Store, open_store

ROWS = [
    {"id": "q1", "question": "Capital of France?", "answer": "Paris", "topic": "geo"},
    {"id": "q2", "question": "Capital of Australia?", "answer": "Sydney", "topic": "geo"},
    {"id": "q3", "question": "2 + 2?", "answer": "4", "topic": "maths"},
    {"id": "q4", "question": "Largest planet?", "answer": "Saturn", "topic": "space"},
]


def _results(rows: list[dict[str, str]], run: str) -> list[ExampleResult]:
    return [
        ExampleResult(
            example_id=row["id"],
            position=i,
            input=row["question"],
            reference=row["answer"],
            prompt=row["question"],
            prediction="Canberra" if row["id"] == "q2" else row["answer"],
            metadata={"topic": row["topic"]},
            scores={"exact_match": Score(float(row["id"] != "q2"))},
        )
        for i, row in enumerate(rows)
    ]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "test.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "c.db"
    with open_store(str(path)) as store:
        store_run(store, "old000000001", "old", _results(ROWS, "old"), dataset="test.jsonl")
    return path


@pytest.fixture
def store(db: Path) -> Store:
    opened = open_store(str(db))
    yield opened  # type: ignore[misc]
    opened.close()


def test_a_second_reviewer_decides_and_the_export_applies_it(
    store: Store, data: Path, tmp_path: Path
) -> None:
    flag = flag_reference(
        store, "old", "q2", "ann", "wrong", proposed="Canberra", note="Sydney is not the capital"
    )
    assert flag.original == "Sydney" and flag.status == "open" and flag.dataset == "test.jsonl"
    with pytest.raises(AssayError, match="a second reviewer accepts or rejects it"):
        decide(store, flag.id, "ann", accept=True)
    accepted = decide(store, flag.id, "bob", accept=True, note="checked")
    assert accepted.status == "accepted" and accepted.decided_by == "bob"
    with pytest.raises(AssayError, match="accepted already, by bob"):
        decide(store, flag.id, "cy", accept=False)
    other = flag_reference(store, "old", "q4", "bob", "outdated", proposed="Jupiter")
    decide(store, other.id, "ann", accept=False, note="keep it")
    flag_reference(store, "old", "q3", "cy", "ambiguous", note="four or 4?")

    out = tmp_path / "fixed.jsonl"
    result = apply_corrections(store, data, out)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[1] == {**ROWS[1], "answer": "Canberra"}  # every column kept, the reference fixed
    assert rows[3] == ROWS[3]  # rejected: unchanged
    assert [c.example_id for c in result.changes] == ["q2"]
    (change,) = [json.loads(line) for line in result.changelog.read_text().splitlines()]
    assert change["before"] == "Sydney" and change["after"] == "Canberra"
    assert change["flagged_by"] == "ann" and change["decided_by"] == "bob"
    assert change["reason"] == "wrong" and change["note"] == "Sydney is not the capital"
    assert [f.example_id for f in result.still_open] == ["q3"]


def test_a_correction_applies_only_to_the_text_it_corrected(
    store: Store, data: Path, tmp_path: Path
) -> None:
    flag = flag_reference(store, "old", "q2", "ann", "wrong", proposed="Canberra")
    decide(store, flag.id, "bob", accept=True)
    edited = tmp_path / "edited.jsonl"
    rows = [dict(row) for row in ROWS]
    rows[1]["answer"] = "Canberra, ACT"  # someone fixed the file by hand meanwhile
    edited.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = apply_corrections(store, edited, tmp_path / "out.jsonl")
    assert result.changes == [] and [f.id for f in result.stale] == [flag.id]


def test_bad_flags_are_refused(store: Store) -> None:
    with pytest.raises(OptionError, match="reason must be one of"):
        flag_reference(store, "old", "q1", "ann", "boring")
    with pytest.raises(OptionError, match="reference as it stands"):
        flag_reference(store, "old", "q1", "ann", "wrong", proposed=" Paris ")
    with pytest.raises(NotFoundError, match="no example 'q9'"):
        flag_reference(store, "old", "q9", "ann", "wrong")
    bare = flag_reference(store, "old", "q1", "ann", "ambiguous")
    with pytest.raises(OptionError, match="needs a proposed reference"):
        decide(store, bare.id, "bob", accept=True)
    again = flag_reference(store, "old", "q1", "ann", "wrong", proposed="Paris, France")
    assert [f.id for f in list_flags(store, status="open")] == [again.id]  # replaced


def test_the_commands_flag_decide_list_apply_and_check_data(
    db: Path, data: Path, tmp_path: Path
) -> None:
    run = CliRunner()
    flagged = run.invoke(
        app,
        [
            "corrections",
            "flag",
            "old",
            "q2",
            "--reviewer",
            "ann",
            "--propose",
            "Canberra",
            "--db",
            str(db),
        ],
    )
    assert flagged.exit_code == 0, flagged.output
    flag_id = flagged.output.split()[1].rstrip(":")
    checked = run.invoke(app, ["check-data", str(data), "--no-coverage", "--db", str(db)])
    assert checked.exit_code == 0, checked.output
    assert "1 references flagged and still open" in checked.output and flag_id in checked.output
    mine = run.invoke(app, ["corrections", "accept", flag_id, "--reviewer", "ann", "--db", str(db)])
    assert mine.exit_code == 1 and "second reviewer" in mine.output
    accepted = run.invoke(
        app, ["corrections", "accept", flag_id, "--reviewer", "bob", "--db", str(db)]
    )
    assert accepted.exit_code == 0 and "accepted by bob" in accepted.output
    listed = run.invoke(app, ["corrections", "list", "--db", str(db)])
    assert "accepted" in listed.output and "Canberra" in listed.output
    out = tmp_path / "fixed.jsonl"
    applied = run.invoke(app, ["corrections", "apply", str(data), "-o", str(out), "--db", str(db)])
    assert applied.exit_code == 0, applied.output
    assert "'Sydney' → 'Canberra'" in applied.output and "1 corrected" in applied.output
    assert (tmp_path / "fixed.jsonl.changes.jsonl").exists()
    rechecked = run.invoke(app, ["check-data", str(out), "--no-coverage", "--db", str(db)])
    assert "still open" not in rechecked.output


def test_runs_on_the_old_and_the_fixed_set_say_which_references_changed(
    store: Store, db: Path
) -> None:
    fixed = [dict(row) for row in ROWS]
    fixed[1]["answer"] = "Canberra"
    store_run(
        store,
        "new000000001",
        "new",
        _results(fixed, "new"),
        dataset="fixed.jsonl",
        dataset_fingerprint="fixed-fp",
    )
    compared = CliRunner().invoke(app, ["compare", "old", "new", "--db", str(db)])
    assert compared.exit_code == 0, compared.output
    text = " ".join(compared.output.split())
    assert "matched by id" in text and "1 reference differs between the runs" in text
    assert "q2: 'Sydney' → 'Canberra'" in text


def test_flags_on_a_set_match_id_and_the_flagged_text(store: Store, tmp_path: Path) -> None:
    from assay.data import load_dataset

    flag_reference(store, "old", "q2", "ann", "wrong", proposed="Canberra")
    rows = [dict(row) for row in ROWS]
    assert [f.example_id for f in flags_on(store, load_dataset(_write(rows, tmp_path)))] == ["q2"]
    rows[1]["answer"] = "Canberra"
    assert flags_on(store, load_dataset(_write(rows, tmp_path))) == []


def _write(rows: list[dict[str, str]], folder: Path) -> str:
    path = folder / f"set{len(list(folder.iterdir()))}.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)

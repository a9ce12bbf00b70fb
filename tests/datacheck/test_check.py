"""check_data on small sets with planted problems, and `assay check-data --strict`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli import app
from assay.data import Example
from assay.datacheck import CheckOptions, check_data

WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "nova",
    "oscar",
    "papa",
]


def question(i: int) -> str:
    return " ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] + str(i * 31 + k) for k in range(6)) + "?"


TEST = [Example(str(i), question(i), f"answer {i}") for i in range(20)]
TEST += [
    Example("dup", "  " + question(3).upper(), "answer 3"),  # exact duplicate of 3
    Example("near", question(5)[:-4] + "zz?", "answer 5"),  # near duplicate of 5
    Example("conflict", question(7), "a different answer"),  # conflicts with 7
    Example("empty", "What is nothing?", ""),
]
LONG = "the quick brown fox jumps over the lazy dog while the cat watches from the old wooden fence"
TRAIN = [
    Example(f"t{i}", f"training question number {i} about {WORDS[i % 16]}", "x") for i in range(50)
]
TRAIN += [
    Example("leak_pair", question(10), "answer 10"),
    Example("leak_near", question(11)[:-3] + "q?", "y"),
    Example(
        "leak_ngram",
        "A long training document on gardening, weather and history. "
        + LONG
        + " and then many more words on other topics follow here",
        "z",
    ),
]
TEST.append(Example("long", "Please continue: " + LONG + " and then", "ok"))
FAST = CheckOptions(coverage=False)


def test_planted_duplicates_conflicts_and_references() -> None:
    report = check_data(TEST, options=FAST)
    groups = {(d.kind, tuple(d.example_ids)) for d in report.duplicates}
    assert ("exact", ("3", "dup")) in groups
    assert ("exact", ("7", "conflict")) in groups
    assert ("near", ("5", "near")) in groups
    assert len(groups) == 3
    assert [c.example_ids for c in report.conflicts] == [["7", "conflict"]]
    assert {(i.example_id, i.issue) for i in report.reference_issues} >= {
        ("empty", "empty_reference")
    }
    assert report.lengths.loc["input_chars", "count"] == len(TEST)
    assert report.has_problems and report.leaks == []


def test_planted_leaks_with_their_training_rows() -> None:
    report = check_data(TEST, TRAIN, FAST)
    leaks = {leak.example_id: (leak.kind, leak.train_ids) for leak in report.leaks}
    assert leaks == {
        "10": ("exact_pair", ["leak_pair"]),
        "11": ("near", ["leak_near"]),
        "long": ("ngram", ["leak_ngram"]),
    }


def test_clean_set_has_no_problems() -> None:
    report = check_data(TEST[:20], TRAIN[:50], FAST)
    assert not report.has_problems and report.to_pandas().empty


def write(path: Path, examples: list[Example]) -> Path:
    path.write_text(
        "".join(
            json.dumps({"id": e.id, "question": e.input, "answer": e.reference}) + "\n"
            for e in examples
        )
    )
    return path


def test_cli_strict_exit_code(tmp_path: Path) -> None:
    test, train = write(tmp_path / "test.jsonl", TEST), write(tmp_path / "train.jsonl", TRAIN)
    clean = CliRunner().invoke(
        app,
        ["check-data", str(write(tmp_path / "c.jsonl", TEST[:20])), "--no-coverage", "--strict"],
    )
    assert clean.exit_code == 0, clean.output
    found = CliRunner().invoke(
        app, ["check-data", str(test), "--train", str(train), "--no-coverage", "--strict"]
    )
    assert found.exit_code == 4, found.output
    assert "leak_exact_pair" in found.output and "duplicate_near" in found.output


@pytest.mark.slow
def test_coverage_clusters_and_blind_spots(tmp_path: Path) -> None:
    cooking = [
        Example(f"c{i}", f"How long should I bake {food} in the oven?", "x")
        for i, food in enumerate(["bread", "cake", "cookies", "pie", "muffins", "lasagna"])
    ]
    code = [
        Example(f"p{i}", f"How do I {task} in Python?", "x")
        for i, task in enumerate(
            [
                "sort a list",
                "read a file",
                "parse JSON",
                "write a class",
                "open a socket",
                "use a dict",
            ]
        )
    ]
    cars = [
        Example(f"r{i}", f"How often should I change the {part} of my car?", "x")
        for i, part in enumerate(["oil", "tyres", "brakes", "battery", "filter", "wipers"])
    ]
    plot = tmp_path / "c.png"
    report = check_data(cooking + code, cooking + code + cars, CheckOptions(clusters=3))
    assert report.coverage is not None
    assert sorted(c.size for c in report.coverage.clusters)[-1] <= 8
    spots = report.coverage.blind_spots
    assert len(spots) == 1 and all("car" in text for text in spots[0].examples)
    result = CliRunner().invoke(
        app,
        [
            "check-data",
            str(write(tmp_path / "t.jsonl", cooking + code)),
            "--clusters",
            "2",
            "--plot",
            str(plot),
        ],
    )
    assert result.exit_code == 0, result.output
    assert plot.exists()

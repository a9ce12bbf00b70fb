"""compare_runs on hand-built runs with a known answer, warnings, and the exit codes."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pytest
from tests.runs_builder import make_run
from typer.testing import CliRunner

import assay
from assay.cli import app
from assay.compare import compare_runs, stats
from assay.exceptions import DataError
from assay.models.base import GenerationParams
from assay.runs.records import EvalConfig
from assay.store import open_store


def runs(a_pass: list[int], b_pass: list[int], **b_info: object):  # type: ignore[no-untyped-def]
    a = make_run(
        [{"prediction": "a", "scores": {"exact_match": v}} for v in a_pass], "runaaaaaaaaa"
    )
    b = make_run(
        [{"prediction": "b", "scores": {"exact_match": v}} for v in b_pass],
        "runbbbbbbbbb",
        **b_info,
    )
    return a, b


def test_known_regression_is_significant() -> None:
    a, b = runs([1] * 40, [1] * 25 + [0] * 15)
    result = compare_runs(a, b)
    m = result.metrics[0]
    assert (m.test, m.verdict) == ("mcnemar", "worse")
    assert m.diff == pytest.approx(-15 / 40)
    assert m.p_value == pytest.approx(2 * 0.5**15)
    assert m.ci_high < 0
    assert result.counts() == {"broken": 15, "fixed": 0, "both_wrong": 0, "both_right": 25}
    assert result.regressed() and result.mismatches == []


def test_small_change_is_not_significant_and_scores_use_permutation() -> None:
    a = make_run([{"prediction": "x", "scores": {"f1": 0.5 + 0.01 * (i % 3)}} for i in range(30)])
    b = make_run(
        [{"prediction": "y", "scores": {"f1": 0.5 + 0.01 * ((i + 1) % 3)}} for i in range(30)], "r2"
    )
    m = compare_runs(a, b).metrics[0]
    assert m.test == "permutation" and m.verdict == "same" and m.p_value > 0.05


def test_permutation_test_is_calibrated_on_a_simulated_null() -> None:
    # Two runs of the same model: each example has its own difficulty and both runs
    # draw independently around it, so B - A is symmetric about 0.
    rng = np.random.default_rng(20240601)
    began = time.perf_counter()
    p_values = []
    for sim in range(300):
        difficulty = rng.beta(2, 2, 100)
        a = np.clip(difficulty + rng.normal(0, 0.15, 100), 0, 1)
        b = np.clip(difficulty + rng.normal(0, 0.15, 100), 0, 1)
        p_values.append(stats.permutation_test(b - a, rounds=500, seed=sim))
    p = np.array(p_values)
    assert 0.02 <= np.mean(p < 0.05) <= 0.09
    assert 0.14 <= np.mean(p < 0.2) <= 0.26  # uniform beyond the 5% tail too
    assert time.perf_counter() - began < 5


def test_permutation_test_matches_full_enumeration_both_ways() -> None:
    diff = np.array([0.3, 0.1, 0.25, -0.05, 0.4, 0.15, 0.2, -0.1])
    flips = np.array(list(itertools.product((-1, 1), repeat=diff.size)))
    exact = float(np.mean(np.abs(flips @ diff) >= abs(diff.sum()) - 1e-12))
    for sign in (1, -1):  # two-sided: a drop is as significant as a gain
        p = stats.permutation_test(sign * diff, rounds=40_000, seed=1)
        assert p == pytest.approx(exact, abs=0.006)
    # the scale of the scores (0-1 or 0-100) does not change the p-value
    assert stats.permutation_test(100 * diff, rounds=2000, seed=2) == stats.permutation_test(
        diff, rounds=2000, seed=2
    )


def test_match_by_input_when_ids_differ_and_error_on_small_overlap() -> None:
    a = make_run(
        [
            {
                "example_id": f"a{i}",
                "input": f"q{i}",
                "prediction": "",
                "scores": {"exact_match": 1},
            }
            for i in range(10)
        ]
    )
    b = make_run(
        [
            {
                "example_id": f"b{i}",
                "input": f"q{i}",
                "prediction": "",
                "scores": {"exact_match": 1},
            }
            for i in range(10)
        ],
        "r2",
    )
    assert compare_runs(a, b).matched_by == "input"
    c = make_run(
        [
            {
                "input": f"other {i}",
                "example_id": f"c{i}",
                "prediction": "",
                "scores": {"exact_match": 1},
            }
            for i in range(10)
        ],
        "r3",
    )
    with pytest.raises(DataError, match="share only 0 of 10"):
        compare_runs(a, c)


def test_not_comparable_fields_are_named() -> None:
    warm = EvalConfig(generation=GenerationParams(temperature=0.7))
    a, b = runs([1, 0], [1, 0], dataset_fingerprint="other", config=warm)
    fields = {m.field for m in compare_runs(a, b).mismatches}
    assert fields == {"dataset_fingerprint", "generation.temperature"}


def test_cli_exit_codes(tmp_path: Path) -> None:
    db = str(tmp_path / "runs.db")
    a, b = runs([1] * 40, [1] * 25 + [0] * 15, dataset_fingerprint="fp2")
    with open_store(db) as store:
        for run in (a, b):
            store.create_run(run.info)
            store.add_results(run.id, run.results)
    plain = CliRunner().invoke(app, ["compare", a.id, b.id, "--db", db])
    assert plain.exit_code == 0, plain.output
    assert "dataset_fingerprint differs" in plain.output and "broken (15)" in plain.output
    gated = CliRunner().invoke(app, ["compare", a.id, b.id, "--db", db, "--fail-on-regression"])
    assert gated.exit_code == 3
    improved = CliRunner().invoke(app, ["compare", b.id, a.id, "--db", db, "--fail-on-regression"])
    assert improved.exit_code == 0
    missing = CliRunner().invoke(app, ["compare", a.id, "zzzzzz", "--db", db])
    assert missing.exit_code == 1


def shorter_and_better(tmp_path: Path) -> tuple[str, str, str]:
    """Run A answers in 9 words, half of them right; B in 1 or 2 words, all right: f1
    better, length down beyond noise. Stored, as the CLI reads them: (db, A, B)."""
    a = make_run(
        [{"prediction": "long", "scores": {"f1": i % 2, "length": 9}} for i in range(40)],
        "runaaaaaaaaa",
    )
    b = make_run(
        [{"prediction": "short", "scores": {"f1": 1, "length": 1 + i % 2}} for i in range(40)],
        "runbbbbbbbbb",
    )
    db = str(tmp_path / "runs.db")
    with open_store(db) as store:
        for run in (a, b):
            store.create_run(run.info)
            store.add_results(run.id, run.results)
    return db, a.id, b.id


def test_a_length_that_moved_changed_and_is_no_regression(tmp_path: Path) -> None:
    db, a, b = shorter_and_better(tmp_path)
    with open_store(db) as store:
        result = compare_runs(store.load_run(a), store.load_run(b))
    verdicts = {m.metric: (m.verdict, m.higher_is_better) for m in result.metrics}
    assert verdicts == {"f1": ("better", True), "length": ("changed", None)}
    assert not result.regressed() and result.main_metric == "f1"
    # Reversed, f1 is worse: that alone is the regression, not the longer answers.
    with open_store(db) as store:
        back = compare_runs(store.load_run(b), store.load_run(a))
    assert [m.verdict for m in back.metrics] == ["worse", "changed"]
    assert back.regressed("f1") and not back.regressed("length")
    gated = CliRunner().invoke(app, ["compare", a, b, "--db", db, "--fail-on-regression"])
    assert gated.exit_code == 0, gated.output
    assert "changed" in gated.output and "regression" not in gated.output


def test_a_length_never_decides_right_and_wrong(tmp_path: Path) -> None:
    db, a, b = shorter_and_better(tmp_path)
    asked = CliRunner().invoke(app, ["compare", a, b, "--db", db, "--metric", "length"])
    assert asked.exit_code == 1
    assert (
        "--metric length has no better direction" in asked.output
        and "choose one of: f1" in asked.output
    )
    only_lengths = [
        make_run([{"prediction": "x", "scores": {"length": 3}}] * 4, name) for name in ("r1", "r2")
    ]
    with pytest.raises(DataError, match=r"share only metrics with no better direction \(length\)"):
        compare_runs(*only_lengths)


def test_a_tool_rows_change_lists_the_turn_it_answers(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    db = str(tmp_path / "runs.db")
    run = assay.evaluate(
        f"replay:{root / 'tests/error_analysis/files/tool_predictions.jsonl'}",
        root / "examples/tools/test.jsonl",
        ["tool_name"],
        store=db,
        progress=False,
    )
    changes = {e.example_id: e for e in compare_runs(run, run).examples}
    assert changes["tools-001"].question == "User: What's the weather in Paris right now?"
    assert changes["tools-015"].question == "User: And in Berlin?"
    assert changes["tools-001"].input.startswith("Tools: get_weather(city, unit?)")  # all of it

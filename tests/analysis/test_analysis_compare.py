"""compare_runs on hand-built runs with a known answer, warnings, and the exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.analysis.conftest import make_run
from typer.testing import CliRunner

from assay.analysis import compare_runs
from assay.cli import app
from assay.errors import DataError
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
    a, b = runs([1, 0], [1, 0], dataset_fingerprint="other", generation_params={"temperature": 0.7})
    fields = {m.field for m in compare_runs(a, b).mismatches}
    assert fields == {"dataset_fingerprint", "generation_params.temperature"}


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

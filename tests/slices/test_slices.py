"""Slices: a run's metrics per value of a metadata field, and paired differences per value;
every slice with its own n and interval, small slices flagged."""

from __future__ import annotations

import pytest
from tests.runs_builder import make_run
from typer.testing import CliRunner

from assay.cli import app
from assay.exceptions import OptionError
from assay.slices import NO_VALUE, SMALL_SLICE, compare_slices, slice_summaries
from assay.store import open_store


def _rows(right: set[int], n: int = 50) -> list[dict[str, object]]:
    topics = ["cli"] * 30 + ["data"] * 15 + [None] * 5
    return [
        {
            "example_id": f"ex{i}",
            "prediction": "yes" if i in right else "no",
            "metadata": {"topic": topics[i]} if topics[i] else {},
            "scores": {"exact_match": float(i in right), "f1": 0.5 if i in right else 0.25},
        }
        for i in range(n)
    ]


def test_run_summary_by_a_field_has_a_row_per_slice_and_metric() -> None:
    run = make_run(_rows(set(range(0, 50, 2))))
    frame = run.summary(by="topic")
    assert list(frame.index.names) == ["topic", "metric"]
    assert list(frame.index.get_level_values("topic").unique()) == ["cli", "data", NO_VALUE]
    cli = frame.loc[("cli", "exact_match")]
    assert cli["n"] == 30 and cli["mean"] == pytest.approx(0.5)
    assert 0.0 <= cli["ci_low"] < 0.5 < cli["ci_high"] <= 1.0  # Wilson: inside 0-1
    assert not cli["small"] and frame.loc[("data", "f1")]["small"]
    assert frame.loc[(NO_VALUE, "exact_match")]["n"] == 5
    # Without by, the summary keeps its shape: one row per metric.
    assert run.summary().index.name == "metric"


def test_a_field_no_example_has_names_the_fields_there_are() -> None:
    run = make_run(_rows(set()))
    with pytest.raises(OptionError, match=r"'difficulty': no example has this field.*topic"):
        run.summary(by="difficulty")


def test_failed_examples_are_in_no_slice() -> None:
    rows = _rows({0, 1, 2})
    rows[0] = {**rows[0], "finish_reason": "error", "scores": {}}
    (cli_em, *_) = slice_summaries(make_run(rows), "topic")
    assert cli_em.value == "cli" and cli_em.summary.n == 29


def test_paired_slices_use_the_whole_comparisons_rule() -> None:
    base = make_run(_rows(set(range(0, 50, 2))), run_id="base0000aaaa")
    tuned = make_run(_rows(set(range(50))), run_id="tune0000aaaa")
    slices = compare_slices(base, tuned, "topic")
    assert [(s.value, s.n, s.small) for s in slices] == [
        ("cli", 30, False),
        ("data", 15, True),
        (NO_VALUE, 5, True),
    ]
    cli = slices[0].comparison
    exact = next(m for m in cli.metrics if m.metric == "exact_match")
    assert exact.diff == pytest.approx(0.5) and exact.test == "mcnemar" and exact.significant
    assert cli.counts()["fixed"] == 15 and cli.threshold == 1.0
    assert SMALL_SLICE == 20


def test_show_summary_and_compare_take_by(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "s.db"
    with open_store(str(db)) as store:
        for run in (
            make_run(_rows(set(range(0, 50, 2))), run_id="base0000aaaa", name="base"),
            make_run(_rows(set(range(50))), run_id="tune0000aaaa", name="tuned"),
        ):
            store.create_run(run.info)
            store.add_results(run.id, run.results)
            from assay.metrics.intervals import summarize

            store.save_summary(
                run.id,
                {
                    m: summarize(m, [r.scores[m].value for r in run.results if m in r.scores])
                    for m in ("exact_match", "f1")
                },
            )
            store.end_run(run.id, "complete", seconds=1.0)
    shown = CliRunner().invoke(app, ["show", "base", "--summary", "--by", "topic", "--db", str(db)])
    assert shown.exit_code == 0, shown.output
    assert "cli" in shown.output and "small" in shown.output and "(none)" in shown.output
    compared = CliRunner().invoke(
        app, ["compare", "base", "tuned", "--by", "topic", "--db", str(db)]
    )
    assert compared.exit_code == 0, compared.output
    assert "by topic" in compared.output and "better" in compared.output
    alone = CliRunner().invoke(app, ["show", "base", "--by", "topic", "--db", str(db)])
    assert alone.exit_code == 1 and "--by goes with --summary" in alone.output

"""The card: base against fine-tune on the task, the errors and the benchmarks; runs
matched by name or id; refusals with their reason; the page and the terminal summary."""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import re
from pathlib import Path

import pytest
from tests.card.card_data import (
    BASE_RIGHT,
    TUNED_RIGHT,
    bench_config,
    bench_results,
    qa_results,
    store_run,
    write_loop,
)
from typer.testing import CliRunner

from assay.card import build_card, card_html
from assay.cli import app
from assay.exceptions import AssayError, StoreError
from assay.store import Store, open_store


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "loop.db"
    with open_store(str(path)) as store:
        write_loop(store)
    return path


@pytest.fixture
def store(db: Path) -> Store:
    opened = open_store(str(db))
    yield opened  # type: ignore[misc]
    opened.close()


def test_the_task_is_paired_and_the_fixed_examples_are_named(store: Store) -> None:
    card = build_card(store, "base", ["ft-v1"], by="topic")
    (part,) = card.tuned
    (section,) = part.tasks
    assert section.base.id == "base00000001" and section.tuned.id == "tune00000001"
    exact = next(m for m in section.comparison.metrics if m.metric == "exact_match")
    assert exact.a == pytest.approx(len(BASE_RIGHT) / 30)
    assert exact.b == pytest.approx(len(TUNED_RIGHT) / 30)
    assert exact.test == "mcnemar" and exact.verdict == "better"
    counts = section.comparison.counts()
    assert counts["fixed"] == len(TUNED_RIGHT - BASE_RIGHT) and counts["broken"] == 0
    # The headline names every metric that moved, not the main one only; a length
    # has no better direction: it changed.
    (line,) = card.headline()
    assert "better on qa/test.jsonl: exact_match 0.333 → 0.633" in line
    assert "Also beyond noise: length changed 36.667 → 2.000 (-34.667" in line
    # Slices: one per topic, each with its own n, all flagged small (10 < 20).
    assert [(s.value, s.n, s.small) for s in section.slices] == [
        ("cli", 10, True),
        ("data", 10, True),
        ("store", 10, True),
    ]


def test_errors_before_and_after_say_what_was_fixed(store: Store) -> None:
    (section,) = build_card(store, "base", ["ft-v1"]).tuned[0].tasks
    shifts = {s.category: s for s in section.errors}
    verbose = shifts["verbose"]
    assert verbose.before == 30 - len(BASE_RIGHT) and verbose.after == 0
    assert len(verbose.fixed) == verbose.before and verbose.introduced == ()
    before, after = section.categories["qa-001"]
    assert "verbose" in before and "verbose" not in after


def test_benchmarks_are_paired_per_task_and_a_drop_is_said_plainly(store: Store) -> None:
    bench = build_card(store, "base", ["ft-v1"]).tuned[0].bench
    assert bench is not None
    arc = next(t for t in bench.tasks if t.task == "arc_challenge")
    assert arc.shots == 25 and arc.main_metric == "acc_norm"
    main = arc.main
    assert main is not None and main.test == "mcnemar" and main.n == 60
    assert main.a == pytest.approx(0.6) and main.b == pytest.approx(20 / 60)
    assert main.verdict == "worse" and main.p_value < 0.001
    tqa = next(t for t in bench.tasks if t.task == "truthfulqa_mc2")
    assert tqa.main is not None and tqa.main.test == "permutation"
    assert bench.sentence.startswith("General ability dropped beyond noise on arc_challenge")
    assert "truthfulqa" not in bench.sentence  # mc2 moved by 0.01 on 20 questions: noise


def test_the_training_curve_marks_the_best_step(store: Store) -> None:
    curve = build_card(store, "base", ["ft-v1"]).tuned[0].curve
    assert curve is not None and curve.group == "ft-v1"
    assert [p.step for p in curve.points] == [0, 10, 20]
    assert curve.best["exact_match"] == 20
    assert "length" not in curve.best  # no better direction: no best step


def test_runs_on_other_shots_or_other_examples_are_refused_with_the_reason(store: Store) -> None:
    store_run(
        store,
        "zero00000001",
        "ft-zero",
        bench_results(set(range(30)), 0.4, shots=0),
        kind="bench",
        dataset="arc_challenge,truthfulqa_mc2",
        dataset_fingerprint="bench0",
        config=bench_config(shots=0),
    )
    other = qa_results(TUNED_RIGHT, verbose=False)
    for r in other:
        r.example_id = "other-" + r.example_id
    store_run(
        store, "othr00000001", "ft-zero", other, dataset="other.jsonl", dataset_fingerprint="o"
    )
    card = build_card(store, "base", ["ft-v1", "ft-zero"])
    reasons = {r.reason.split(":")[0] for r in card.refusals}
    assert reasons == {"other shots", "other examples"}
    shots = next(r for r in card.refusals if r.reason.startswith("other shots"))
    assert "arc_challenge ran 0-shot in the fine-tune and 25-shot in the base" in shots.reason


def test_names_and_ids_both_work_and_ambiguous_names_list_the_runs(store: Store) -> None:
    by_id = build_card(store, "base00000001", ["tune00000001"])
    assert by_id.tuned[0].tasks[0].tuned.id == "tune00000001"
    assert by_id.tuned[0].bench is None  # an id names one run: the eval run
    store_run(store, "dupl00000001", "ft-v1", qa_results(BASE_RIGHT, verbose=False), minutes=9)
    with pytest.raises(StoreError, match=r"'ft-v1' names 2 runs of one kind") as raised:
        build_card(store, "base", ["ft-v1"])
    assert "tune00000001" in str(raised.value) and "dupl00000001" in str(raised.value)


def test_nothing_to_pair_is_an_error_with_every_reason(store: Store) -> None:
    other = qa_results(TUNED_RIGHT, verbose=False)
    for r in other:
        r.example_id = "x-" + r.example_id
    store_run(store, "lone00000001", "lonely", other, dataset="x.jsonl", dataset_fingerprint="x")
    with pytest.raises(AssayError, match=r"nothing to put on the card: .*other examples: 0 of 30"):
        build_card(store, "base", ["lonely"])


def test_the_page_is_self_contained_and_allows_only_its_own_script(store: Store) -> None:
    html = card_html(build_card(store, "base", ["ft-v1"], by="topic"))
    for part in (
        'id="headline"',
        'id="task-metrics-1-1"',
        'id="task-chart-1-1"',
        'id="error-shift-1-1"',
        'id="slices-1-1"',
        'id="example-cards-1-1"',
        'id="bench-table-1"',
        'id="general-ability-1"',
        'id="curve-chart-1"',
    ):
        assert part in html, part
    assert not re.search(r'(src|href)="(?!data:|#)', html)
    (script,) = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in html_lib.unescape(html)
    assert html.count('class="example"') == 30
    assert html.count('class="example" data-outcome="fixed"') == len(TUNED_RIGHT - BASE_RIGHT)


def test_the_command_prints_the_summary_and_writes_the_page(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "card.html"
    result = CliRunner().invoke(
        app, ["card", "base", "ft-v1", "--by", "topic", "-o", str(out), "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    assert "General ability dropped beyond noise on arc_challenge" in " ".join(
        result.output.split()
    )
    assert "9 fixed" in result.output and "small" in result.output
    assert out.exists() and "ft-v1" in out.read_text()
    again = CliRunner().invoke(app, ["card", "base", "ft-v1", "-o", str(out), "--db", str(db)])
    assert again.exit_code == 1 and "--force" in again.output


def test_the_curve_command_and_runs_by_group(db: Path, tmp_path: Path) -> None:
    listed = CliRunner().invoke(app, ["runs", "--group", "ft-v1", "--db", str(db)])
    assert listed.exit_code == 0, listed.output
    assert "★" in listed.output and "ckpt00000020" in listed.output
    svg = tmp_path / "curve.svg"
    drawn = CliRunner().invoke(app, ["curve", "ft-v1", "-o", str(svg), "--db", str(db)])
    assert drawn.exit_code == 0, drawn.output
    assert svg.read_text().lstrip().startswith("<?xml")
    missing = CliRunner().invoke(app, ["curve", "nope", "--db", str(db)])
    assert missing.exit_code == 1 and "no checkpoints" in missing.output


def test_judge_and_human_verdicts_between_the_two_are_on_the_card(db: Path, store: Store) -> None:
    from assay.arena import Battle, save_battles
    from assay.review.labels import Label, save_label

    judged = [("model_b", 7), ("model_a", 2), ("tie", 1)]
    battles = [
        Battle(
            "base",
            "ft-v1",
            winner,  # type: ignore[arg-type]
            source="judge",
            run_a="base00000001",
            run_b="tune00000001",
            example_id=f"qa-{i:03d}",
        )
        for winner, n in judged
        for i in range(n)
    ]
    battles += [
        Battle("ft-v1", "base", "model_a", source="human", decided_by="ann"),
        Battle("ft-v1", "base", "tie (bothbad)", source="human", decided_by="bob"),
        # Between other runs of the same names, or other models: not these two.
        Battle("base", "ft-v1", "model_a", source="judge", run_a="base00000001", run_b="x"),
        Battle("base", "other", "model_a", source="judge"),
    ]
    save_battles(store, battles)
    for i, verdict in enumerate(("correct", "correct", "incorrect")):
        save_label(store, Label("tune00000001", f"qa-{i:03d}", "ann", verdict))

    (section,) = build_card(store, "base", ["ft-v1"]).tuned[0].tasks
    verdicts = {h.source: h for h in section.head_to_head}
    judge, human = verdicts["judge"], verdicts["human"]
    assert (judge.tuned_wins, judge.base_wins, judge.ties) == (7, 2, 1)
    assert judge.p_value == pytest.approx(0.1796875)  # two-sided sign test, 7 of 9
    assert (human.tuned_wins, human.base_wins, human.ties) == (1, 0, 1)
    assert section.labels["ft-v1"] == {"correct": 2, "incorrect": 1}
    assert section.labels["base"] == {}

    html = card_html(build_card(store, "base", ["ft-v1"]))
    assert 'id="head-to-head-1-1"' in html and 'id="labels-1-1"' in html
    assert "LLM judge" in html and "blind human votes" in html
    result = CliRunner().invoke(app, ["card", "base", "ft-v1", "--db", str(db)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "judge verdicts: ft-v1 won 7, base won 2, 1 tie (sign test p = 0.18)" in said
    assert "human labels on ft-v1: 2 correct, 1 incorrect" in said


def test_a_fine_tune_on_the_corrected_set_is_paired_by_id_and_the_changes_listed(
    db: Path, store: Store
) -> None:
    fixed = qa_results(TUNED_RIGHT, verbose=False, reference_of={1: "answer one"})
    store_run(
        store, "fixd00000001", "ft-fixed", fixed, dataset="qa/test.fixed.jsonl",
        dataset_fingerprint="qa-fixed-fp", minutes=8,
    )  # fmt: skip
    (section,) = build_card(store, "base", ["ft-fixed"]).tuned[0].tasks
    assert section.comparison.n_matched == 30
    (change,) = section.reference_changes
    assert (change.example_id, change.before, change.after) == ("qa-001", "answer 1", "answer one")
    assert 'id="reference-changes-1-1"' in card_html(build_card(store, "base", ["ft-fixed"]))
    result = CliRunner().invoke(app, ["card", "base", "ft-fixed", "--db", str(db)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "1 reference differs between the runs" in said
    assert "qa-001: 'answer 1' → 'answer one'" in said

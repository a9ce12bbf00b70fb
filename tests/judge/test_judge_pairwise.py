"""Pairwise judging in both orders: flips become ties, consistency is measured."""

from __future__ import annotations

import sys
from pathlib import Path

from assay.judge import Judge, PairItem

sys.path.insert(0, str(Path(__file__).parent))
from scripted import ScriptedModel, answers

ITEMS = [
    PairItem("q1", "r", "a long careful answer", "short", "e1"),
    PairItem("q2", "r", "tiny", "a much longer answer", "e2"),
]


def test_a_judge_that_always_picks_the_first_answer_gives_ties() -> None:
    judge = Judge(ScriptedModel(lambda user: '{"winner": "A"}'))
    verdicts = judge.compare(ITEMS)
    assert [v.winner for v in verdicts] == ["tie", "tie"]
    assert not any(v.consistent for v in verdicts)
    assert [(v.first, v.second) for v in verdicts] == [("x", "y"), ("x", "y")]


def test_a_consistent_judge_keeps_its_verdict_across_orders() -> None:
    def longer(user: str) -> str:
        a, b = answers(user)
        return "[[A]]" if len(a) > len(b) else "[[B]]"

    model = ScriptedModel(longer)
    verdicts = Judge(model).compare(ITEMS)
    assert [v.winner for v in verdicts] == ["x", "y"]
    assert all(v.consistent for v in verdicts)
    assert len(model.seen) == 4  # every pair asked in both orders, in one batch


def test_unparsable_pairs_are_retried_then_marked() -> None:
    verdicts = Judge(ScriptedModel(lambda user: "they are both answers")).compare(ITEMS[:1])
    assert verdicts[0].winner == "unparsable"

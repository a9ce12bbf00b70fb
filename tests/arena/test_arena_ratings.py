"""Ratings on battle sets small enough to check by hand, and on synthetic data with known ratings."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.arena import Battle, compute_ratings, load_battles, read_battles_file, save_battles
from assay.errors import DataError
from assay.store import open_store


def _battles(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["model_a", "model_b", "winner"])


def test_three_wins_to_one_is_odds_of_three() -> None:
    frame = _battles(*[("a", "b", "model_a")] * 3, ("b", "a", "model_a"))
    ratings = compute_ratings(frame, rounds=0).to_pandas().set_index("model")
    gap = 400 * math.log10(3)  # odds 3:1
    assert ratings.loc["a", "rating"] == pytest.approx(1000 + gap / 2, abs=1e-3)
    assert ratings.loc["b", "rating"] == pytest.approx(1000 - gap / 2, abs=1e-3)


def test_a_tie_is_half_a_win_each_way() -> None:
    with_ties = _battles(("a", "b", "model_a"), ("a", "b", "tie"), ("a", "b", "tie (bothbad)"))
    halves = _battles(*[("a", "b", "model_a")] * 4, ("a", "b", "model_b"), ("b", "a", "model_a"))
    # 1 win + 2 ties = 2 of 3 for a, odds 2:1; the second set is 4 of 6, also 2:1.
    one = compute_ratings(with_ties, rounds=0).rating
    two = compute_ratings(halves, rounds=0).rating
    assert one == pytest.approx(two, abs=1e-3)
    assert one[0] - one[1] == pytest.approx(400 * math.log10(2), abs=1e-3)


def test_anchor_pins_a_model_at_1000() -> None:
    frame = _battles(*[("a", "b", "model_a")] * 3, ("a", "b", "model_b"), ("b", "c", "model_a"))
    ratings = compute_ratings(frame, rounds=50, anchor="b").to_pandas().set_index("model")
    assert ratings.loc["b", "rating"] == pytest.approx(1000)
    assert ratings.loc["b", "ci_low"] == pytest.approx(1000)


def test_online_elo_after_one_battle_moves_by_half_k() -> None:
    ratings = compute_ratings(_battles(("a", "b", "model_a")), rounds=0)
    assert dict(zip(ratings.models, ratings.elo, strict=True)) == {"a": 1002.0, "b": 998.0}


def test_win_rates_counts_and_interval_aware_ranks() -> None:
    frame = _battles(
        *[("strong", "weak", "model_a")] * 40,
        *[("weak", "strong", "model_b")] * 10,
        *[("twin1", "twin2", "model_a")] * 10,
        *[("twin1", "twin2", "model_b")] * 10,
        *[("strong", "twin1", "model_a")] * 5,
        *[("twin2", "weak", "model_a")] * 5,
    )
    ratings = compute_ratings(frame, rounds=200)
    assert ratings.models[0] == "strong"
    assert ratings.battle_counts.loc["strong", "weak"] == 50
    assert ratings.win_rate.loc["twin1", "twin2"] == pytest.approx(0.5)
    ranks = dict(zip(ratings.models, ratings.rank, strict=True))
    assert ranks["strong"] == 1
    assert ranks["twin1"] == ranks["twin2"]  # indistinguishable: the same rank
    assert (ratings.ci_low <= ratings.rating).all() and (ratings.rating <= ratings.ci_high).all()


def test_synthetic_battles_recover_known_ratings() -> None:
    rng = np.random.default_rng(7)
    true = np.array([1200.0, 1100.0, 1000.0, 900.0, 800.0])
    n = 20_000
    a = rng.integers(0, 5, n)
    b = (a + rng.integers(1, 5, n)) % 5
    p_a = 1 / (1 + 10 ** ((true[b] - true[a]) / 400))
    names = np.array(list("vwxyz"))
    frame = pd.DataFrame(
        {
            "model_a": names[a],
            "model_b": names[b],
            "winner": np.where(rng.random(n) < p_a, "model_a", "model_b"),
        }
    )
    table = compute_ratings(frame, rounds=300).to_pandas().set_index("model")
    expected = pd.Series(true, index=names)
    assert list(table.index) == list(names)
    assert np.abs(table["rating"] - expected[table.index]).max() < 12
    assert ((table["ci_low"] <= expected) & (expected <= table["ci_high"])).mean() >= 0.8


def test_chatbot_arena_file_read_as_is(tmp_path: Path) -> None:
    path = tmp_path / "votes.jsonl"
    path.write_text(
        '{"question_id": "q1", "model_a": "x", "model_b": "y", "winner": "model_a", "turn": 1}\n'
        '{"question_id": "q2", "model_a": "y", "model_b": "x", "winner": "tie (bothbad)"}\n'
    )
    frame = read_battles_file(path)
    assert frame.to_dict("records")[1] == {
        "model_a": "y",
        "model_b": "x",
        "winner": "tie (bothbad)",
    }
    bad = tmp_path / "bad.csv"
    bad.write_text("model_a,model_b,winner\nx,y,model_a\nx,y,A\n")
    with pytest.raises(DataError, match="row 2: winner 'A'"):
        read_battles_file(bad)


def test_battles_round_trip_through_the_store(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "a.db")) as store:
        save_battles(
            store,
            [
                Battle("x", "y", "model_a", source="judge", decided_by="j", example_id="e1"),
                Battle("x", "y", "tie", source="human", decided_by="ann", detail={"note": 1}),
            ],
        )
        assert [b.winner for b in load_battles(store)] == ["model_a", "tie"]
        (human,) = load_battles(store, "human")
    assert (human.decided_by, human.detail, human.created_at is not None) == (
        "ann",
        {"note": 1},
        True,
    )
    with pytest.raises(DataError, match="winner"):
        Battle("x", "y", "a")  # type: ignore[arg-type]

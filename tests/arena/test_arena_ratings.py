"""Ratings on battle sets small enough to check by hand, and on synthetic data with known ratings."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.arena import Battle, compute_ratings, load_battles, read_battles_file, save_battles
from assay.arena.ratings import PRIOR, SCALE
from assay.exceptions import DataError
from assay.store import open_store


def _battles(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["model_a", "model_b", "winner"])


def test_three_wins_to_one_is_odds_of_three() -> None:
    frame = _battles(*[("a", "b", "model_a")] * 3, ("b", "a", "model_a"))
    plain = compute_ratings(frame, rounds=0, prior=0.0).to_pandas().set_index("model")
    gap = 400 * math.log10(3)  # odds 3:1
    assert plain.loc["a", "rating"] == pytest.approx(1000 + gap / 2, abs=1e-3)
    assert plain.loc["b", "rating"] == pytest.approx(1000 - gap / 2, abs=1e-3)
    # With the prior, the gap d (natural log) solves 3 - 4 * sigmoid(d) = PRIOR * d / 2:
    # four battles are little evidence, so it shrinks by about 12 points (to 179).
    ratings = compute_ratings(frame, rounds=0).to_pandas().set_index("model")
    d = (ratings.loc["a", "rating"] - ratings.loc["b", "rating"]) * math.log(10) / SCALE
    assert 3 - 4 / (1 + math.exp(-d)) == pytest.approx(PRIOR * d / 2, abs=1e-9)
    assert ratings.loc["a", "rating"] + ratings.loc["b", "rating"] == pytest.approx(2000)
    assert 0 < gap - (ratings.loc["a", "rating"] - ratings.loc["b", "rating"]) < 15


def test_a_tie_is_half_a_win_each_way() -> None:
    with_ties = _battles(
        *[("a", "b", "model_a"), ("a", "b", "tie"), ("a", "b", "tie (bothbad)")] * 2
    )
    halves = _battles(*[("a", "b", "model_a")] * 4, ("a", "b", "model_b"), ("b", "a", "model_a"))
    # 2 wins + 4 ties = 4 of 6 for a, odds 2:1; the second set is also 4 of 6. The same
    # win matrix, so the same ratings with or without the prior.
    one = compute_ratings(with_ties, rounds=0).rating
    two = compute_ratings(halves, rounds=0).rating
    assert one == pytest.approx(two, abs=1e-9)
    plain = compute_ratings(with_ties, rounds=0, prior=0.0).rating
    assert plain[0] - plain[1] == pytest.approx(400 * math.log10(2), abs=1e-3)
    assert 0 < plain[0] - plain[1] - (one[0] - one[1]) < 10  # the prior's pull on 6 battles


def test_an_unbeaten_model_gets_a_finite_rating_above_the_others() -> None:
    # Plain maximum likelihood sends "new" to infinity (it rated 2827, interval -1827/+790).
    frame = _battles(
        *[("x", "y", "model_a")] * 6,
        *[("y", "x", "model_a")] * 4,
        *[("y", "z", "model_a")] * 5,
        *[("z", "x", "model_a")] * 3,
        *[("x", "z", "model_a")] * 3,
        ("new", "x", "model_a"),
    )
    ratings = compute_ratings(frame, rounds=300)
    table = ratings.to_pandas().set_index("model")
    assert ratings.models[0] == "new"
    values = table[["rating", "ci_low", "ci_high"]].to_numpy()
    assert np.isfinite(values).all()
    assert 1000 < table.loc["new", "rating"] < 1500
    assert (table["ci_high"] - table["ci_low"]).max() < 800
    assert table["rating"].mean() == pytest.approx(1000)
    # a winless model is the mirror image: finite and last
    winless = compute_ratings(
        _battles(*[("u", "v", "model_a")] * 50, *[("v", "w", "model_a")] * 30), rounds=100
    )
    assert winless.models[-1] == "w" and np.isfinite(winless.rating).all()
    assert np.isfinite(winless.ci_low).all() and np.isfinite(winless.ci_high).all()


def test_the_prior_barely_moves_well_determined_ratings() -> None:
    rng = np.random.default_rng(3)
    true = np.array([1150.0, 1000.0, 850.0])
    a = rng.integers(0, 3, 3000)
    b = (a + rng.integers(1, 3, 3000)) % 3
    p_a = 1 / (1 + 10 ** ((true[b] - true[a]) / 400))
    names = np.array(list("abc"))
    frame = pd.DataFrame(
        {
            "model_a": names[a],
            "model_b": names[b],
            "winner": np.where(rng.random(3000) < p_a, "model_a", "model_b"),
        }
    )
    with_prior = compute_ratings(frame, rounds=0, online_elo=False).rating
    plain = compute_ratings(frame, rounds=0, online_elo=False, prior=0.0).rating
    # 2,000 battles a model: the pull is about PRIOR / (battles / 4) of a rating, < 0.1%
    assert np.abs(with_prior - plain).max() < 0.2


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

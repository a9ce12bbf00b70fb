"""Ratings from battles: Bradley–Terry on the Elo scale with bootstrap intervals, and online Elo.

The fit works on counts, not on battles: battles are aggregated into cells
(unordered pair, outcome), a bootstrap round resamples those cell counts with
one multinomial draw (the same distribution as resampling battles with
replacement), and Bradley–Terry is fitted by Newton's method on the small
model-by-model win matrix, for every round at once. A million battles and a
thousand rounds take a fraction of a second.

Scale: 400 rating points per factor of 10 in odds; the mean rating is 1000
(or a named anchor model is 1000). A tie counts as half a win each way.

Prior: the fit maximises the likelihood plus a weak ridge (Gaussian prior) on the
natural-log strengths, ``-PRIOR / 2 * sum(theta**2)``. Without it a model that never
lost (or never won) has no finite maximum-likelihood rating; with it such a model gets
a finite rating above (below) the others, while a model with a few hundred battles
moves by a small fraction of a point. The same prior is used for the point estimate
and for every bootstrap round.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from assay.arena.battles import Battle
from assay.exceptions import AssayError

SCALE = 400.0
BASE = 10.0
INIT_RATING = 1000.0
LN_BASE = float(np.log(BASE))
PRIOR = 0.1
"""Ridge strength on natural-log strengths: a Gaussian prior with standard deviation
1/sqrt(0.1) = 3.2 (550 rating points), about as much curvature as 0.4 virtual tie games
of each model against an average one. A 1-0 record then rates 368 points above its
opponent instead of infinitely far."""


@dataclass(frozen=True)
class BattleCounts:
    """Battles aggregated by unordered pair: wins of the first, of the second, and ties.

    Attributes:
        models: Model names; indices below refer to this list.
        pairs: (n_pairs, 2) model indices with first < second.
        counts: (n_pairs, 3): first won, second won, tie.
    """

    models: list[str]
    pairs: np.ndarray
    counts: np.ndarray

    @property
    def n_battles(self) -> int:
        return int(self.counts.sum())


def count_frame(frame: pd.DataFrame) -> BattleCounts:
    """Aggregate a (model_a, model_b, winner) DataFrame into pair/outcome counts, vectorised."""
    if frame.empty:
        raise AssayError("no battles to rate")
    codes, names = pd.factorize(pd.concat([frame["model_a"], frame["model_b"]], ignore_index=True))
    order = np.argsort(np.asarray(names, dtype=str), kind="stable")
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    models = [str(names[i]) for i in order]
    a, b = position[codes[: len(frame)]], position[codes[len(frame) :]]
    winner_codes, winners = pd.factorize(frame["winner"])
    outcome_of = np.array([{"model_a": 0, "model_b": 1}.get(str(w), 2) for w in winners])
    outcome = outcome_of[winner_codes] if len(winners) else np.zeros(0, dtype=int)
    keep = a != b
    a, b, outcome = a[keep], b[keep], outcome[keep]
    first, second = np.minimum(a, b), np.maximum(a, b)
    swapped = a > b
    outcome = np.where(swapped & (outcome < 2), 1 - outcome, outcome)
    n = len(models)
    cell = (first * n + second) * 3 + outcome
    flat = np.bincount(cell, minlength=n * n * 3).reshape(n * n, 3)
    keys = np.flatnonzero(flat.sum(axis=1))
    pairs = np.stack([keys // n, keys % n], axis=1)
    return BattleCounts(models, pairs, flat[keys].astype(np.int64))


def win_matrix(counts: BattleCounts, pair_counts: np.ndarray | None = None) -> np.ndarray:
    """Wins (ties as halves) of row model over column model; shape (..., n, n)."""
    c = counts.counts if pair_counts is None else pair_counts
    n = len(counts.models)
    i, j = counts.pairs[:, 0], counts.pairs[:, 1]
    wins = np.zeros((*c.shape[:-2], n, n))
    wins[..., i, j] = c[..., 0] + 0.5 * c[..., 2]
    wins[..., j, i] = c[..., 1] + 0.5 * c[..., 2]
    return wins


def fit_bradley_terry(
    wins: np.ndarray,
    *,
    initial: np.ndarray | None = None,
    prior: float = PRIOR,
    iterations: int = 100,
    tol: float = 1e-7,
) -> np.ndarray:
    """Penalised maximum-likelihood Bradley–Terry strengths (natural-log scale, mean 0).

    Newton's method on the log-likelihood minus ``prior / 2 * sum(theta**2)``; the
    penalty keeps every strength finite (an unbeaten model included) and, since the
    likelihood ignores a common shift, puts the optimum at mean 0.

    Args:
        wins: (..., n, n) wins of row over column (ties already split as halves);
            leading dimensions are independent problems (bootstrap rounds), solved together.
        initial: Starting strengths (n,) or (..., n); bootstrap rounds start from the full fit.
        prior: Ridge strength (see PRIOR); 0 for plain maximum likelihood, which diverges
            for a model that never lost or never won.
        iterations: Most Newton steps.
        tol: Stop when no strength moves more than this.

    Returns:
        (..., n) strengths; a model with no battles gets 0.
    """
    games = wins + np.swapaxes(wins, -1, -2)
    n = wins.shape[-1]
    theta = np.zeros(wins.shape[:-1])
    if initial is not None:
        theta = theta + initial
    total_wins = wins.sum(axis=-1)
    # With prior=0 a tiny ridge still keeps the Hessian invertible (translation
    # invariance, unplayed models) while moving the optimum by far less than a point.
    ridge = max(prior, 1e-8 * max(1.0, float(games.max(initial=1.0))))
    eye = np.eye(n)
    for _ in range(iterations):
        diff = theta[..., :, None] - theta[..., None, :]
        p = 1.0 / (1.0 + np.exp(-diff))
        gradient = total_wins - (games * p).sum(axis=-1) - ridge * theta
        weight = games * p * (1.0 - p)
        hessian = weight - eye * weight.sum(axis=-1)[..., None, :] - ridge * eye
        step = np.linalg.solve(hessian, gradient[..., None])[..., 0]
        theta = theta - step
        theta = theta - theta.mean(axis=-1, keepdims=True)
        if np.abs(step).max(initial=0.0) < tol:
            break
    return theta


def to_elo(theta: np.ndarray) -> np.ndarray:
    """Natural-log strengths to the Elo scale (mean 1000)."""
    return SCALE * theta / LN_BASE + INIT_RATING


@dataclass
class Ratings:
    """A leaderboard: Bradley–Terry ratings with bootstrap intervals, ranks and online Elo.

    Attributes:
        models: Model names, best first.
        rating: Bradley–Terry rating on the Elo scale.
        ci_low / ci_high: The 95% bootstrap interval.
        rank: 1 + the number of models whose interval lies entirely above this one's.
        elo: Online Elo (K=4, battles in order), for comparison.
        battles: Battles each model took part in.
        win_rate: Row model's share of wins over column model (ties as halves).
        battle_counts: Battles between each pair.
        rounds: Bootstrap rounds (0 = no intervals).
        n_battles: Battles rated.
    """

    models: list[str]
    rating: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    rank: np.ndarray
    elo: np.ndarray
    battles: np.ndarray
    win_rate: pd.DataFrame
    battle_counts: pd.DataFrame
    rounds: int
    n_battles: int

    def to_pandas(self) -> pd.DataFrame:
        """One row per model, best first: rank, rating, interval, online Elo, battles."""
        return pd.DataFrame(
            {
                "model": self.models,
                "rank": self.rank,
                "rating": self.rating,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "elo": self.elo,
                "battles": self.battles,
            }
        )


def compute_ratings(
    battles: Sequence[Battle] | pd.DataFrame,
    *,
    rounds: int = 1000,
    seed: int = 0,
    anchor: str | None = None,
    online_elo: bool = True,
    prior: float = PRIOR,
) -> Ratings:
    """Rate models from battles.

    Args:
        battles: Battle records, or a DataFrame with model_a, model_b, winner columns
            (Chatbot Arena's battle format), in the order they happened.
        rounds: Bootstrap rounds for the 95% intervals (0 for none).
        seed: Seed of the bootstrap.
        anchor: A model pinned at 1000; by default the mean rating is 1000.
        online_elo: Also compute online Elo (a Python loop over battles).
        prior: Ridge strength on the strengths (see PRIOR), in the fit and every round.

    Raises:
        AssayError: No battles, or the anchor is not among the models.
    """
    frame = battles if isinstance(battles, pd.DataFrame) else battles_frame(battles)
    counts = count_frame(frame)
    models = counts.models
    if anchor is not None and anchor not in models:
        raise AssayError(f"anchor model '{anchor}' has no battles; models: {', '.join(models)}")
    wins = win_matrix(counts)
    theta = fit_bradley_terry(wins, prior=prior)
    rating = _anchored(to_elo(theta), models, anchor)
    samples = bootstrap_ratings(counts, rounds, seed=seed, initial=theta, prior=prior)
    if rounds > 0:
        samples = _anchored(samples, models, anchor)
        low, high = np.percentile(samples, [2.5, 97.5], axis=0)
    else:
        low = high = rating.copy()
    elo = compute_online_elo(frame, models) if online_elo else np.full(len(models), np.nan)
    games = wins + wins.T
    order = np.argsort(-rating, kind="stable")
    rank = np.array([1 + int(np.sum(low > high[i])) for i in range(len(models))])
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(games > 0, wins / games, np.nan)
    names = [models[i] for i in order]
    return Ratings(
        models=names,
        rating=rating[order],
        ci_low=low[order],
        ci_high=high[order],
        rank=rank[order],
        elo=elo[order],
        battles=games.sum(axis=1)[order].astype(int),
        win_rate=pd.DataFrame(rate[np.ix_(order, order)], index=names, columns=names),
        battle_counts=pd.DataFrame(
            games[np.ix_(order, order)].astype(int), index=names, columns=names
        ),
        rounds=rounds,
        n_battles=counts.n_battles,
    )


def bootstrap_ratings(
    counts: BattleCounts,
    rounds: int,
    *,
    seed: int = 0,
    initial: np.ndarray | None = None,
    prior: float = PRIOR,
) -> np.ndarray:
    """(rounds, n) Elo-scale ratings, one row per bootstrap resample of the battles.

    Args:
        counts: The battles, aggregated.
        rounds: Resamples.
        seed: Seed of the resampling.
        initial: The full-data fit; rounds start from it and so converge in a few steps.
        prior: Ridge strength, the same as the full-data fit's.
    """
    if rounds <= 0:
        return np.empty((0, len(counts.models)))
    rng = np.random.default_rng(seed)
    flat = counts.counts.reshape(-1)
    total = int(flat.sum())
    resampled = rng.multinomial(total, flat / total, size=rounds).reshape(
        rounds, *counts.counts.shape
    )
    chunk = max(1, 200 * 2500 // max(1, len(counts.models) ** 2))
    parts = [
        to_elo(
            fit_bradley_terry(
                win_matrix(counts, resampled[start : start + chunk]), initial=initial, prior=prior
            )
        )
        for start in range(0, rounds, chunk)
    ]
    return np.concatenate(parts)


def compute_online_elo(frame: pd.DataFrame, models: Sequence[str], *, k: float = 4.0) -> np.ndarray:
    """Online Elo over battles in order (K=4, as Chatbot Arena reported it), mean start 1000."""
    index = {m: i for i, m in enumerate(models)}
    rating = np.full(len(models), INIT_RATING)
    for a, b, winner in zip(frame["model_a"], frame["model_b"], frame["winner"], strict=True):
        if a == b:
            continue
        ia, ib = index[a], index[b]
        expected = 1.0 / (1.0 + BASE ** ((rating[ib] - rating[ia]) / SCALE))
        actual = 1.0 if winner == "model_a" else 0.0 if winner == "model_b" else 0.5
        rating[ia] += k * (actual - expected)
        rating[ib] -= k * (actual - expected)
    return rating


def battles_frame(battles: Iterable[Battle]) -> pd.DataFrame:
    """Battle records as a (model_a, model_b, winner) DataFrame."""
    return pd.DataFrame(
        [(b.model_a, b.model_b, b.winner) for b in battles],
        columns=["model_a", "model_b", "winner"],
    )


def _anchored(values: np.ndarray, models: Sequence[str], anchor: str | None) -> np.ndarray:
    if anchor is None:
        return values
    column = list(models).index(anchor)
    return values - values[..., column : column + 1] + INIT_RATING

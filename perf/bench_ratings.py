"""Benchmark: Bradley–Terry ratings with 1,000 bootstrap rounds on 1,000,000 battles.

Synthetic battles among 50 models are drawn from known true ratings (Bradley–Terry,
no ties), then rated two ways in one run:

* assay: battles aggregated to (pair, outcome) counts, one multinomial resample per
  round, Newton's method on the 50×50 win matrix for all rounds at once;
* reference: Chatbot Arena's original notebook approach, a logistic regression
  (scikit-learn) on the battle design matrix per bootstrap round (sparse here, or it
  would not fit in memory), timed on a few rounds and extrapolated to 1,000.

Both optimise the same objective: the likelihood plus assay's weak ridge prior
(PRIOR), passed to scikit-learn as the matching inverse regularisation strength C.
It checks that the point ratings agree with the reference within 1 point, reports
how far the prior moves them from plain maximum likelihood, and that the true
ratings fall inside the 95% intervals at about the nominal rate.

    python perf/bench_ratings.py [--battles 1000000] [--rounds 1000] [--reference-rounds 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy import sparse

from assay.arena.ratings import INIT_RATING, LN_BASE, PRIOR, SCALE, compute_ratings

N_MODELS = 50


def synthetic_battles(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """n battles among 50 models drawn from true ratings (mean 1000, sd 100)."""
    rng = np.random.default_rng(seed)
    true = rng.normal(1000.0, 100.0, N_MODELS)
    true = true - true.mean() + INIT_RATING
    a = rng.integers(0, N_MODELS, n)
    b = (a + rng.integers(1, N_MODELS, n)) % N_MODELS
    p_a = 1.0 / (1.0 + 10.0 ** ((true[b] - true[a]) / SCALE))
    winner = np.where(rng.random(n) < p_a, "model_a", "model_b")
    names = np.array([f"model-{i:02d}" for i in range(N_MODELS)])
    frame = pd.DataFrame({"model_a": names[a], "model_b": names[b], "winner": winner})
    return frame, pd.Series(true, index=names)


def reference_fit(frame: pd.DataFrame, models: list[str]) -> np.ndarray:
    """The notebook's compute_mle_elo: every battle twice, a tie as one win each way.

    scikit-learn minimises 0.5 * |w|^2 + C * (log loss over 2n rows) with theta =
    LN_BASE * w; assay maximises loglik(theta) - PRIOR / 2 * |theta|^2. Doubling
    assay's objective and matching the penalties gives C = 1 / (2 * PRIOR * LN_BASE^2).
    """
    from sklearn.linear_model import LogisticRegression

    index = {m: i for i, m in enumerate(models)}
    a = frame["model_a"].map(index).to_numpy()
    b = frame["model_b"].map(index).to_numpy()
    n = len(frame)
    rows = np.arange(2 * n).repeat(2)
    cols = np.stack([np.concatenate([a, a]), np.concatenate([b, b])], axis=1).reshape(-1)
    values = np.tile([LN_BASE, -LN_BASE], 2 * n)
    design = sparse.csr_matrix((values, (rows, cols)), shape=(2 * n, len(models)))
    y = np.zeros(2 * n)
    y[:n][frame["winner"].to_numpy() == "model_a"] = 1.0
    y[n:][frame["winner"].to_numpy() == "model_a"] = 1.0
    ties = np.flatnonzero(~frame["winner"].isin(["model_a", "model_b"]).to_numpy())
    y[ties] = 1.0  # first copy of a tie: a win for model_a, the second copy: for model_b
    c = 1.0 / (2.0 * PRIOR * LN_BASE**2) if PRIOR > 0 else 1e12
    lr = LogisticRegression(fit_intercept=False, C=c, tol=1e-8, max_iter=1000)
    lr.fit(design, y)
    ratings = SCALE * lr.coef_[0]
    return np.asarray(ratings - ratings.mean() + INIT_RATING)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--battles", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--reference-rounds", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=5, help="data sets for the coverage check")
    args = parser.parse_args()

    frame, true = synthetic_battles(args.battles, seed=0)
    compute_ratings(frame.head(1000), rounds=10, online_elo=False)  # warm up imports

    began = time.perf_counter()
    ratings = compute_ratings(frame, rounds=args.rounds, online_elo=False)
    ours = time.perf_counter() - began
    table = ratings.to_pandas().set_index("model")

    models = sorted(true.index)
    rng = np.random.default_rng(1)
    began = time.perf_counter()
    point = reference_fit(frame, models)
    for _ in range(args.reference_rounds):
        reference_fit(frame.iloc[rng.integers(0, len(frame), len(frame))], models)
    per_round = (time.perf_counter() - began) / (args.reference_rounds + 1)
    reference_total = per_round * args.rounds

    gap = np.abs(table.loc[models, "rating"].to_numpy() - point).max()
    plain = compute_ratings(frame, rounds=0, online_elo=False, prior=0.0).to_pandas()
    prior_shift = np.abs(
        table.loc[models, "rating"].to_numpy() - plain.set_index("model").loc[models, "rating"]
    ).max()
    covered = [_coverage(table, true)]
    for seed in range(1, args.seeds):
        other, other_true = synthetic_battles(args.battles, seed=seed)
        other_table = compute_ratings(other, rounds=args.rounds, online_elo=False, seed=seed)
        covered.append(_coverage(other_table.to_pandas().set_index("model"), other_true))

    print(f"battles: {args.battles:,}  models: {N_MODELS}  bootstrap rounds: {args.rounds}")
    print(f"assay (aggregate + multinomial + batched Newton): {ours:.3f} s")
    print(
        f"reference (sklearn LogisticRegression per round): {per_round:.2f} s/round, "
        f"{reference_total:.0f} s for {args.rounds} rounds (extrapolated from "
        f"{args.reference_rounds + 1} fits)"
    )
    print(f"speed-up: {reference_total / ours:.0f}x")
    print(f"max |assay - reference| point rating: {gap:.4f} points (must be < 1)")
    print(f"max |prior - plain maximum likelihood| point rating: {prior_shift:.4f} points")
    print(
        f"true rating inside the 95% interval: {np.mean(covered):.3f} over "
        f"{len(covered) * N_MODELS} model-datasets (per data set: "
        + ", ".join(f"{c:.2f}" for c in covered)
        + ")"
    )
    if gap >= 1.0:
        raise SystemExit("FAIL: point ratings disagree with the reference by a point or more")


def _coverage(table: pd.DataFrame, true: pd.Series) -> float:
    inside = (table["ci_low"] <= true[table.index]) & (true[table.index] <= table["ci_high"])
    return float(inside.mean())


if __name__ == "__main__":
    main()

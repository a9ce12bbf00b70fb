"""Benchmark: calibration and power of the paired tests of `assay compare`.

Null: two runs from the same model (each example has its own difficulty; both runs
draw independently from it), so a calibrated test rejects about 5% of the time.
Effect: run B is better by a known amount. Pass/fail (McNemar) and continuous
scores (sign-flip permutation) are both simulated.

Each condition draws from its own seeded stream, so its figure does not depend on
which conditions ran before it; a rate is printed with its Monte Carlo standard
error (at 400 simulations a calibrated 0.05 reads 0.05 +- 0.011, so single runs
between about 0.03 and 0.07 are expected; use --sims 2000 or --seed to look closer).

    python perf/bench_compare.py [--sims 400] [--n 300] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from assay.compare import stats


def simulate(
    rng: np.random.Generator, n: int, effect: float, binary: bool
) -> tuple[np.ndarray, np.ndarray]:
    difficulty = rng.beta(2, 2, n)
    if binary:
        a = (rng.random(n) < difficulty).astype(float)
        b = (rng.random(n) < np.clip(difficulty + effect, 0, 1)).astype(float)
    else:
        a = np.clip(difficulty + rng.normal(0, 0.15, n), 0, 1)
        b = np.clip(difficulty + effect + rng.normal(0, 0.15, n), 0, 1)
    return a, b


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sims", type=int, default=400)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for binary, name in ((True, "mcnemar (pass/fail)"), (False, "permutation (scores)")):
        for level, effect in enumerate((0.0, 0.05, 0.1)):
            rng = np.random.default_rng([args.seed, int(binary), level])
            t0 = time.perf_counter()
            rejected = 0
            for sim in range(args.sims):
                a, b = simulate(rng, args.n, effect, binary)
                p = (
                    stats.mcnemar(a, b)
                    if binary
                    else stats.permutation_test(b - a, rounds=2000, seed=sim)
                )
                rejected += p < 0.05
            label = "false-positive rate" if effect == 0 else f"power at +{effect}"
            rate = rejected / args.sims
            se = (rate * (1 - rate) / args.sims) ** 0.5
            print(
                f"{name:22s} n={args.n} {label:22s} {rate:.3f} +- {se:.3f}  "
                f"({time.perf_counter() - t0:.1f}s)"
            )


if __name__ == "__main__":
    main()

"""Benchmark: near-duplicate and leak detection of `assay check-data` at scale.

Synthetic test (default 100k) x train (default 1M) rows of random-word questions
with planted near-duplicates inside the test set and planted leaks (exact and near)
into the training set. Reports wall time, recall and precision of the planted
pairs, and a naive all-pairs baseline timed on a subsample and extrapolated.

    python perf/bench_check_data.py [--test 100000] [--train 1000000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from assay.data import Example
from assay.datacheck import CheckOptions, check_data
from assay.datacheck import minhash as mh


def make_words(rng: np.random.Generator, n: int) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    return ["".join(rng.choice(letters, rng.integers(3, 9))) for _ in range(n)]


def perturb(text: str, rng: np.random.Generator, vocab: list[str]) -> str:
    words = text.split()
    i = int(rng.integers(0, len(words)))
    words[i] = vocab[int(rng.integers(0, len(vocab)))]  # one word replaced
    return " ".join(words).upper() + "!"  # case and punctuation do not matter


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--test", type=int, default=100_000)
    parser.add_argument("--train", type=int, default=1_000_000)
    parser.add_argument("--planted", type=int, default=1000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    vocab = make_words(rng, 20_000)
    v = np.array(vocab)

    def questions(n: int) -> list[str]:
        lengths = rng.integers(10, 18, n)
        picks = rng.integers(0, len(vocab), int(lengths.sum()))
        out, at = [], 0
        for length in lengths.tolist():
            out.append(" ".join(v[picks[at : at + length]]) + "?")
            at += length
        return out

    t0 = time.perf_counter()
    test_q, train_q = questions(args.test), questions(args.train)
    k = args.planted
    # near-duplicates inside the test set: row k+i copies row i with one word changed
    for i in range(k):
        test_q[k + i] = perturb(test_q[i], rng, vocab)
    # leaks: train row j copies test row 3k+j exactly (first half) or nearly (second half)
    leak_rows = list(range(3 * k, 4 * k))
    for j, i in enumerate(leak_rows):
        train_q[j] = test_q[i] if j < k // 2 else perturb(test_q[i], rng, vocab)
    test = [Example(str(i), q, f"a{i}") for i, q in enumerate(test_q)]
    train = [Example(f"t{i}", q, f"a{3 * k + i}" if i < k else "b") for i, q in enumerate(train_q)]
    print(f"generated {len(test):,} test x {len(train):,} train in {time.perf_counter() - t0:.1f}s")

    t0 = time.perf_counter()
    report = check_data(test, train, CheckOptions(coverage=False))
    wall = time.perf_counter() - t0
    near_pairs = set()
    for group in report.duplicates:
        ids = sorted(int(x) for x in group.example_ids)
        near_pairs.update((a, b) for a in ids for b in ids if a < b)
    planted_dups = {(i, k + i) for i in range(k)}
    dup_recall = len(planted_dups & near_pairs) / k
    dup_precision = len(planted_dups & near_pairs) / max(1, len(near_pairs))
    leaked = {int(leak.example_id) for leak in report.leaks}
    planted_leaks = set(leak_rows)
    print(f"check_data wall time: {wall:.1f}s")
    print(
        f"near-duplicates: recall {dup_recall:.3f}, precision {dup_precision:.3f} ({len(near_pairs)} pairs found)"
    )
    print(
        f"leaks: recall {len(planted_leaks & leaked) / k:.3f}, precision "
        f"{len(planted_leaks & leaked) / max(1, len(leaked)):.3f} ({len(leaked)} found; kinds: "
        f"{ {kind: sum(leak.kind == kind for leak in report.leaks) for kind in ('exact_pair', 'exact_input', 'near', 'ngram')} })"
    )

    # naive baseline: exact Jaccard of shingle sets over all pairs of a subsample
    sub_test, sub_train = 200, 2000
    shingles = [
        {mh.normalize(q)[i : i + 5] for i in range(max(1, len(mh.normalize(q)) - 4))}
        for q in test_q[:sub_test] + train_q[:sub_train]
    ]
    t0 = time.perf_counter()
    for a in shingles[:sub_test]:
        for b in shingles[sub_test:]:
            _ = len(a & b) / len(a | b)
    per_pair = (time.perf_counter() - t0) / (sub_test * sub_train)
    pairs = args.test * args.train + args.test * (args.test - 1) / 2
    print(
        f"naive all-pairs baseline: {per_pair * 1e6:.2f} us/pair x {pairs:.3g} pairs = "
        f"{per_pair * pairs / 3600:.0f} hours (extrapolated)"
    )


if __name__ == "__main__":
    main()

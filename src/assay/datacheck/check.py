"""Test-set checks: duplicates, conflicting answers, leakage into the training set,
empty or trivial references, extreme lengths, and coverage.

Scales to a 100k-example test set against millions of training rows: exact
matches by hashing normalised text, near-duplicates by MinHash/LSH, and overlap
by word n-gram hashes (GPT-3's 13-gram contamination check) joined by sorting;
nothing compares all pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from assay.data.example import Dataset, Example
from assay.datacheck import minhash as mh
from assay.datacheck.coverage import Coverage, coverage
from assay.datacheck.references import LeakKind, ReferenceIssue, length_summary, reference_issues
from assay.exceptions import OptionError, at_least


@dataclass(frozen=True)
class DuplicateGroup:
    """Test examples that are the same question.

    Attributes:
        kind: "exact" (same text after normalisation) or "near" (MinHash similarity).
        example_ids: The examples, in data-set order.
        similarity: 1.0 for exact; the least estimated Jaccard similarity of a linked pair.
        text: The first example's input.
    """

    kind: str
    example_ids: list[str]
    similarity: float
    text: str


@dataclass(frozen=True)
class Conflict:
    """One question with several different references in the test set."""

    text: str
    example_ids: list[str]
    references: list[str]


@dataclass(frozen=True)
class Leak:
    """A test example that the training set contains.

    Attributes:
        example_id: The test example.
        kind: "exact_pair" (input and answer), "exact_input", "near" (similar input)
            or "ngram" (shares word n-grams with a training row).
        score: 1.0 for exact; the similarity for near; the share of the input's
            n-grams found for ngram.
        train_ids: The matching training rows (at most three).
        train_text: The first matching training row's input.
    """

    example_id: str
    kind: LeakKind
    score: float
    train_ids: list[str]
    train_text: str


@dataclass(frozen=True)
class CheckOptions:
    """How strict the checks are.

    Attributes:
        near_threshold: Least estimated Jaccard similarity (of character 5-grams) for
            a near-duplicate or near leak. The default, 0.65, sits below the
            similarity of one word changed in a ten-word question (about 0.62 to
            0.9, a few percent under 0.7) with room for MinHash's estimation error
            (standard deviation about 0.04 with 125 hashes); unrelated texts score
            near 0. At 0.7 about 5% of such one-word edits were missed.
        ngram: Word n-gram length of the overlap check (13 as in GPT-3).
        ngram_min_share: Least share of a test input's n-grams found in training data
            to call it leaked (GPT-3 used any one; a little more avoids stock phrases).
        coverage: Whether to embed and cluster (needs the bundled embedding model).
        clusters: Clusters for coverage.
        coverage_sample: Most texts of each set embedded for coverage.
    """

    near_threshold: float = 0.65
    ngram: int = 13
    ngram_min_share: float = 0.1
    coverage: bool = True
    clusters: int = 8
    coverage_sample: int = 2000

    def __post_init__(self) -> None:
        if not 0 < self.near_threshold <= 1:
            raise OptionError(
                "threshold", f"must be above 0 and at most 1, got {self.near_threshold}"
            )
        at_least("ngram", self.ngram, 3)
        at_least("clusters", self.clusters, 1)
        at_least("coverage_sample", self.coverage_sample, 1)


@dataclass
class DataCheckReport:
    """What check-data found. ``has_problems`` is what ``--strict`` fails on.

    Attributes:
        n_test / n_train: Sizes of the sets checked.
        duplicates: Groups of exact and near duplicates inside the test set.
        conflicts: Questions that appear with different answers.
        leaks: Test examples found in the training set.
        reference_issues: Empty or trivial references and extreme lengths.
        lengths: describe() of input and reference lengths, in characters and words.
        coverage: Clusters and blind spots, when computed.
    """

    n_test: int
    n_train: int
    duplicates: list[DuplicateGroup]
    conflicts: list[Conflict]
    leaks: list[Leak]
    reference_issues: list[ReferenceIssue]
    lengths: pd.DataFrame = field(repr=False)
    coverage: Coverage | None = None

    @property
    def has_problems(self) -> bool:
        """Leaks, duplicates or conflicting answers were found."""
        return bool(self.leaks or self.duplicates or self.conflicts)

    def to_pandas(self) -> pd.DataFrame:
        """Every finding, one row each: check, example_ids, detail."""
        rows = [
            {"check": f"duplicate_{d.kind}", "example_ids": d.example_ids, "detail": d.text}
            for d in self.duplicates
        ]
        rows += [
            {"check": "conflict", "example_ids": c.example_ids, "detail": " | ".join(c.references)}
            for c in self.conflicts
        ]
        rows += [
            {
                "check": f"leak_{leak.kind}",
                "example_ids": [leak.example_id],
                "detail": f"{leak.score:.2f} train {', '.join(leak.train_ids)}",
            }
            for leak in self.leaks
        ]
        rows += [
            {"check": i.issue, "example_ids": [i.example_id], "detail": i.detail}
            for i in self.reference_issues
        ]
        return pd.DataFrame(rows, columns=["check", "example_ids", "detail"])


def check_data(
    test: Dataset | Sequence[Example],
    train: Dataset | Sequence[Example] | None = None,
    options: CheckOptions | None = None,
) -> DataCheckReport:
    """Check a test set: is it accurate (conflicts, empty references), diverse
    (duplicates, coverage) and unseen (leaks into the training set)?

    Args:
        test: The test set.
        train: The training set, for leaks and blind spots.
        options: Thresholds; defaults when None.

    Raises:
        AssayError: The options are out of range.
        ModelError: Coverage is asked for and its packages or model are missing.
    """
    options = options or CheckOptions()
    examples = list(test)
    train_rows = list(train) if train is not None else []
    inputs = [mh.normalize(e.input) for e in examples]
    duplicates = _exact_duplicates(examples, inputs)
    duplicates += _near_duplicates(examples, inputs, options.near_threshold)
    leaks = _leaks(examples, inputs, train_rows, options) if train_rows else []
    found_coverage = None
    if options.coverage:
        found_coverage = coverage(
            [e.input for e in examples],
            [e.input for e in train_rows] or None,
            clusters=options.clusters,
            sample=options.coverage_sample,
        )
    return DataCheckReport(
        n_test=len(examples),
        n_train=len(train_rows),
        duplicates=duplicates,
        conflicts=_conflicts(examples, inputs),
        leaks=leaks,
        reference_issues=reference_issues(examples),
        lengths=length_summary(examples),
        coverage=found_coverage,
    )


def _groups(keys: Sequence[str]) -> list[list[int]]:
    """Positions sharing a key, for keys that occur more than once (non-empty keys only)."""
    by_key: dict[str, list[int]] = {}
    for position, key in enumerate(keys):
        if key:
            by_key.setdefault(key, []).append(position)
    return [group for group in by_key.values() if len(group) > 1]


def _exact_duplicates(examples: list[Example], inputs: list[str]) -> list[DuplicateGroup]:
    return [
        DuplicateGroup("exact", [examples[i].id for i in g], 1.0, examples[g[0]].input)
        for g in _groups(inputs)
    ]


def _conflicts(examples: list[Example], inputs: list[str]) -> list[Conflict]:
    found = []
    for group in _groups(inputs):
        references = {
            mh.normalize(examples[i].reference): i for i in group if examples[i].reference
        }
        if len(references) > 1:
            found.append(
                Conflict(
                    examples[group[0]].input,
                    [examples[i].id for i in group],
                    [examples[i].reference or "" for i in references.values()],
                )
            )
    return found


def _near_duplicates(
    examples: list[Example], inputs: list[str], threshold: float
) -> list[DuplicateGroup]:
    """Groups of distinct inputs linked by MinHash similarity >= threshold (union-find)."""
    first: dict[str, int] = {}
    for position, text in enumerate(inputs):
        if text:
            first.setdefault(text, position)
    positions = np.fromiter(first.values(), dtype=np.int64, count=len(first))
    signature = mh.signatures(*mh.shingle_hashes(list(first)))
    left, right = mh.candidates_within(mh.band_keys(signature))
    scores = mh.similarity(signature[left], signature[right])
    keep = scores >= threshold
    parent = list(range(len(positions)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    least: dict[int, float] = {}
    for i, j, s in zip(
        left[keep].tolist(), right[keep].tolist(), scores[keep].tolist(), strict=True
    ):
        a, b = root(i), root(j)
        low = min(s, least.pop(a, 1.0), least.pop(b, 1.0) if b != a else 1.0)
        parent[b] = a
        least[a] = low
    groups: dict[int, list[int]] = {}
    for i in {int(x) for x in np.concatenate([left[keep], right[keep]])}:
        groups.setdefault(root(i), []).append(int(positions[i]))
    return [
        DuplicateGroup(
            "near", [examples[p].id for p in sorted(g)], least.get(r, 1.0), examples[min(g)].input
        )
        for r, g in sorted(groups.items(), key=lambda item: min(item[1]))
    ]


def _leaks(
    examples: list[Example], inputs: list[str], train: list[Example], options: CheckOptions
) -> list[Leak]:
    """The strongest leak per test example: exact pair, exact input, near, then n-gram."""
    train_inputs = [mh.normalize(e.input) for e in train]
    found: dict[int, Leak] = {}
    by_input: dict[str, list[int]] = {}
    for row, text in enumerate(train_inputs):
        if text:
            rows = by_input.setdefault(text, [])
            if len(rows) < 3:
                rows.append(row)
    for i, text in enumerate(inputs):
        rows = by_input.get(text, []) if text else []
        if rows:
            reference = mh.normalize(examples[i].reference)
            pair = [r for r in rows if reference and mh.normalize(train[r].reference) == reference]
            kind: LeakKind = "exact_pair" if pair else "exact_input"
            found[i] = _leak(examples[i], kind, 1.0, pair or rows, train)
    _near_leaks(examples, inputs, train, train_inputs, options.near_threshold, found)
    _ngram_leaks(examples, inputs, train, train_inputs, options, found)
    return [found[i] for i in sorted(found)]


def _near_leaks(
    examples: list[Example],
    inputs: list[str],
    train: list[Example],
    train_inputs: list[str],
    threshold: float,
    found: dict[int, Leak],
) -> None:
    todo = [i for i, text in enumerate(inputs) if i not in found and text]
    if not todo:
        return
    query = mh.signatures(*mh.shingle_hashes([inputs[i] for i in todo]))
    index = mh.signatures(*mh.shingle_hashes(train_inputs))
    q, t = mh.candidates_between(mh.band_keys(query), mh.band_keys(index))
    scores = mh.similarity(query[q], index[t])
    keep = scores >= threshold
    best: dict[int, tuple[float, int]] = {}
    for qi, ti, s in zip(q[keep].tolist(), t[keep].tolist(), scores[keep].tolist(), strict=True):
        if s > best.get(qi, (-1.0, 0))[0]:
            best[qi] = (s, ti)
    for qi, (score, ti) in best.items():
        i = todo[qi]
        found[i] = _leak(examples[i], "near", score, [ti], train)


def _ngram_leaks(
    examples: list[Example],
    inputs: list[str],
    train: list[Example],
    train_inputs: list[str],
    options: CheckOptions,
    found: dict[int, Leak],
) -> None:
    todo = [
        i for i, text in enumerate(inputs) if i not in found and len(text.split()) >= options.ngram
    ]
    if not todo:
        return
    vocabulary: dict[str, int] = {}
    train_texts = [
        f"{text} {mh.normalize(e.reference)}" for text, e in zip(train_inputs, train, strict=True)
    ]
    train_grams, train_rows = mh.word_ngrams(train_texts, options.ngram, vocabulary)
    order = np.argsort(train_grams, kind="stable")
    train_grams, train_rows = train_grams[order], train_rows[order]
    grams, rows = mh.word_ngrams([inputs[i] for i in todo], options.ngram, vocabulary)
    where = np.searchsorted(train_grams, grams)
    hit = where < len(train_grams)
    hit[hit] = train_grams[where[hit]] == grams[hit]
    total = np.bincount(rows, minlength=len(todo))
    hits = np.bincount(rows[hit], minlength=len(todo))
    share = hits / np.maximum(total, 1)
    for qi in np.nonzero((hits > 0) & (share >= options.ngram_min_share))[0].tolist():
        first_hit = np.nonzero(hit & (rows == qi))[0][0]
        i = todo[qi]
        row = int(train_rows[where[first_hit]])
        found[i] = _leak(examples[i], "ngram", float(share[qi]), [row], train)


def _leak(
    example: Example, kind: LeakKind, score: float, rows: list[int], train: list[Example]
) -> Leak:
    return Leak(example.id, kind, score, [train[r].id for r in rows[:3]], train[rows[0]].input)

"""Comparing two runs on the same examples: is B better than A beyond noise, and where
did it change?

Steps: match the examples (by id, or by input when the ids do not line up); warn
about anything that makes the runs not comparable; per metric, the paired
difference with a bootstrap interval and a paired test (exact McNemar for
pass/fail metrics, a sign-flip permutation test otherwise); per example, fixed,
broken, both right or both wrong on the main metric.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from assay.analysis import stats
from assay.analysis.minhash import normalize
from assay.errors import DataError, MetricError
from assay.metrics import metric_info
from assay.run import ExampleResult, Run

Outcome = Literal["fixed", "broken", "both_right", "both_wrong"]
OUTCOMES: tuple[Outcome, ...] = ("broken", "fixed", "both_wrong", "both_right")
COMPARED_FIELDS = ("dataset_fingerprint", "kind")


@dataclass(frozen=True)
class Mismatch:
    """A field that differs between the runs and makes them not comparable."""

    field: str
    a: Any
    b: Any


@dataclass(frozen=True)
class MetricComparison:
    """One metric, A against B, on the matched examples.

    Attributes:
        metric: The metric's name.
        n: Examples scored in both runs.
        a / b: The means.
        diff: b - a.
        ci_low / ci_high: Paired 95% bootstrap interval of the difference.
        test: "mcnemar" or "permutation".
        p_value: Two-sided p-value of "no difference".
        higher_is_better: The metric's direction.
        significant: p_value < alpha.
        verdict: "better", "worse" (B against A, beyond noise) or "same".
    """

    metric: str
    n: int
    a: float
    b: float
    diff: float
    ci_low: float
    ci_high: float
    test: str
    p_value: float
    higher_is_better: bool
    significant: bool
    verdict: str


@dataclass(frozen=True)
class ExampleChange:
    """One matched example, with both answers and its outcome on the main metric."""

    example_id: str
    input: str
    reference: str | None
    prediction_a: str
    prediction_b: str
    score_a: float
    score_b: float
    outcome: Outcome


@dataclass
class Comparison:
    """Run B against run A.

    Attributes:
        run_a / run_b: The run ids.
        matched_by: "id" or "input".
        n_matched: Examples in both runs.
        only_a / only_b: Examples in one run only.
        mismatches: What makes the runs not comparable (empty when they are).
        metrics: One comparison per metric both runs scored.
        main_metric / threshold: What decides right and wrong per example.
        examples: Every matched example with its outcome.
    """

    run_a: str
    run_b: str
    matched_by: str
    n_matched: int
    only_a: int
    only_b: int
    mismatches: list[Mismatch]
    metrics: list[MetricComparison]
    main_metric: str | None
    threshold: float | None
    examples: list[ExampleChange] = field(repr=False)

    def regressed(self, metric: str | None = None) -> bool:
        """Whether B is significantly worse than A on the metric (None: on any metric)."""
        return any(m.verdict == "worse" for m in self.metrics if metric in (None, m.metric))

    def changes(self, outcome: Outcome) -> list[ExampleChange]:
        """The examples with one outcome ("fixed", "broken", "both_right", "both_wrong")."""
        return [e for e in self.examples if e.outcome == outcome]

    def counts(self) -> dict[str, int]:
        """Examples per outcome."""
        return {o: len(self.changes(o)) for o in OUTCOMES}

    def to_pandas(self) -> pd.DataFrame:
        """The metric table: one row per metric."""
        return pd.DataFrame([vars(m) for m in self.metrics])

    def examples_frame(self) -> pd.DataFrame:
        """One row per matched example."""
        return pd.DataFrame([vars(e) for e in self.examples])


def compare_runs(
    run_a: Run,
    run_b: Run,
    *,
    metric: str | None = None,
    threshold: float | None = None,
    alpha: float = 0.05,
    min_overlap: float = 0.5,
    rounds: int = 5000,
    seed: int = 0,
) -> Comparison:
    """Compare run B against run A on their shared examples.

    Args:
        run_a / run_b: The runs (eval or bench); B is the candidate.
        metric: The main metric for per-example outcomes (default: A's first).
        threshold: Scores below it are wrong (default 1 for pass/fail metrics, else 0.5).
        alpha: Significance level of the paired tests.
        min_overlap: Least share of the larger run that must match.
        rounds: Permutation and bootstrap rounds.
        seed: Seed of the resampling.

    Raises:
        DataError: The runs share too few examples, or no metric.
    """
    pairs, matched_by = _match(run_a, run_b)
    larger = max(len(run_a.results), len(run_b.results), 1)
    if len(pairs) < max(1, min_overlap * larger):
        raise DataError(
            f"runs {run_a.id} and {run_b.id} share only {len(pairs)} of {larger} examples "
            f"(matched by {matched_by}); compare runs over the same test set"
        )
    names = [m for m in _metrics(run_a) if m in _metrics(run_b)]
    if not names:
        raise DataError(f"runs {run_a.id} and {run_b.id} have no metric in common")
    if metric is not None and metric not in names:
        raise DataError(
            f"--metric {metric}: not scored in both runs; they share {', '.join(names)}"
        )
    main = metric or names[0]
    results = [
        _compare_metric(name, pairs, alpha=alpha, rounds=rounds, seed=seed) for name in names
    ]
    cut = threshold if threshold is not None else (1.0 if _pass_fail(main, pairs) else 0.5)
    return Comparison(
        run_a=run_a.id,
        run_b=run_b.id,
        matched_by=matched_by,
        n_matched=len(pairs),
        only_a=len(run_a.results) - len(pairs),
        only_b=len(run_b.results) - len(pairs),
        mismatches=mismatches(run_a, run_b),
        metrics=results,
        main_metric=main,
        threshold=cut,
        examples=[_change(a, b, main, cut) for a, b in pairs],
    )


def mismatches(run_a: Run, run_b: Run) -> list[Mismatch]:
    """Fields that make two runs not comparable: data set, template, generation
    parameters, judge, dtype, kind."""
    a, b = run_a.info, run_b.info
    found = [Mismatch(f, getattr(a, f), getattr(b, f)) for f in COMPARED_FIELDS]
    for group in ("prompt_config", "generation_params"):
        left, right = getattr(a, group), getattr(b, group)
        for key in sorted(set(left) | set(right)):
            found.append(Mismatch(f"{group}.{key}", left.get(key), right.get(key)))
    for key in ("dtype", "judge"):
        found.append(
            Mismatch(f"model_details.{key}", a.model_details.get(key), b.model_details.get(key))
        )
        found.append(Mismatch(f"stats.{key}", a.stats.get(key), b.stats.get(key)))
    return [m for m in found if m.a != m.b]


def _metrics(run: Run) -> list[str]:
    scored = dict.fromkeys(name for r in run.results for name in r.scores)
    return [m for m in run.info.metrics if m in scored] + [
        m for m in scored if m not in run.info.metrics
    ]


def _match(run_a: Run, run_b: Run) -> tuple[list[tuple[ExampleResult, ExampleResult]], str]:
    """Pairs by example id when the ids name the same inputs, else by (unique) input."""
    by_id = {r.example_id: r for r in run_b.results}
    pairs = [(a, by_id[a.example_id]) for a in run_a.results if a.example_id in by_id]
    agree = sum(normalize(a.input) == normalize(b.input) for a, b in pairs)
    if pairs and agree >= 0.9 * len(pairs):
        return pairs, "id"
    counts: dict[str, int] = {}
    for r in run_b.results:
        counts[normalize(r.input)] = counts.get(normalize(r.input), 0) + 1
    by_input = {normalize(r.input): r for r in run_b.results if counts[normalize(r.input)] == 1}
    matched = [
        (a, by_input[normalize(a.input)]) for a in run_a.results if normalize(a.input) in by_input
    ]
    return (matched, "input") if len(matched) > len(pairs) else (pairs, "id")


def _values(
    pairs: Sequence[tuple[ExampleResult, ExampleResult]], name: str
) -> tuple[np.ndarray, np.ndarray]:
    a = np.array([_value(x, name) for x, _ in pairs], dtype=float)
    b = np.array([_value(y, name) for _, y in pairs], dtype=float)
    keep = ~(np.isnan(a) | np.isnan(b))
    return a[keep], b[keep]


def _value(result: ExampleResult, name: str) -> float:
    score = result.scores.get(name)
    return math.nan if score is None else score.value


def _pass_fail(name: str, pairs: Sequence[tuple[ExampleResult, ExampleResult]]) -> bool:
    try:
        return metric_info(name).pass_fail
    except MetricError:
        a, b = _values(pairs, name)
        return bool(np.all(np.isin(a, (0.0, 1.0))) and np.all(np.isin(b, (0.0, 1.0))))


def _higher_is_better(name: str) -> bool:
    try:
        return metric_info(name).higher_is_better
    except MetricError:
        return True


def _compare_metric(
    name: str,
    pairs: Sequence[tuple[ExampleResult, ExampleResult]],
    *,
    alpha: float,
    rounds: int,
    seed: int,
) -> MetricComparison:
    a, b = _values(pairs, name)
    diff = b - a
    pass_fail = _pass_fail(name, pairs)
    p = stats.mcnemar(a, b) if pass_fail else stats.permutation_test(diff, rounds=rounds, seed=seed)
    low, high = stats.bootstrap_interval(diff, rounds=min(rounds, 2000), seed=seed)
    mean_diff = float(diff.mean()) if diff.size else math.nan
    higher = _higher_is_better(name)
    significant = p < alpha
    verdict = "same"
    if significant and mean_diff != 0:
        verdict = "better" if (mean_diff > 0) == higher else "worse"
    return MetricComparison(
        metric=name,
        n=int(diff.size),
        a=float(a.mean()) if a.size else math.nan,
        b=float(b.mean()) if b.size else math.nan,
        diff=mean_diff,
        ci_low=low,
        ci_high=high,
        test="mcnemar" if pass_fail else "permutation",
        p_value=p,
        higher_is_better=higher,
        significant=significant,
        verdict=verdict,
    )


def _change(a: ExampleResult, b: ExampleResult, metric: str, threshold: float) -> ExampleChange:
    score_a, score_b = _value(a, metric), _value(b, metric)
    higher = _higher_is_better(metric)
    right_a = (score_a >= threshold) == higher and not math.isnan(score_a)
    right_b = (score_b >= threshold) == higher and not math.isnan(score_b)
    outcome: Outcome = (
        ("both_right" if right_b else "broken")
        if right_a
        else ("fixed" if right_b else "both_wrong")
    )
    return ExampleChange(
        a.example_id, a.input, a.reference, a.prediction, b.prediction, score_a, score_b, outcome
    )

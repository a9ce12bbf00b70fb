"""Comparing two runs on the same examples: is B better than A beyond noise, and where
did it change?

Steps: match the examples (by id, or by input when the ids do not line up); warn
about anything that makes the runs not comparable; per metric, the paired
difference with a bootstrap interval and a paired test (exact McNemar for
pass/fail metrics, a sign-flip permutation test otherwise); per example, fixed,
broken, both right or both wrong on the main metric.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from assay.compare import stats
from assay.datacheck.minhash import normalize
from assay.exceptions import DataError, OptionError, at_least
from assay.runs.records import ExampleResult, Run, RunConfig, RunInfo
from assay.runs.verdicts import higher_is_better, pick_main, refuse_unfinished, threshold_for
from assay.scoring import asked

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
        higher_is_better: The metric's direction; None: it has none (a length).
        significant: p_value < alpha.
        verdict: "better", "worse" (B against A, beyond noise), "changed" (beyond noise,
            on a metric with no better direction) or "same".
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
    higher_is_better: bool | None
    significant: bool
    verdict: str


@dataclass(frozen=True)
class ExampleChange:
    """One matched example, with both answers and its outcome on the main metric.

    Attributes:
        question: What a list shows of the input: a conversation's answered turn
            (scoring.asked), the input itself otherwise.
    """

    example_id: str
    input: str
    reference: str | None
    prediction_a: str
    prediction_b: str
    score_a: float
    score_b: float
    outcome: Outcome
    question: str


@dataclass
class Comparison:
    """Run B against run A.

    Attributes:
        run_a / run_b: The run ids.
        matched_by: "id" or "input".
        n_matched: Examples in both runs.
        left_out: Matched examples that failed in either run (no output), left out.
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
    left_out: int
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
    allow_incomplete: bool = False,
) -> Comparison:
    """Compare run B against run A on their shared examples.

    Only complete runs are compared unless ``allow_incomplete``: then examples that
    failed in either run (no output) are left out, and counted in ``left_out``.

    Args:
        run_a / run_b: The runs (eval or bench); B is the candidate.
        metric: The main metric for per-example outcomes (default: the first both
            scored that has a better direction; never a length).
        threshold: Scores below it are wrong (default: see runs/verdicts.py).
        alpha: Significance level of the paired tests.
        min_overlap: Least share of the larger run that must match.
        rounds: Permutation and bootstrap rounds.
        seed: Seed of the resampling.
        allow_incomplete: Compare runs that are not complete, on what both answered.

    Raises:
        OptionError: A run is not complete and ``allow_incomplete`` is False, or
            ``metric`` has no better direction.
        DataError: The runs share too few examples, or no metric with a direction.
    """
    if not 0 < alpha < 1:
        raise OptionError("alpha", f"must be between 0 and 1 (exclusive), got {alpha}")
    at_least("rounds", rounds, 1)
    if not allow_incomplete:
        for run in (run_a, run_b):
            refuse_unfinished(run)
    matched, matched_by = _match(run_a, run_b)
    pairs = [(a, b) for a, b in matched if not (a.failed or b.failed)]
    larger = max(len(run_a.results), len(run_b.results), 1)
    if len(matched) < max(1, min_overlap * larger):
        raise DataError(
            f"runs {run_a.id} and {run_b.id} share only {len(matched)} of {larger} examples "
            f"(matched by {matched_by}); compare runs over the same test set"
        )
    names = [m for m in _metrics(run_a) if m in _metrics(run_b)]
    if not names:
        raise DataError(f"runs {run_a.id} and {run_b.id} have no metric in common")
    if metric is not None and metric not in names:
        raise OptionError(
            "metric", f"{metric}: not scored in both runs; they share {', '.join(names)}"
        )
    main = pick_main(names, metric)
    if main is None:
        raise DataError(
            f"runs {run_a.id} and {run_b.id} share only metrics with no better direction "
            f"({', '.join(names)}); score them with one that decides right and wrong "
            "(exact_match, f1)"
        )
    results = [
        _compare_metric(name, pairs, alpha=alpha, rounds=rounds, seed=seed) for name in names
    ]
    cut = threshold if threshold is not None else threshold_for(main, binary=_binary(main, pairs))
    return Comparison(
        run_a=run_a.id,
        run_b=run_b.id,
        matched_by=matched_by,
        n_matched=len(pairs),
        left_out=len(matched) - len(pairs),
        only_a=len(run_a.results) - len(matched),
        only_b=len(run_b.results) - len(matched),
        mismatches=mismatches(run_a, run_b),
        metrics=results,
        main_metric=main,
        threshold=cut,
        examples=[_change(a, b, main, cut, run_a.info) for a, b in pairs],
    )


def mismatches(run_a: Run, run_b: Run) -> list[Mismatch]:
    """Fields that make two runs not comparable: data set, template, generation
    parameters, judge, dtype, kind."""
    a, b = run_a.info, run_b.info
    found = [Mismatch(f, getattr(a, f), getattr(b, f)) for f in COMPARED_FIELDS]
    left, right = config_fields(a.config), config_fields(b.config)
    for key in sorted(set(left) | set(right)):
        found.append(Mismatch(key, left.get(key), right.get(key)))
    found.append(
        Mismatch("model_details.dtype", a.model_details.get("dtype"), b.model_details.get("dtype"))
    )
    return [m for m in found if m.a != m.b]


def config_fields(config: RunConfig) -> dict[str, Any]:
    """A run's config as flat "prompt.template" / "generation.max_new_tokens" fields."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                walk(f"{prefix}{f.name}.", getattr(value, f.name))
        else:
            flat[prefix.rstrip(".")] = list(value) if isinstance(value, tuple) else value

    walk("", config)
    return flat


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


def _binary(name: str, pairs: Sequence[tuple[ExampleResult, ExampleResult]]) -> bool:
    a, b = _values(pairs, name)
    return bool(np.all(np.isin(a, (0.0, 1.0))) and np.all(np.isin(b, (0.0, 1.0))))


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
    pass_fail = _binary(name, pairs)  # McNemar on 0/1 outcomes
    p = stats.mcnemar(a, b) if pass_fail else stats.permutation_test(diff, rounds=rounds, seed=seed)
    low, high = stats.bootstrap_interval(diff, rounds=min(rounds, 2000), seed=seed)
    mean_diff = float(diff.mean()) if diff.size else math.nan
    higher = higher_is_better(name)
    significant = p < alpha
    verdict = "same"
    if significant and mean_diff != 0:
        if higher is None:
            verdict = "changed"
        else:
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


def _change(
    a: ExampleResult, b: ExampleResult, metric: str, threshold: float, info: RunInfo
) -> ExampleChange:
    score_a, score_b = _value(a, metric), _value(b, metric)
    higher = higher_is_better(metric) is not False  # the main metric has a direction
    right_a = (score_a >= threshold) == higher and not math.isnan(score_a)
    right_b = (score_b >= threshold) == higher and not math.isnan(score_b)
    outcome: Outcome = (
        ("both_right" if right_b else "broken")
        if right_a
        else ("fixed" if right_b else "both_wrong")
    )
    return ExampleChange(
        a.example_id,
        a.input,
        a.reference,
        a.prediction,
        b.prediction,
        score_a,
        score_b,
        outcome,
        asked(a, info),
    )

"""Building a card: the base model's runs against each fine-tune's, as named steps.

    resolve the names ──► pair the eval runs ──► per test set: compare, error shifts,
                          (refuse the others)     slices, reference changes, verdicts
                      ──► pair the bench runs ──► per task: McNemar on the same questions,
                          (same shots)            one sentence on general ability
                      ──► the training curve, when a fine-tune is a checkpoint of one

Nothing is computed here that the areas do not already compute: compare_runs for
every paired difference, analyze_errors for every category, the arena's battles for
verdicts. Error categories are computed afresh for both runs with the comparison's
main metric and threshold, so "before" and "after" follow the same rule (a stored
`assay errors` analysis may have used other options).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from assay.card.matching import (
    MIN_SHARED_QUESTIONS,
    Refusal,
    Side,
    pair_eval,
    refuse_other_shots,
    resolve_side,
    task_shots,
)
from assay.card.records import (
    BenchSection,
    BenchTask,
    Card,
    Curve,
    CurvePoint,
    ErrorShift,
    HeadToHead,
    ReferenceChange,
    TaskSection,
    TunedCard,
)
from assay.compare import compare_runs
from assay.compare.paired import MetricComparison
from assay.error_analysis.records import ExampleError
from assay.exceptions import AssayError
from assay.runs.records import ExampleResult, Run, RunInfo
from assay.runs.verdicts import higher_is_better, refuse_unfinished
from assay.slices import compare_slices, split, sub_run
from assay.store import RunFilter, Store


def build_card(
    store: Store,
    base: str,
    tuned: Sequence[str],
    *,
    by: str | None = None,
    metric: str | None = None,
    threshold: float | None = None,
    alpha: float = 0.05,
    allow_incomplete: bool = False,
    train_vocabulary: frozenset[str] = frozenset(),
    group: str | None = None,
) -> Card:
    """The base model against one or more fine-tunes, from their stored runs.

    Args:
        store: The store holding the runs.
        base: The base model's runs: an id, id prefix, or a name (its eval and bench runs).
        tuned: Each fine-tune's runs, named the same way.
        by: A metadata field to slice the task on ("topic").
        metric / threshold: The task's main metric and what counts as wrong (as compare).
        alpha: Significance level of every paired test.
        allow_incomplete: Compare runs that are not complete, on what both answered.
        train_vocabulary: Known words for the spelling category (see error_analysis).
        group: A training run whose checkpoints to plot (default: the fine-tune's own).

    Raises:
        NotFoundError / StoreError: A name matches nothing, or is ambiguous.
        AssayError: Nothing could be paired (the message gives each reason).
    """
    if not tuned:
        raise AssayError("give the base model's runs and at least one fine-tune's")
    base_side = resolve_side(store, base)
    base_evals = [store.load_run(info.id) for info in base_side.evals]
    base_bench = store.load_run(base_side.bench.id) if base_side.bench else None
    card = Card(base=base, base_runs=_runs_of(base_side), tuned=[], by=by)
    for label in tuned:
        side = resolve_side(store, label)
        part = TunedCard(name=label)
        for info in side.evals:
            run = store.load_run(info.id)
            partner, refusal = pair_eval(base_evals, run)
            if refusal is not None:
                card.refusals.append(refusal)
                continue
            assert partner is not None
            part.tasks.append(
                task_section(
                    store,
                    partner,
                    run,
                    by=by,
                    metric=metric,
                    threshold=threshold,
                    alpha=alpha,
                    allow_incomplete=allow_incomplete,
                    train_vocabulary=train_vocabulary,
                )
            )
        if side.bench is not None:
            if base_bench is None:
                card.refusals.append(
                    Refusal(_who(side.bench), "", "the base has no bench run to pair it with")
                )
            elif base_bench.id == side.bench.id:
                card.refusals.append(
                    Refusal(_who(side.bench), _who(side.bench), "the same run as the base's")
                )
            else:
                tuned_bench = store.load_run(side.bench.id)
                part.bench = bench_section(
                    base_bench,
                    tuned_bench,
                    card.refusals,
                    alpha=alpha,
                    allow_incomplete=allow_incomplete,
                )
        part.curve = curve(store, group or _group_of(store, side))
        card.tuned.append(part)
    if not any(p.tasks or p.bench or p.curve for p in card.tuned):
        reasons = "; ".join(f"{r.run}: {r.reason}" for r in card.refusals) or (
            "the fine-tunes have no eval or bench runs"
        )
        raise AssayError(f"nothing to put on the card: {reasons}")
    return card


def task_section(
    store: Store,
    base: Run,
    tuned: Run,
    *,
    by: str | None = None,
    metric: str | None = None,
    threshold: float | None = None,
    alpha: float = 0.05,
    allow_incomplete: bool = False,
    train_vocabulary: frozenset[str] = frozenset(),
) -> TaskSection:
    """The fine-tune's eval run against the base's on the same examples."""
    from assay.review.labels import label_counts

    comparison = compare_runs(
        base,
        tuned,
        metric=metric,
        threshold=threshold,
        alpha=alpha,
        allow_incomplete=allow_incomplete,
    )
    shifts, categories = error_shifts(
        base, tuned, comparison.main_metric, comparison.threshold, train_vocabulary
    )
    section = TaskSection(
        base_run=base,
        tuned_run=tuned,
        comparison=comparison,
        errors=shifts,
        categories=categories,
        reference_changes=reference_changes(base, tuned),
        head_to_head=head_to_head(store, base.info, tuned.info),
        labels={
            base.info.name: label_counts(store, base.id),
            tuned.info.name: label_counts(store, tuned.id),
        },
    )
    if by is not None:
        section.slices = compare_slices(
            base,
            tuned,
            by,
            metric=comparison.main_metric,
            threshold=comparison.threshold,
            alpha=alpha,
            allow_incomplete=allow_incomplete,
        )
    return section


def error_shifts(
    base: Run,
    tuned: Run,
    metric: str | None,
    threshold: float | None,
    train_vocabulary: frozenset[str] = frozenset(),
) -> tuple[list[ErrorShift], dict[str, tuple[tuple[str, ...], tuple[str, ...]]]]:
    """Each category before and after, with the examples it left and gained; and every
    example's categories on both sides."""
    from assay.error_analysis import ErrorOptions, analyze_errors

    options = ErrorOptions(metric=metric, threshold=threshold, train_vocabulary=train_vocabulary)
    before = analyze_errors(base, options)
    after = analyze_errors(tuned, options)
    found_before = _by_category(before.errors)
    found_after = _by_category(after.errors)
    severity = {e.category: e.severity for e in [*before.errors, *after.errors]}
    rank = {"high": 0, "medium": 1, "low": 2}
    names = sorted(
        set(found_before) | set(found_after),
        key=lambda c: (
            rank.get(severity[c], 1),
            -max(len(found_before.get(c, ())), len(found_after.get(c, ()))),
            c,
        ),
    )
    shifts = [
        ErrorShift(
            category=name,
            severity=severity[name],
            before=len(found_before.get(name, ())),
            after=len(found_after.get(name, ())),
            fixed=tuple(sorted(set(found_before.get(name, ())) - set(found_after.get(name, ())))),
            introduced=tuple(
                sorted(set(found_after.get(name, ())) - set(found_before.get(name, ())))
            ),
        )
        for name in names
    ]
    per_example: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    ids = [r.example_id for r in base.results] + [r.example_id for r in tuned.results]
    for example_id in dict.fromkeys(ids):
        per_example[example_id] = (
            tuple(c for c in names if example_id in found_before.get(c, ())),
            tuple(c for c in names if example_id in found_after.get(c, ())),
        )
    return shifts, per_example


def _by_category(errors: Sequence[ExampleError]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for error in errors:
        found.setdefault(error.category, []).append(error.example_id)
    return found


def reference_changes(run_a: Run, run_b: Run) -> list[ReferenceChange]:
    """Examples (matched by id) whose reference differs between the two runs: the test
    set was corrected between them."""
    theirs = {r.example_id: r.reference for r in run_b.results}
    return [
        ReferenceChange(r.example_id, r.reference, theirs[r.example_id])
        for r in run_a.results
        if r.example_id in theirs and (r.reference or "") != (theirs[r.example_id] or "")
    ]


def head_to_head(store: Store, base: RunInfo, tuned: RunInfo) -> list[HeadToHead]:
    """Battles between the two runs (arena judges, blind human votes), per source.

    A battle that names its runs (judged or voted on stored runs) counts when they are
    these two; one that names only models (an imported file) counts by the runs' names,
    which are what battles call models.
    """
    from scipy.stats import binomtest

    from assay.arena import load_battles
    from assay.review.votes import model_name

    a, b = model_name(base), model_name(tuned)
    runs = {base.id, tuned.id}
    counts: dict[str, list[int]] = {}
    for battle in load_battles(store):
        if {battle.model_a, battle.model_b} != {a, b}:
            continue
        named = battle.run_a is not None and battle.run_b is not None
        if named and {battle.run_a, battle.run_b} != runs:
            continue
        tally = counts.setdefault(battle.source, [0, 0, 0])
        if battle.winner.startswith("tie"):
            tally[2] += 1
        elif (battle.winner == "model_a") == (battle.model_a == b):
            tally[0] += 1
        else:
            tally[1] += 1
    found = []
    for source, (wins, losses, ties) in sorted(counts.items()):
        decisive = wins + losses
        p = float(binomtest(wins, decisive, 0.5).pvalue) if decisive else 1.0
        found.append(HeadToHead(source, wins, losses, ties, p))
    return found


def bench_section(
    base: Run,
    tuned: Run,
    refusals: list[Refusal],
    *,
    alpha: float = 0.05,
    allow_incomplete: bool = False,
) -> BenchSection:
    """Per task, the fine-tune against the base on the questions both answered."""
    from assay.bench.tasks import get_task

    if not allow_incomplete:
        refuse_unfinished(base)
        refuse_unfinished(tuned)
    mine = split(tuned.results, "task") if tuned.results else {}
    tasks = []
    for task, base_results in (split(base.results, "task") if base.results else {}).items():
        tuned_results = mine.get(task)
        if not tuned_results:
            continue
        refusal = refuse_other_shots(base.info, tuned.info, task)
        if refusal is not None:
            refusals.append(refusal)
            continue
        shared = {r.example_id for r in base_results} & {r.example_id for r in tuned_results}
        larger = max(len(base_results), len(tuned_results))
        if len(shared) < MIN_SHARED_QUESTIONS * larger:
            refusals.append(
                Refusal(
                    f"{_who(tuned.info)} {task}",
                    _who(base.info),
                    f"other questions: {len(shared)} of {larger} {task} questions shared",
                )
            )
            continue
        main_metric = get_task(task).main_metric
        comparison = compare_runs(
            sub_run(base, _only(base_results, shared)),
            sub_run(tuned, _only(tuned_results, shared)),
            metric=main_metric if _scored(base_results, main_metric) else None,
            alpha=alpha,
            min_overlap=0.0,
            allow_incomplete=True,  # checked above for the whole runs
        )
        tasks.append(
            BenchTask(
                task=task,
                shots=task_shots(base.info).get(task),
                main_metric=comparison.main_metric or main_metric,
                metrics=comparison.metrics,
                only_base=len(base_results) - len(shared),
                only_tuned=len(tuned_results) - len(shared),
            )
        )
    return BenchSection(base.info, tuned.info, tasks, general_ability(tasks, alpha))


def general_ability(tasks: Sequence[BenchTask], alpha: float) -> str:
    """The plain sentence: did general ability drop (or rise) beyond noise, and where."""
    if not tasks:
        return "No benchmark task was run by both models."
    mains = [(t, t.main) for t in tasks if t.main is not None]
    worse = [(t, m) for t, m in mains if m is not None and m.verdict == "worse"]
    better = [(t, m) for t, m in mains if m is not None and m.verdict == "better"]
    said = []
    if worse:
        said.append(
            "General ability dropped beyond noise on "
            + "; ".join(_moved(t, m) for t, m in worse)
            + "."
        )
    if better:
        said.append("It rose beyond noise on " + "; ".join(_moved(t, m) for t, m in better) + ".")
    if not said:
        widths = [
            (m.ci_high - m.ci_low) / 2
            for _, m in mains
            if m is not None and not math.isnan(m.ci_high - m.ci_low)
        ]
        n = min((m.n for _, m in mains if m is not None), default=0)
        wide = f" about ±{max(widths):.2f}" if widths else ""
        said.append(
            f"No benchmark moved beyond noise (paired McNemar, α = {alpha:g}). With {n} "
            f"questions per task the 95% intervals of the differences are{wide} wide: "
            "smaller changes in general ability would not show here."
        )
    return " ".join(said)


def _moved(task: BenchTask, m: MetricComparison) -> str:
    return (
        f"{task.task} ({m.metric} {m.a:.3f} → {m.b:.3f}, {m.diff:+.3f}, 95% interval "
        f"{m.ci_low:+.3f} to {m.ci_high:+.3f}, McNemar p = {m.p_value:.2g}, {m.n} questions)"
        if m.test == "mcnemar"
        else f"{task.task} ({m.metric} {m.a:.3f} → {m.b:.3f}, {m.diff:+.3f}, 95% interval "
        f"{m.ci_low:+.3f} to {m.ci_high:+.3f}, permutation p = {m.p_value:.2g}, {m.n} questions)"
    )


def curve(store: Store, group: str | None) -> Curve | None:
    """The checkpoints of a training run (runs tagged group:<name>), newest run per step."""
    if group is None:
        return None
    from assay.runs.records import GROUP_TAG

    infos = store.list_runs(RunFilter(tag=f"{GROUP_TAG}{group}", kind="eval"))
    by_step: dict[int, RunInfo] = {}
    for info in infos:  # newest first: the first of each step is kept
        if info.step is not None and info.status == "complete":
            by_step.setdefault(info.step, info)
    if not by_step:
        return None
    points = [
        CurvePoint(step, info.id, dict(info.summary)) for step, info in sorted(by_step.items())
    ]
    best: dict[str, int] = {}
    for name in dict.fromkeys(m for p in points for m in p.summary):
        if higher_is_better(name) is None:  # a length has no best
            continue
        scored = [
            (p.summary[name].mean, p.step)
            for p in points
            if name in p.summary and not math.isnan(p.summary[name].mean)
        ]
        if scored:
            sign = 1 if higher_is_better(name) else -1
            best[name] = max(scored, key=lambda pair: (sign * pair[0], -pair[1]))[1]
    return Curve(group, points, best)


def _group_of(store: Store, side: Side) -> str | None:
    """The training run a fine-tune belongs to: its eval run's group tag, or its label
    when checkpoints are tagged with it."""
    from assay.runs.records import GROUP_TAG

    for info in side.evals:
        if info.group is not None:
            return info.group
    if store.list_runs(RunFilter(tag=f"{GROUP_TAG}{side.label}")):
        return side.label
    return None


def _only(results: Sequence[ExampleResult], ids: set[str]) -> list[ExampleResult]:
    return [r for r in results if r.example_id in ids]


def _scored(results: Sequence[ExampleResult], metric: str) -> bool:
    return any(metric in r.scores for r in results)


def _runs_of(side: Side) -> list[RunInfo]:
    return [*side.evals, *([side.bench] if side.bench else [])]


def _who(info: RunInfo) -> str:
    return f"{info.id} ({info.name})"

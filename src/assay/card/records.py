"""What a card holds: typed records, built by assay.card.build and shown by the HTML
page (assay.card.html) and the terminal (assay.terminal.card)."""

from __future__ import annotations

from dataclasses import dataclass, field

from assay.card.matching import Refusal
from assay.compare.paired import Comparison, MetricComparison
from assay.metrics.base import MetricSummary
from assay.runs.records import Run, RunInfo
from assay.slices import SliceComparison


@dataclass(frozen=True)
class ErrorShift:
    """One error category, before (the base) and after (the fine-tune).

    Attributes:
        category / severity: The category.
        before / after: Examples in it.
        fixed: Example ids in it before and not after.
        introduced: Example ids in it after and not before.
    """

    category: str
    severity: str
    before: int
    after: int
    fixed: tuple[str, ...]
    introduced: tuple[str, ...]


@dataclass(frozen=True)
class ReferenceChange:
    """An example whose reference differs between two runs (a corrected test set).

    Attributes:
        example_id: The example, matched by id.
        before / after: The reference in the first run and in the second.
    """

    example_id: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class HeadToHead:
    """Battles between the base and the fine-tune, from one source.

    Attributes:
        source: "judge", "human" or "import".
        tuned_wins / base_wins / ties: Outcomes.
        p_value: Two-sided sign test on the decisive battles ("no preference").
    """

    source: str
    tuned_wins: int
    base_wins: int
    ties: int
    p_value: float


@dataclass
class TaskSection:
    """The fine-tune against the base on one test set.

    Attributes:
        base_run / tuned_run: The two eval runs (base / tuned: their infos).
        comparison: Paired differences per metric, outcomes per example.
        errors: Category shifts, most severe first.
        categories: Example id -> (categories before, categories after).
        slices: Paired differences per value of the --by field (empty without it).
        reference_changes: Examples whose reference differs between the runs.
        head_to_head: Pairwise verdicts between the two, per source.
        labels: Run name -> human labels per verdict.
    """

    base_run: Run = field(repr=False)
    tuned_run: Run = field(repr=False)
    comparison: Comparison
    errors: list[ErrorShift]
    categories: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]
    slices: list[SliceComparison] = field(default_factory=list)
    reference_changes: list[ReferenceChange] = field(default_factory=list)
    head_to_head: list[HeadToHead] = field(default_factory=list)
    labels: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def base(self) -> RunInfo:
        return self.base_run.info

    @property
    def tuned(self) -> RunInfo:
        return self.tuned_run.info


@dataclass(frozen=True)
class BenchTask:
    """One benchmark task, base against fine-tune on the same questions.

    Attributes:
        task / shots: The task as run.
        main_metric: The task's headline metric (acc_norm for ARC, mc2 for TruthfulQA).
        metrics: Every metric of the task, paired (McNemar for accuracies).
        only_base / only_tuned: Questions one run answered and the other did not.
    """

    task: str
    shots: int | None
    main_metric: str
    metrics: list[MetricComparison]
    only_base: int = 0
    only_tuned: int = 0

    @property
    def main(self) -> MetricComparison | None:
        return next((m for m in self.metrics if m.metric == self.main_metric), None)


@dataclass
class BenchSection:
    """The benchmarks of the fine-tune against the base's.

    Attributes:
        base / tuned: The two bench runs.
        tasks: Per task, in the base run's order.
        sentence: The plain verdict on general ability.
    """

    base: RunInfo
    tuned: RunInfo
    tasks: list[BenchTask]
    sentence: str


@dataclass(frozen=True)
class CurvePoint:
    """One checkpoint of a training run."""

    step: int
    run_id: str
    summary: dict[str, MetricSummary]


@dataclass
class Curve:
    """A training run's checkpoints (runs tagged group:<name>), by step.

    Attributes:
        group: The training run's name.
        points: One per step (the newest run of each step), in step order.
        best: Metric -> the step of its best mean.
    """

    group: str
    points: list[CurvePoint]
    best: dict[str, int]

    @property
    def metrics(self) -> list[str]:
        return list(dict.fromkeys(m for p in self.points for m in p.summary))


@dataclass
class TunedCard:
    """One fine-tune's part of the card.

    Attributes:
        name: The fine-tune as the user named it.
        tasks: One section per test set both sides ran.
        bench: The benchmarks, when both sides have a bench run.
        curve: Its training checkpoints, when it is one or names a group.
    """

    name: str
    tasks: list[TaskSection] = field(default_factory=list)
    bench: BenchSection | None = None
    curve: Curve | None = None


@dataclass
class Card:
    """The base model against one or more fine-tunes, on the task and the benchmarks.

    Attributes:
        base: The base model's name as given.
        base_runs: Its runs.
        tuned: One part per fine-tune.
        refusals: Runs left out, with the reason.
        by: The metadata field the task is sliced on, or None.
    """

    base: str
    base_runs: list[RunInfo]
    tuned: list[TunedCard]
    refusals: list[Refusal] = field(default_factory=list)
    by: str | None = None

    def headline(self) -> list[str]:
        """One line per fine-tune: the task's main metric, every other metric that moved
        beyond noise (a length "changed"), and the benchmarks."""
        lines = []
        for part in self.tuned:
            said = []
            for section in part.tasks:
                main = next(
                    (
                        m
                        for m in section.comparison.metrics
                        if m.metric == section.comparison.main_metric
                    ),
                    None,
                )
                if main is not None:
                    said.append(_metric_sentence(main, section.tuned.dataset_name))
                    moved = [
                        m
                        for m in section.comparison.metrics
                        if m is not main and m.verdict != "same"
                    ]
                    if moved:  # the main metric alone would hide them
                        said.append("Also beyond noise: " + "; ".join(map(_moved, moved)) + ".")
            if part.bench is not None:
                said.append(part.bench.sentence)
            lines.append(
                f"{part.name}: " + " ".join(said) if said else f"{part.name}: nothing to compare."
            )
        return lines


def _moved(m: MetricComparison) -> str:
    return f"{m.metric} {m.verdict} {m.a:.3f} → {m.b:.3f} ({m.diff:+.3f}, p = {m.p_value:.2g})"


def _metric_sentence(m: MetricComparison, data: str) -> str:
    where = f"on {data}"
    if m.verdict == "better":
        return f"better {where}: {m.metric} {m.a:.3f} → {m.b:.3f} ({m.diff:+.3f}, p = {m.p_value:.2g})."
    if m.verdict == "worse":
        return (
            f"worse {where}: {m.metric} {m.a:.3f} → {m.b:.3f} ({m.diff:+.3f}, p = {m.p_value:.2g})."
        )
    return (
        f"no difference beyond noise {where}: {m.metric} {m.a:.3f} → {m.b:.3f} "
        f"({m.diff:+.3f}, p = {m.p_value:.2g})."
    )

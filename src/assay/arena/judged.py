"""Battles between stored runs, decided by a pairwise judge in both orders.

For every pair of runs, the examples both answered (by example id) are judged;
a verdict that flips when the answers swap places is a tie, and the share of
verdicts that do not flip (position consistency) is reported, with judges
under 60% flagged as unreliable.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assay.arena.battles import Battle, Winner, save_battles
from assay.exceptions import AssayError, OptionError
from assay.judge import Judge, PairItem
from assay.runs.records import Run
from assay.runs.verdicts import refuse_unfinished

if TYPE_CHECKING:
    from assay.store import Store

RELIABLE_CONSISTENCY = 0.6


@dataclass(frozen=True)
class ArenaReport:
    """What judging battles between runs produced.

    Attributes:
        battles: The battles stored (unparsable pairs are not battles).
        pairs_judged: Example pairs put to the judge.
        consistent: Pairs whose verdict did not flip with the order.
        unparsable: Pairs left without a verdict after one retry.
        judge: The judge's name (model, prompt version, fingerprint).
    """

    battles: list[Battle]
    pairs_judged: int
    consistent: int
    unparsable: int
    judge: str

    @property
    def readable(self) -> int:
        """Pairs with a verdict in both orders."""
        return self.pairs_judged - self.unparsable

    @property
    def consistency(self) -> float:
        """Position-consistency rate over the pairs with a readable verdict (NaN: none)."""
        return self.consistent / self.readable if self.readable else float("nan")

    @property
    def reliable(self) -> bool:
        """Readable verdicts that mostly survive swapping the answers' places."""
        return self.readable > 0 and self.consistency >= RELIABLE_CONSISTENCY


def judge_runs(
    store: Store, run_ids: Sequence[str], judge: Judge, *, allow_incomplete: bool = False
) -> ArenaReport:
    """Judge battles between every pair of runs on their shared examples, and store them.

    Examples that failed in either run (no output) are never judged; runs that are
    not complete are refused unless ``allow_incomplete``.

    Raises:
        OptionError: Fewer than two runs, or a run that is not complete.
        AssayError: Two runs that share no example.
    """
    if len(run_ids) < 2:
        raise OptionError("runs", "must name at least two runs")
    runs = [store.load_run(run_id) for run_id in run_ids]
    if not allow_incomplete:
        for run in runs:
            refuse_unfinished(run)
    names = model_names(runs)
    battles: list[Battle] = []
    counts: Counter[str] = Counter()
    for (run_x, name_x), (run_y, name_y) in itertools.combinations(
        zip(runs, names, strict=True), 2
    ):
        items = shared_items(run_x, run_y)
        verdicts = judge.compare(items)
        for item, verdict in zip(items, verdicts, strict=True):
            counts["pairs"] += 1
            counts["consistent"] += verdict.consistent
            if verdict.winner == "unparsable":
                counts["unparsable"] += 1
                continue
            winner: Winner = {"x": "model_a", "y": "model_b"}.get(verdict.winner, "tie")  # type: ignore[assignment]
            battles.append(
                Battle(
                    model_a=name_x,
                    model_b=name_y,
                    winner=winner,
                    source="judge",
                    decided_by=judge.name,
                    run_a=run_x.info.id,
                    run_b=run_y.info.id,
                    example_id=item.example_id,
                    detail={
                        "first": verdict.first,
                        "second": verdict.second,
                        "consistent": verdict.consistent,
                        "reasons": list(verdict.reasons),
                        "judge": judge.identity,
                    },
                )
            )
    save_battles(store, battles)
    return ArenaReport(
        battles, counts["pairs"], counts["consistent"], counts["unparsable"], judge.name
    )


def model_names(runs: Sequence[Run]) -> list[str]:
    """A name per run for the leaderboard: its model spec, with the run id where specs repeat."""
    specs = Counter(run.info.model_spec for run in runs)
    return [
        run.info.model_spec
        if specs[run.info.model_spec] == 1
        else f"{run.info.model_spec} ({run.info.id})"
        for run in runs
    ]


def shared_items(run_x: Run, run_y: Run) -> list[PairItem]:
    """The examples both runs answered without error, as pairs to judge.

    Raises:
        AssayError: The runs share no example.
    """
    answers_y = {r.example_id: r for r in run_y.results if not r.failed}
    items = [
        PairItem(
            r.input, r.reference, r.prediction, answers_y[r.example_id].prediction, r.example_id
        )
        for r in run_x.results
        if not r.failed and r.example_id in answers_y
    ]
    if not items:
        raise AssayError(
            f"runs {run_x.info.id} and {run_y.info.id} share no example; "
            "the arena compares answers to the same examples"
        )
    return items

"""Which stored runs a card puts side by side.

A side of the card (the base model, or one fine-tune) is named the way users name
runs: by id, unique id prefix, or name. A name may stand for several runs, since the
loop names an eval and a bench run alike (`--name base` on both): every run of that
exact name is taken, one eval run per test set and one bench run at most. Two runs
of one name on the same test set (or two bench runs) are ambiguous, and the error
lists them with their ids.

Pairs are made like for like, and refused with the reason otherwise:

- eval runs pair by their examples: the same example ids (matched by id, as
  compare does; references may differ, and the card says which). A fine-tune's run
  on other examples is refused ("other examples: 20 of 48 shared").
- bench runs pair per task, on the questions both answered, with the same shots; a
  task run with other shots is refused ("other shots: 25 against 0").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assay.exceptions import StoreError
from assay.runs.records import BenchConfig, Run, RunInfo
from assay.store import RunFilter, Store

MIN_SHARED = 0.9
"""Share of the larger eval run's examples that must be shared for a pair."""

MIN_SHARED_QUESTIONS = 0.5
"""Share of the larger bench task's questions that must be shared for a pair."""


@dataclass(frozen=True)
class Refusal:
    """A run the card leaves out, and why.

    Attributes:
        run: The run left out (id and name).
        against: The run it could not be paired with ("" when there is none).
        reason: Why, in words.
    """

    run: str
    against: str
    reason: str


@dataclass(frozen=True)
class Side:
    """The runs one name or id stands for.

    Attributes:
        label: What the user typed.
        evals: Its eval runs (one per test set).
        bench: Its bench run, or None.
    """

    label: str
    evals: list[RunInfo]
    bench: RunInfo | None

    @property
    def name(self) -> str:
        runs = [*self.evals, *([self.bench] if self.bench else [])]
        return runs[0].name if runs else self.label


def resolve_side(store: Store, label: str) -> Side:
    """The runs a name, id or id prefix stands for.

    Raises:
        NotFoundError: Nothing matches.
        StoreError: Several runs of that name on one test set, or several bench runs.
    """
    named = [info for info in store.list_runs(RunFilter(name=label)) if info.name == label]
    infos = named or [store.get_run_info(label)]
    evals: dict[str, list[RunInfo]] = {}
    benches: list[RunInfo] = []
    for info in infos:
        if info.kind == "bench":
            benches.append(info)
        else:
            evals.setdefault(info.dataset_fingerprint, []).append(info)
    for group in [*evals.values(), benches]:
        if len(group) > 1:
            listed = ", ".join(f"{i.id} ({i.kind} on {i.dataset_name})" for i in group)
            raise StoreError(
                f"'{label}' names {len(group)} runs of one kind on the same data: {listed}; "
                "give an id, or rename one (assay rename)"
            )
    return Side(label, [group[0] for group in evals.values()], benches[0] if benches else None)


def pair_eval(base: Sequence[Run], tuned: Run) -> tuple[Run | None, Refusal | None]:
    """The base run on the same examples as the fine-tune's run, or why there is none."""
    if not base:
        return None, Refusal(_who(tuned.info), "", "the base has no eval run to pair it with")
    if any(run.id == tuned.id for run in base):
        return None, Refusal(_who(tuned.info), _who(tuned.info), "the same run as the base's")
    ids = {r.example_id for r in tuned.results}
    best = max(base, key=lambda run: len(ids & {r.example_id for r in run.results}))
    shared = len(ids & {r.example_id for r in best.results})
    larger = max(len(ids), len(best.results), 1)
    if shared < MIN_SHARED * larger:
        return None, Refusal(
            _who(tuned.info),
            _who(best.info),
            f"other examples: {shared} of {larger} shared ({tuned.info.n_examples} examples "
            f"of {tuned.info.dataset_name} against {best.info.n_examples} of "
            f"{best.info.dataset_name})",
        )
    return best, None


def task_shots(info: RunInfo) -> dict[str, int]:
    """A bench run's shots per task."""
    return dict(info.config.shots) if isinstance(info.config, BenchConfig) else {}


def refuse_other_shots(base: RunInfo, tuned: RunInfo, task: str) -> Refusal | None:
    """A refusal when the two bench runs ran the task with different shots."""
    a, b = task_shots(base).get(task), task_shots(tuned).get(task)
    if a is not None and b is not None and a != b:
        return Refusal(
            f"{_who(tuned)} {task}",
            _who(base),
            f"other shots: {task} ran {b}-shot in the fine-tune and {a}-shot in the base",
        )
    return None


def _who(info: RunInfo) -> str:
    return f"{info.id} ({info.name})"

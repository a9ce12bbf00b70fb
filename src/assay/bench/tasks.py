"""Benchmark tasks: what a task is, and the registry that names them.

A task turns the rows of a data set into multiple-choice questions, exactly as
lm-evaluation-harness 0.4.x builds them: a description, few-shot examples
joined by the few-shot delimiter "\\n\\n", each as text + " " + answer, then
the question's text; every choice is scored as the continuation " " + choice.
Register one with :func:`register_task` on an instance; groups (MMLU's 57
subjects) register with :func:`register_group`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from assay.bench.data import DataSpec, Doc
from assay.exceptions import AssayError, did_you_mean

TARGET_DELIMITER = " "
FEWSHOT_DELIMITER = "\n\n"
Sampler = Literal["random", "first_n"]


class Task:
    """One benchmark task, as the harness defines it. Subclasses fill in the data and prompts.

    Attributes:
        name: The harness's task name ("arc_challenge").
        metrics: Per-question metrics, in order ("acc", "acc_norm" or "mc2").
        main_metric: The metric a suite reports for this task.
        default_shots: Few-shot examples when --num-fewshot is not given (the leaderboard's).
        sampler: "random" (the harness's seeded sampler) or "first_n" (the first examples, in order).
        version: The harness's task version, written into its results layout.
    """

    name: str = ""
    metrics: tuple[str, ...] = ("acc", "acc_norm")
    main_metric: str = "acc_norm"
    default_shots: int = 0
    sampler: Sampler = "random"
    version: float = 1.0
    dataset_path: str = ""
    dataset_name: str | None = None

    def eval_data(self) -> DataSpec:
        """The split the questions come from."""
        raise NotImplementedError

    def fewshot_data(self) -> DataSpec | None:
        """The split few-shot examples are drawn from, or None when the task has none."""
        return None

    @property
    def fewshot_from_eval_split(self) -> bool:
        """Whether the harness removes the question itself from its few-shot draw.

        The harness passes the question to the sampler when the few-shot split
        equals the test split, which is also the case when both are unset
        (HellaSwag): it then draws one example more and drops the question.
        """
        return False

    def process(self, doc: Doc) -> Doc:
        """The harness's process_docs for one row (HellaSwag's text cleaning); identity here."""
        return doc

    def description(self, doc: Doc) -> str:
        return ""

    def doc_to_text(self, doc: Doc) -> str:
        raise NotImplementedError

    def doc_to_choice(self, doc: Doc) -> list[str]:
        raise NotImplementedError

    def doc_to_target(self, doc: Doc) -> int:
        raise NotImplementedError

    def question_text(self, doc: Doc) -> str:
        """The question as a person would read it (stored as the run's input)."""
        return str(doc.get("question", self.doc_to_text(doc)))

    def true_labels(self, doc: Doc) -> tuple[int, ...] | None:
        """For mc2: 1 for each true choice, 0 for each false one; None elsewhere."""
        return None


@dataclass(frozen=True)
class TaskGroup:
    """Tasks reported together (MMLU's subjects): each on its own, and aggregated.

    Attributes:
        name: The group's name ("mmlu").
        tasks: Its tasks' names.
        main_metric: The metric a suite reports for the group.
        version: The harness's group version.
    """

    name: str
    tasks: tuple[str, ...]
    main_metric: str = "acc"
    version: float = 2.0


_TASKS: dict[str, Task] = {}
_GROUPS: dict[str, TaskGroup] = {}


def register_task(task: Task) -> Task:
    """Add a task to the registry under its name."""
    if not task.name:
        raise AssayError(f"{type(task).__name__} has no name")
    _TASKS[task.name] = task
    return task


def register_group(group: TaskGroup) -> TaskGroup:
    _GROUPS[group.name] = group
    return group


def get_task(name: str) -> Task:
    _load_builtin()
    try:
        return _TASKS[name]
    except KeyError:
        raise AssayError(
            f"unknown benchmark task '{name}'.{did_you_mean(name, _TASKS)} {known_names()}"
        ) from None


def get_group(name: str) -> TaskGroup | None:
    _load_builtin()
    return _GROUPS.get(name)


def list_tasks() -> list[str]:
    _load_builtin()
    return sorted(_TASKS)


def known_names() -> str:
    _load_builtin()
    from assay.bench.suites import SUITES

    plain = sorted(n for n in _TASKS if not n.startswith("mmlu_"))
    return (
        f"Known: {', '.join([*sorted(SUITES), *sorted(_GROUPS), *plain])}, "
        "and mmlu_<subject> for each MMLU subject."
    )


def _load_builtin() -> None:
    from assay.bench import arc, hellaswag, mmlu, truthfulqa  # noqa: F401

"""Benchmark tasks: what a task is, and the registry that names them.

A task turns the rows of a data set into multiple-choice questions, exactly as
lm-evaluation-harness 0.4.x builds them: a description, few-shot examples
joined by the few-shot delimiter "\\n\\n", each as text + " " + answer, then
the question's text; every choice is scored as the continuation " " + choice.
Register one with :func:`register_task` on an instance; groups (MMLU's 57
subjects) register with :func:`register_group`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from assay.bench.data import DataSpec, Doc
from assay.exceptions import AssayError, did_you_mean

if TYPE_CHECKING:
    from assay.bench.data import DataSource
    from assay.bench.fewshot import Question

TARGET_DELIMITER = " "
FEWSHOT_DELIMITER = "\n\n"
Sampler = Literal["random", "first_n"]
OutputType = Literal["multiple_choice", "generate_until"]


class Task:
    """One benchmark task, as the harness defines it. Subclasses fill in the data and prompts.

    Attributes:
        name: The harness's task name ("arc_challenge").
        metrics: Per-question metrics, in order ("acc", "acc_norm" or "mc2").
        main_metric: The metric a suite reports for this task.
        default_shots: Few-shot examples when --num-fewshot is not given (the leaderboard's).
        sampler: "random" (the harness's seeded sampler) or "first_n" (the first examples, in order).
        version: The harness's task version, written into its results layout.
        output_type: "multiple_choice" (choices scored by log-likelihood) or
            "generate_until" (a generated answer, extracted and compared; see generative.py).
        target_delimiter: Between a prompt and its answer (" " unless the task says otherwise).
        fewshot_delimiter: After each few-shot example.
        harness_metrics: assay's metric name -> the harness's "metric,filter" where they differ.
    """

    name: str = ""
    metrics: tuple[str, ...] = ("acc", "acc_norm")
    main_metric: str = "acc_norm"
    default_shots: int = 0
    sampler: Sampler = "random"
    version: float = 1.0
    dataset_path: str = ""
    dataset_name: str | None = None
    output_type: OutputType = "multiple_choice"
    target_delimiter: str = TARGET_DELIMITER
    fewshot_delimiter: str = FEWSHOT_DELIMITER
    harness_metrics: Mapping[str, str] = {}
    source: str | None = None
    """The file a task was read from (task files); None for the built-in tasks."""

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

    def eval_docs(self, source: DataSource) -> list[Doc]:
        """The questions' rows (processed), in order; most tasks read their eval split."""
        return [self.process(d) for d in source.load(self.eval_data())]

    def fewshot_pool(self, source: DataSource) -> list[Doc]:
        """The rows few-shot examples are drawn from (processed); most tasks read a split."""
        spec = self.fewshot_data()
        return [self.process(d) for d in source.load(spec)] if spec is not None else []

    def own_contexts(self, docs: Sequence[Doc], shots: int) -> list[str] | None:
        """Full prompts for these rows when the task builds its few-shot prompts its own way
        (BIG-bench's sampler); None builds them the harness's way (fewshot.py)."""
        return None

    def fewshot_answer(self, doc: Doc) -> str:
        """The answer written after a few-shot example: the gold choice's text."""
        return self.doc_to_choice(doc)[self.doc_to_target(doc)]

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

    def fingerprint(self) -> str:
        """What else than its questions decides a task's outputs (a generative task's
        generation settings, a file task's content); "" for the built-in tasks."""
        return ""

    def question_text(self, doc: Doc) -> str:
        """The question as a person would read it (stored as the run's input)."""
        return str(doc.get("question", self.doc_to_text(doc)))

    def true_labels(self, doc: Doc) -> tuple[int, ...] | None:
        """For mc2: 1 for each true choice, 0 for each false one; None elsewhere."""
        return None

    def choice_scores(self, question: Question, logliks: Sequence[float]) -> dict[str, float]:
        """A multiple-choice question's scores from its choices' log-likelihoods
        (the harness's acc, acc_norm and mc2 unless a task scores otherwise)."""
        from assay.bench.choices import question_scores

        return question_scores(question, logliks)


@dataclass(frozen=True)
class TaskGroup:
    """Tasks reported together (MMLU's subjects): each on its own, and aggregated.

    Attributes:
        name: The group's name ("mmlu").
        tasks: Its tasks' names.
        main_metric: The metric a suite reports for the group.
        version: The harness's group version.
        parts: What its tasks are called, for the mean that counts each once
            ("subjects": MMLU's acc_subjects).
    """

    name: str
    tasks: tuple[str, ...]
    main_metric: str = "acc"
    version: float = 2.0
    parts: str = "subjects"


_TASKS: dict[str, Task] = {}
_GROUPS: dict[str, TaskGroup] = {}


def register_task(task: Task, *, replace: bool = True) -> Task:
    """Add a task to the registry under its name.

    Args:
        task: The task.
        replace: Whether a built-in task of that name is replaced (False for tasks read
            from files, which must not shadow one).
    """
    if not task.name:
        raise AssayError(f"{type(task).__name__} has no name")
    known = _TASKS.get(task.name)
    if not replace and known is not None and known.source is None:
        raise AssayError(
            f"{task.source}: the task name '{task.name}' is a built-in task's; "
            "give the file's task another name"
        )
    _TASKS[task.name] = task
    return task


def register_group(group: TaskGroup) -> TaskGroup:
    """Add a group (its tasks registered already) under its name."""
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

    plain = sorted(
        n
        for n, task in _TASKS.items()
        if task.source is None and not n.startswith(("mmlu_", "bbh_cot_fewshot_"))
    )
    return (
        f"Known: {', '.join([*sorted(SUITES), *sorted(_GROUPS), *plain])}, "
        "mmlu_<subject> for each MMLU subject, bbh_cot_fewshot_<task> for each BIG-Bench "
        "Hard task, and the path of a task file (.yaml, .toml, or a BIG-bench task.json)."
    )


def _load_builtin() -> None:
    from assay.bench import arc, bbh, gsm8k, hellaswag, ifeval, mmlu, truthfulqa  # noqa: F401

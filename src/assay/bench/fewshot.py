"""Few-shot prompts, drawn the way lm-evaluation-harness draws them, so prompts are identical.

The harness seeds one `random.Random(1234)` per task and draws each question's
examples in question order: `sample(pool, n)`, or `sample(pool, n + 1)` minus
the question itself when the few-shot split is the evaluation split. MMLU
takes the first n examples instead. The prompt is the description, then each
example as text + " " + answer + "\\n\\n", then the question's text.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from assay.bench.data import Doc
from assay.bench.tasks import FEWSHOT_DELIMITER, TARGET_DELIMITER, Task

FEWSHOT_SEED = 1234


@dataclass(frozen=True)
class Question:
    """One multiple-choice question, ready to score.

    Attributes:
        task: The task's name.
        index: The question's position in the evaluation split.
        text: The question as a person reads it.
        context: The full prompt (description, shots, question) the choices continue.
        choices: The choice texts (each scored as " " + choice).
        gold: Index of the correct choice (mc2: of the first true one).
        labels: For mc2, 1 for each true choice and 0 for each false one.
    """

    task: str
    index: int
    text: str
    context: str
    choices: tuple[str, ...]
    gold: int
    labels: tuple[int, ...] | None = None

    @property
    def requests(self) -> list[tuple[str, str]]:
        return [(self.context, TARGET_DELIMITER + choice) for choice in self.choices]


def draw_fewshot(
    task: Task, pool: Sequence[Doc], docs: Sequence[Doc], shots: int, *, seed: int = FEWSHOT_SEED
) -> list[list[Doc]]:
    """The few-shot examples of each question, in question order, as the harness draws them."""
    if shots <= 0:
        return [[] for _ in docs]
    rnd = random.Random(seed)
    population = list(pool)
    drawn: list[list[Doc]] = []
    for doc in docs:
        exclude = doc if task.fewshot_from_eval_split else None
        if task.sampler == "first_n":
            candidates = [x for x in population if x != exclude] if exclude else population
            drawn.append(list(candidates[:shots]))
            continue
        if exclude is None:
            drawn.append(rnd.sample(population, shots))
            continue
        chosen = [x for x in rnd.sample(population, shots + 1) if x != exclude][:shots]
        if len(chosen) < shots:
            chosen = rnd.sample([x for x in population if x != exclude], shots)
        drawn.append(chosen)
    return drawn


def build_context(task: Task, doc: Doc, examples: Sequence[Doc]) -> str:
    """Description, the labelled examples, then the question's text."""
    parts = [task.description(doc)]
    for example in examples:
        answer = task.doc_to_choice(example)[task.doc_to_target(example)]
        parts.append(task.doc_to_text(example) + TARGET_DELIMITER + answer + FEWSHOT_DELIMITER)
    parts.append(task.doc_to_text(doc))
    return "".join(parts)


def build_questions(
    task: Task,
    docs: Sequence[Doc],
    pool: Sequence[Doc],
    shots: int,
    *,
    seed: int = FEWSHOT_SEED,
) -> list[Question]:
    """Every question of a task with its few-shot prompt.

    Args:
        task: The task.
        docs: The evaluation rows, processed, in order (after --limit).
        pool: The few-shot rows, processed.
        shots: Examples per prompt.
        seed: The harness's few-shot seed.
    """
    examples = draw_fewshot(task, pool, docs, shots, seed=seed)
    questions = []
    for index, (doc, shown) in enumerate(zip(docs, examples, strict=True)):
        labels = task.true_labels(doc)
        gold = labels.index(1) if labels else task.doc_to_target(doc)
        questions.append(
            Question(
                task=task.name,
                index=index,
                text=task.question_text(doc),
                context=build_context(task, doc, shown),
                choices=tuple(task.doc_to_choice(doc)),
                gold=gold,
                labels=labels,
            )
        )
    return questions

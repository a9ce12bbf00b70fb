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
from dataclasses import dataclass, field

from assay.bench.data import Doc
from assay.bench.tasks import TARGET_DELIMITER, OutputType, Task

FEWSHOT_SEED = 1234


@dataclass(frozen=True)
class Question:
    """One question, ready to score: its choices by log-likelihood, or a generated answer.

    Attributes:
        task: The task's name.
        index: The question's position in the evaluation split.
        text: The question as a person reads it.
        context: The full prompt (description, shots, question) the choices (or the
            generation) continue.
        choices: The choice texts (each scored as delimiter + choice); none for a
            generative question.
        gold: Index of the correct choice (mc2: of the first true one); -1 when generative.
        labels: For mc2, 1 for each true choice and 0 for each false one.
        delimiter: What comes between the context and a choice (the task's).
        kind: "multiple_choice" or "generate_until".
        target: A generative question's reference answer, as the task states it.
        doc: The row it was built from (generative scoring reads it: IFEval's instructions).
    """

    task: str
    index: int
    text: str
    context: str
    choices: tuple[str, ...]
    gold: int
    labels: tuple[int, ...] | None = None
    delimiter: str = TARGET_DELIMITER
    kind: OutputType = "multiple_choice"
    target: str | None = None
    doc: Doc | None = field(default=None, compare=False, repr=False)

    @property
    def requests(self) -> list[tuple[str, str]]:
        return [(self.context, self.delimiter + choice) for choice in self.choices]

    @property
    def identity(self) -> list[object]:
        """What decides this question's outputs (part of the run's data fingerprint)."""
        if self.kind == "generate_until":
            return [self.context, self.target]
        return [self.context, list(self.choices), self.gold]


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
        parts.append(
            task.doc_to_text(example)
            + task.target_delimiter
            + task.fewshot_answer(example)
            + task.fewshot_delimiter
        )
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
    own = task.own_contexts(docs, shots)
    if own is not None:
        contexts = own
    else:
        examples = draw_fewshot(task, pool, docs, shots, seed=seed)
        contexts = [build_context(task, d, e) for d, e in zip(docs, examples, strict=True)]
    questions = []
    for index, (doc, context) in enumerate(zip(docs, contexts, strict=True)):
        if task.output_type == "generate_until":
            questions.append(
                Question(
                    task=task.name,
                    index=index,
                    text=task.question_text(doc),
                    context=context,
                    choices=(),
                    gold=-1,
                    kind="generate_until",
                    target=task.fewshot_answer(doc),
                    doc=doc,
                )
            )
            continue
        labels = task.true_labels(doc)
        gold = labels.index(1) if labels else task.doc_to_target(doc)
        questions.append(
            Question(
                task=task.name,
                index=index,
                text=task.question_text(doc),
                context=context,
                choices=tuple(task.doc_to_choice(doc)),
                gold=gold,
                labels=labels,
                delimiter=task.target_delimiter,
            )
        )
    return questions

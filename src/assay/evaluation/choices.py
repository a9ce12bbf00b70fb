"""Classification by log-likelihood: each label scored as the prompt's continuation.

For classifiers and routers, exact match on a generated label is fragile (a
stray word, another casing). With `--choices "billing,technical,account"` (or
`--choices-field` naming a row's list of labels) nothing is generated: every
label is scored as the continuation of the rendered prompt by the model's
prefix-tree log-likelihood engine (the benchmarks' engine: the prompt runs once
with all its labels behind it), and the most likely label is the prediction.
A label continues the prompt directly when the prompt ends in whitespace (a
chat template's assistant turn, "Label: \\n"), else after one space.

The run stores per example the chosen label, every label's log-likelihood and
`accuracy` (1 when the chosen label is the reference); its summary holds
accuracy (Wilson interval) and macro-F1 (the unweighted mean of each label's
F1; percentile bootstrap over examples). Log-likelihoods are cached like the
benchmarks' (model fingerprint, context, continuation) and committed with each
example, so a killed run resumes and an identical one computes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assay.exceptions import DataError, OptionError
from assay.metrics.base import MetricSummary, Score
from assay.metrics.intervals import summarize
from assay.runs.recorder import RunRecorder
from assay.runs.records import ExampleResult, Run, RunStats

if TYPE_CHECKING:
    from assay.bench.fewshot import Question
    from assay.evaluation.evaluate import _Evaluation

BOOTSTRAP_ROUNDS = 1000


@dataclass(frozen=True)
class ChoiceOptions:
    """Which labels a classification run scores.

    Attributes:
        labels: The same labels for every example (``--choices``).
        field: A column holding each row's own list of labels (``--choices-field``).
    """

    labels: tuple[str, ...] = ()
    field: str | None = None

    def __post_init__(self) -> None:
        if bool(self.labels) == bool(self.field):
            raise OptionError("choices", "give the labels, or a field holding them, not both")
        if self.labels:
            problem = choices_problem(self.labels)
            if problem:
                raise OptionError("choices", problem)

    def to_dict(self) -> dict[str, Any]:
        return {"labels": list(self.labels), "field": self.field}


def choices_problem(labels: Sequence[str]) -> str | None:
    """What is wrong with a list of labels (a duplicate, a single one, an empty one), or None."""
    if len(labels) < 2:
        return f"has {len(labels)} label(s); a classification needs two or more"
    seen: set[str] = set()
    for label in labels:
        if not label.strip():
            return "has an empty label"
        if label in seen:
            return f"has {label!r} twice; each label must be distinct"
        seen.add(label)
    return None


def parse_choices(text: str) -> tuple[str, ...]:
    """Comma-separated labels, each stripped ("billing, technical" -> two labels)."""
    return tuple(part.strip() for part in text.split(","))


def classify(evaluation: _Evaluation, recorder: RunRecorder, stats: RunStats) -> None:
    """Score every pending example's labels, commit each as its labels are scored, and save
    the run's accuracy and macro-F1."""
    from assay.bench.choice_scoring import score_choice_questions

    questions = _questions(evaluation)
    pending = [q for q in questions if str(q.text) not in recorder.stored]
    score_choice_questions(
        pending,
        every=questions,
        make=lambda q, lls: _result(evaluation, q, lls),
        recorder=recorder,
        executor=evaluation.executor,
        fingerprint=evaluation.model.info.fingerprint,
        progress=evaluation.options.progress,
        unit="ex",
        stats=stats,
    )
    run = recorder.store.load_run(recorder.run_id)
    recorder.store.save_summary(run.id, summaries(run.results))


def _questions(evaluation: _Evaluation) -> list[Question]:
    """One question per example: its rendered prompt, its labels, the reference's index.

    Questions carry the example id as their text, so results map back to examples.
    """
    from assay.bench.fewshot import Question

    options = evaluation.options.choices
    assert options is not None
    dataset = evaluation.dataset
    questions = []
    for index, example in enumerate(dataset.examples):
        where = f"{dataset.name}, example {example.id}"
        if options.field is not None:
            value = example.fields.get(options.field)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise DataError(
                    f"{where}: field '{options.field}' should be a list of labels (strings)"
                )
            problem = choices_problem(value)
            if problem:
                raise DataError(f"{where}: field '{options.field}' {problem}")
            labels = tuple(value)
        else:
            labels = options.labels
        reference = example.reference
        if reference is None or reference.strip() not in labels:
            raise DataError(
                f"{where}: field '{dataset.reference_field or 'reference'}' is {reference!r}, "
                f"which is not one of the labels {list(labels)}"
            )
        context = evaluation.rendered[index]
        questions.append(
            Question(
                task="",
                index=index,
                text=example.id,
                context=context,
                choices=labels,
                gold=labels.index(reference.strip()),
                delimiter="" if not context or context[-1].isspace() else " ",
            )
        )
    return questions


def _result(evaluation: _Evaluation, question: Question, logliks: list[float]) -> ExampleResult:
    example = evaluation.dataset.examples[question.index]
    chosen = int(np.argmax(np.asarray(logliks, dtype=np.float64)))
    from assay.evaluation.evaluate import _metadata

    return ExampleResult(
        example_id=example.id,
        position=question.index,
        input=example.input,
        reference=example.reference,
        prompt=question.context,
        prediction=question.choices[chosen],
        metadata={
            **_metadata(example, evaluation.dataset),
            "choices": list(question.choices),
            "logliks": logliks,
            "gold": question.gold,
        },
        scores={"accuracy": Score(float(chosen == question.gold))},
    )


@dataclass(frozen=True)
class Confusion:
    """Counts of (reference, prediction) over a classification run's examples.

    Attributes:
        labels: Every label, in the order first met (the runs's label order).
        counts: counts[i][j]: examples whose reference is labels[i] and prediction labels[j].
    """

    labels: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]

    @property
    def total(self) -> int:
        return sum(sum(row) for row in self.counts)


def confusion(results: Sequence[ExampleResult]) -> Confusion:
    """The confusion matrix of a classification run's results."""
    labels: dict[str, None] = {}
    for result in results:
        for label in result.metadata.get("choices", []):
            labels.setdefault(str(label), None)
    order = {label: i for i, label in enumerate(labels)}
    counts = np.zeros((len(order), len(order)), dtype=int)
    for result in results:
        if result.reference is None or result.failed:
            continue
        counts[order[result.reference.strip()], order[result.prediction]] += 1
    return Confusion(tuple(labels), tuple(tuple(int(c) for c in row) for row in counts))


def is_classification(run: Run) -> bool:
    """Whether a run's results were scored by label log-likelihood."""
    return bool(run.results) and all(
        "logliks" in r.metadata and "choices" in r.metadata for r in run.results
    )


def macro_f1(gold: np.ndarray, predicted: np.ndarray, labels: int) -> float:
    """The unweighted mean of each label's F1, over labels that are a reference or a prediction."""
    scores = []
    for label in range(labels):
        tp = int(np.sum((gold == label) & (predicted == label)))
        fp = int(np.sum((gold != label) & (predicted == label)))
        fn = int(np.sum((gold == label) & (predicted != label)))
        if tp + fp + fn:
            scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else float("nan")


def summaries(results: Sequence[ExampleResult]) -> Mapping[str, MetricSummary]:
    """accuracy (Wilson interval) and macro_f1 (percentile bootstrap over examples)."""
    scored = [r for r in results if not r.failed and "accuracy" in r.scores]
    accuracy = summarize("accuracy", [r.scores["accuracy"].value for r in scored])
    matrix = confusion(scored)
    order = {label: i for i, label in enumerate(matrix.labels)}
    gold = np.asarray([order[r.reference.strip()] for r in scored if r.reference is not None])
    predicted = np.asarray([order[r.prediction] for r in scored])
    n = len(gold)
    value = macro_f1(gold, predicted, len(order))
    if n == 0:
        return {"accuracy": accuracy, "macro_f1": MetricSummary("macro_f1", value, value, value, 0)}
    rng = np.random.default_rng(0)
    draws = [
        macro_f1(gold[i], predicted[i], len(order))
        for i in rng.integers(0, n, size=(BOOTSTRAP_ROUNDS, n))
    ]
    low, high = (float(v) for v in np.percentile(draws, [2.5, 97.5]))
    return {"accuracy": accuracy, "macro_f1": MetricSummary("macro_f1", value, low, high, n)}


def plot_confusion(path: str | Path, matrix: Confusion, *, title: str) -> Path:
    """Write the confusion matrix as an image (references down, predictions across)."""
    from assay.charts import figure

    size = max(4.0, 1.2 + 0.7 * len(matrix.labels))
    with figure(path, (size + 1, size), option="confusion") as (fig, axes):
        counts = np.asarray(matrix.counts)
        image = axes.imshow(counts, cmap="Blues")
        ticks = list(range(len(matrix.labels)))
        shown = [label[:24] for label in matrix.labels]
        axes.set_xticks(ticks)
        axes.set_xticklabels(shown, rotation=45, ha="right")
        axes.set_yticks(ticks)
        axes.set_yticklabels(shown)
        axes.set_xlabel("predicted")
        axes.set_ylabel("reference")
        axes.set_title(title)
        top = counts.max() if counts.size else 0
        for i in ticks:
            for j in ticks:
                colour = "white" if top and counts[i, j] > top / 2 else "black"
                axes.text(j, i, str(counts[i, j]), ha="center", va="center", color=colour)
        fig.colorbar(image, ax=axes)
    return Path(path)

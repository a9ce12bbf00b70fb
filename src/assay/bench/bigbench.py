"""BIG-bench's task.json, read as BIG-bench's own JsonTask reads it.

A task file holds `examples`, each with an `input` and `target_scores` (a
choice -> score mapping: multiple choice) and/or `target` (one answer or a
list: generative). Formatting follows bigbench/api/json_task.py exactly:
duplicate examples dropped; for multiple choice, the sorted choices permuted by
a RandomState(42) appended to the input after `choice_prefix` (when
`append_choices_to_input`); the input wrapped in `example_input_prefix` ("\\nQ: ")
and `example_output_prefix` ("\\nA: "); few-shot examples drawn by the same
seeded sampler (make_nshot_dataset), joined by `few_shot_example_separator`;
`task_prefix` in front.

A task is multiple choice by BIG-bench's metric lists (its preferred score,
else any of its metrics). Multiple choice: every choice scored by log-likelihood
as the continuation of the prompt (nothing between), multiple_choice_grade = the
target score of the most likely choice; a task that lists another
multiple-choice metric only (social_support: macro_f1) reports
multiple_choice_grade too, as assay computes none of the others. Generative:
greedy generation (256 tokens), cut after `stop_string` and reduced to the first
match of `output_regex` (BIG-bench's default regex when neither is given),
exact_str_match against any target.

A task.json without examples is a composite task: its subdirectories' task
files are its subtasks, run as a group. `--limit N` keeps the first N queries
(BIG-bench's max_examples draws a random subset instead); few-shot draws are
those of the full task, so a limited run's questions equal the full run's first.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assay.bench.data import Doc
from assay.bench.fewshot import Question
from assay.bench.generative import GenerativeTask, Graded
from assay.bench.tasks import Task, TaskGroup, register_group, register_task
from assay.exceptions import DataError

KEYS = (
    "canary",
    "name",
    "description",
    "keywords",
    "metrics",
    "preferred_score",
    "examples",
    "task_prefix",
    "example_input_prefix",
    "example_output_prefix",
    "choice_prefix",
    "append_choices_to_input",
    "few_shot_example_separator",
    "output_regex",
    "stop_string",
    "absolute_normalization",
    "low_score",
    "high_score",
    "contributors",
    "expert_description",
    "prefix",
    "input_prefix",
)
"""Top-level keys a task.json may have: BIG-bench's schema, and the few extra ones real
task files carry that BIG-bench reads past (prefix, input_prefix, contributors, ...)."""

EXAMPLE_KEYS = ("input", "target", "target_scores", "comment", "meta", "id", "_id")
"""Keys BIG-bench reads from an example (others, task-specific, are kept and ignored)."""

DEFAULT_REGEX = r"[^\.\?\!\;\n]+"
SEED = 42
GENERATIVE = ("exact_str_match", "case_insensitive_str_match", "bleu", "bleurt", "rouge",
              "sequence_f1", "numeric_match_with_0_1_relative_error")  # fmt: skip
MULTIPLE_CHOICE = ("multiple_choice_grade", "calibration_multiple_choice_brier_score",
                   "expected_calibration_error", "weighted_log_probabilities",
                   "weighted_probabilities", "macro_f1")  # fmt: skip
"""BIG-bench's metric lists (json_task.py): a task is multiple choice by these."""
MAX_TOKENS = 256


def load_bigbench(path: Path) -> str:
    """Register a task.json's task (or its subtasks as a group); return the name to run."""
    data = _read(path)
    name = _name(path, data)
    if "examples" not in data:
        subtasks = sorted(p for p in path.parent.glob("*/task.json"))
        if not subtasks:
            raise DataError(f"{path}: no 'examples' and no subdirectory with a task.json")
        names = tuple(_register(p, _read(p), parent=name) for p in subtasks)
        first = _task_of(names[0])
        register_group(TaskGroup(name, names, first.main_metric, version=1.0, parts="subtasks"))
        return name
    return _register(path, data, parent=None)


def _read(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}:1: a BIG-bench task is a JSON object")
    for key in data:
        if key not in KEYS:
            raise DataError(
                f"{path}:{_line_of_key(text, key)}: unknown key '{key}'; allowed: {', '.join(KEYS)}"
            )
    for key in ("name", "description", "keywords"):
        if key not in data:
            raise DataError(f"{path}: missing key '{key}' (BIG-bench requires it)")
    data["__text__"] = text
    return data


def _name(path: Path, data: dict[str, Any]) -> str:
    name = data["name"]
    if not isinstance(name, str) or not name.strip():
        raise DataError(f"{path}:{_line_of_key(data['__text__'], 'name')}: field 'name' is empty")
    return re.sub(r"[^A-Za-z0-9_.:\-]", "_", name.strip())


def _register(path: Path, data: dict[str, Any], parent: str | None) -> str:
    name = _name(path, data)
    if parent is not None:
        name = f"{parent}:{name}"
    task: Task
    if _is_multiple_choice(path, data):
        task = BigBenchChoiceTask(name, path, data)
    else:
        task = BigBenchGenerativeTask(name, path, data)
    register_task(task, replace=False)
    return name


def _task_of(name: str) -> Task:
    from assay.bench.tasks import get_task

    return get_task(name)


def _is_multiple_choice(path: Path, data: dict[str, Any]) -> bool:
    metrics = data.get("metrics")
    if not isinstance(metrics, list) or not metrics:
        raise DataError(
            f"{path}:{_line_of_key(data['__text__'], 'metrics')}: field 'metrics' should list the task's metrics"
        )
    preferred = data.get("preferred_score")
    if preferred in MULTIPLE_CHOICE or preferred in GENERATIVE:
        return preferred in MULTIPLE_CHOICE
    return any(metric in MULTIPLE_CHOICE for metric in metrics)


class _BigBenchTask:
    """What both kinds share: BIG-bench's formatting and few-shot draws."""

    source: str | None

    def _setup(self, name: str, path: Path, data: dict[str, Any], mc: bool) -> None:
        self.name = name
        self.source = str(path)
        self.path = path
        self.data = data
        self.input_prefix = str(data.get("example_input_prefix", "\nQ: "))
        self.output_prefix = str(data.get("example_output_prefix", "\nA: "))
        self.choice_prefix = str(data.get("choice_prefix", "\n  choice: "))
        self.append_choices = bool(data.get("append_choices_to_input", True))
        self.separator = str(data.get("few_shot_example_separator", "\n"))
        self.task_prefix = str(data.get("task_prefix", ""))
        self.samples = self._format(mc)
        self._draws: dict[int, _FewShotDraws] = {}

    def _format(self, mc: bool) -> list[Doc]:
        """BIG-bench's default_format_fn over the distinct examples, in file order."""
        examples = self.data.get("examples")
        if not isinstance(examples, list) or not examples:
            raise DataError(f"{self.path}: field 'examples' should be a non-empty list")
        seen: set[str] = set()
        samples: list[Doc] = []
        for number, example in enumerate(examples):
            try:
                if not isinstance(example, dict) or "input" not in example:
                    raise DataError("field 'input' is missing")
                key = json.dumps(example)
                if key in seen:
                    continue
                seen.add(key)
                # A shallow copy: _format_sample replaces keys, never changes values.
                samples.append(_format_sample(dict(example), self, mc))
            except DataError as error:
                line = _example_line(self.data["__text__"], number)
                raise DataError(f"{self.path}:{line}: example {number}: {error}") from None
        return samples

    @property
    def fewshot_from_eval_split(self) -> bool:
        return True

    def eval_docs(self, source: object) -> list[Doc]:
        return self.samples

    def fewshot_pool(self, source: object) -> list[Doc]:
        return self.samples

    def own_contexts(self, docs: Sequence[Doc], shots: int) -> list[str] | None:
        """Every query's full input (task_prefix, shots, input), as make_nshot_dataset builds
        it; `docs` are the first queries, in order."""
        if shots == 0:
            return [self.task_prefix + str(doc["input"]) for doc in docs]
        if shots not in self._draws:
            self._draws[shots] = _FewShotDraws(self.samples, shots, self.separator)
        return [self.task_prefix + text for text in self._draws[shots].first(len(docs))]

    def doc_to_text(self, doc: Doc) -> str:
        return str(doc["input"])

    def question_text(self, doc: Doc) -> str:
        return str(doc["raw_input"])

    def fingerprint(self) -> str:
        return json.dumps(
            {k: v for k, v in self.data.items() if k not in ("__text__", "examples")},
            sort_keys=True,
        )


class BigBenchChoiceTask(_BigBenchTask, Task):
    """A BIG-bench task scored by multiple_choice_grade (plus acc: the best choice chosen)."""

    metrics = ("multiple_choice_grade",)
    main_metric = "multiple_choice_grade"
    target_delimiter = ""

    def __init__(self, name: str, path: Path, data: dict[str, Any]) -> None:
        self._setup(name, path, data, mc=True)

    def doc_to_choice(self, doc: Doc) -> list[str]:
        return list(doc["target_scores"])

    def doc_to_target(self, doc: Doc) -> int:
        """The best-scoring choice (the first of equals): not `target`, which a task may
        give as an explanation rather than a choice (strategyqa: "Yes. College ...")."""
        scores = list(doc["target_scores"].values())
        return scores.index(max(scores))

    def choice_scores(self, question: Question, logliks: Sequence[float]) -> dict[str, float]:
        chosen = question.choices[int(np.argmax(np.asarray(logliks, dtype=np.float64)))]
        doc = self.samples[question.index]
        return {"multiple_choice_grade": float(doc["target_scores"][chosen])}


class BigBenchGenerativeTask(_BigBenchTask, GenerativeTask):
    """A BIG-bench task scored by exact_str_match on the post-processed generation."""

    metrics = ("exact_str_match",)
    main_metric = "exact_str_match"
    max_gen_toks = MAX_TOKENS

    def __init__(self, name: str, path: Path, data: dict[str, Any]) -> None:
        self._setup(name, path, data, mc=False)
        self.stop_string = data.get("stop_string")
        self.output_regex = data.get("output_regex")
        if self.stop_string is None and self.output_regex is None:
            self.output_regex = DEFAULT_REGEX

    def fewshot_answer(self, doc: Doc) -> str:
        return str(doc["target"][0])

    def grade(self, doc: Doc, reference: str, text: str) -> Graded:
        answer = postprocess(text, self.stop_string, self.output_regex)
        return Graded(
            scores={"exact_str_match": float(answer in doc["target"])},
            extracted={"postprocessed": answer},
        )


def postprocess(text: str, stop_string: str | None, output_regex: str | None) -> str:
    """BIG-bench's postprocess_output: cut after the stop string, keep the regex's first match."""
    if stop_string:
        index = text.find(stop_string)
        if index > 0:
            text = text[: index + len(stop_string)]
    if output_regex:
        found = re.findall(output_regex, text)
        text = found[0] if found else ""
        if isinstance(text, tuple):
            text = text[0]
    return text


@functools.cache
def _permutation(size: int) -> tuple[int, ...]:
    """BIG-bench's order of `size` sorted choices: a fresh RandomState(42) permutes them
    for every example, so the order depends on their number alone. Drawn once per size
    (a RandomState per example was two thirds of reading multiemo's 57,000 examples)."""
    return tuple(int(i) for i in np.random.RandomState(seed=SEED).permutation(size))


def _format_sample(sample: Doc, task: _BigBenchTask, mc: bool) -> Doc:
    """BIG-bench's default_format_fn on one example, keeping its raw input too."""
    raw = sample["input"]
    if not isinstance(raw, str):
        raise DataError("field 'input' should be a string")
    sample["raw_input"] = raw
    scores = sample.get("target_scores")
    if mc:
        if not isinstance(scores, dict) or not scores:
            raise DataError("field 'target_scores' should map choices to scores")
        if len(scores) < 2:
            raise DataError("field 'target_scores' has one choice; give two or more")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in scores.values()):
            raise DataError("field 'target_scores' should map each choice to a number")
        if task.append_choices:
            ordered = sorted(scores)
            permuted = [ordered[i] for i in _permutation(len(ordered))]
            sample["input"] = raw + task.choice_prefix + task.choice_prefix.join(permuted)
        if "target" not in sample:
            best = max(scores.values())
            if (len(scores) == 1 and best == 0) or (
                len(scores) > 1 and best <= min(scores.values())
            ):
                raise DataError("field 'target_scores' marks no choice as correct")
            sample["target"] = next(k for k, v in scores.items() if v == best)
    elif "target" not in sample:
        raise DataError("field 'target' is missing (a generative task's answer)")
    target = sample["target"]
    if not isinstance(target, list):
        target = [target]
    if not target or not all(isinstance(t, str) for t in target):
        raise DataError("field 'target' should be a string or a list of strings")
    sample["target"] = target
    sample["input"] = task.input_prefix + sample["input"] + task.output_prefix
    return sample


class _FewShotDraws:
    """make_nshot_dataset's inputs, query by query, from one RandomState(42) as BIG-bench
    draws them; only as many queries as asked for are drawn (the draws of a query depend
    only on the queries before it, so the first N equal a full run's first N).

    Samples are distinct (duplicates are dropped when read), so a query's candidates are
    all the other samples; choosing by index consumes the generator exactly as BIG-bench's
    ``rng.choice(valid_samples, shots, replace=False)`` does.
    """

    def __init__(self, samples: list[Doc], shots: int, separator: str) -> None:
        if len(samples) < shots + 1:
            raise DataError(f"{len(samples)} distinct examples are too few for {shots} shots")
        self.samples = samples
        self.shots = shots
        self.separator = separator
        self.rng = np.random.RandomState(seed=SEED)
        self.inputs: list[str] = []

    def first(self, count: int) -> list[str]:
        while len(self.inputs) < min(count, len(self.samples)):
            index = len(self.inputs)
            picked = self.rng.choice(len(self.samples) - 1, self.shots, replace=False)
            shown = [self.samples[j if j < index else j + 1] for j in picked]
            context = self.separator.join(
                e["input"] + e["target"][self.rng.choice(len(e["target"]))] for e in shown
            )
            self.inputs.append(context + self.separator + self.samples[index]["input"])
        return self.inputs[:count]


def _line_of_key(text: str, key: str) -> int:
    """The line where a top-level key appears (the first line that names it as a key)."""
    match = re.search(r'^\s*"' + re.escape(key) + r'"\s*:', text, flags=re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def _example_line(text: str, number: int) -> int:
    """The line where example `number` (0-based) starts."""
    start = re.search(r'"examples"\s*:\s*\[', text)
    if start is None:
        return 1
    decoder = json.JSONDecoder()
    position = start.end()
    for _ in range(number + 1):
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        begin = position
        try:
            _, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            return text.count("\n", 0, begin) + 1
    return text.count("\n", 0, begin) + 1

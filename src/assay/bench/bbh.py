"""BIG-Bench Hard with chain-of-thought prompts, as the harness's `bbh_cot_fewshot` defines it.

27 tasks (`bbh_cot_fewshot_<task>`) and their group `bbh_cot_fewshot`. The
prompt is the task's description, its three worked examples from the paper's
CoT prompt file (`cot-prompts/<task>.txt`: the text after the canary line and
"-----"; the first paragraph is the description, the rest are the shots), and
"Q: <input>\\nA: Let's think step by step.\\n". Generation is greedy until "Q",
a blank line or 1024 tokens; the answer is the text after "the answer is " up
to its last character, compared exactly with the target. The group's number is
the mean over all questions (the harness weights its tasks by size).

The rows are read from `bbh/<task>/test.jsonl` under --data-dir, or from the
hub; the CoT prompts come from `bbh/cot-prompts/<task>.txt` under --data-dir.
"""

from __future__ import annotations

from pathlib import Path

from assay.bench.data import DataSource, DataSpec, Doc, require
from assay.bench.extraction import ExactMatch, RegexExtract
from assay.bench.generative import FilteredMatchTask
from assay.bench.tasks import TaskGroup, register_group, register_task
from assay.exceptions import DataError

TASKS = (
    "boolean_expressions",
    "causal_judgement",
    "date_understanding",
    "disambiguation_qa",
    "dyck_languages",
    "formal_fallacies",
    "geometric_shapes",
    "hyperbaton",
    "logical_deduction_five_objects",
    "logical_deduction_seven_objects",
    "logical_deduction_three_objects",
    "movie_recommendation",
    "multistep_arithmetic_two",
    "navigate",
    "object_counting",
    "penguins_in_a_table",
    "reasoning_about_colored_objects",
    "ruin_names",
    "salient_translation_error_detection",
    "snarks",
    "sports_understanding",
    "temporal_sequences",
    "tracking_shuffled_objects_five_objects",
    "tracking_shuffled_objects_seven_objects",
    "tracking_shuffled_objects_three_objects",
    "web_of_lies",
    "word_sorting",
)
PREFIX = "bbh_cot_fewshot_"
THINK = "\nA: Let's think step by step.\n"


def _check(row: Doc) -> str | None:
    return require(row, input=str, target=str)


class BbhCot(FilteredMatchTask):
    """One BIG-Bench Hard task, 3-shot chain of thought, exact match on the extracted answer."""

    default_shots = 3
    sampler = "first_n"
    version = 4.0
    dataset_path = "SaylorTwift/bbh"
    target_delimiter = ""
    until = ("</s>", "Q", "\n\n")
    max_gen_toks = 1024
    filters = {"get-answer": RegexExtract(r"(?<=the answer is )(.*)(?=.)")}  # noqa: RUF012
    metric_names = {"get-answer": "exact_match"}  # noqa: RUF012 - read only
    harness_metrics = {"exact_match": "exact_match,get-answer"}  # noqa: RUF012 - read only
    match = ExactMatch()

    def __init__(self, subset: str) -> None:
        self.subset = subset
        self.name = PREFIX + subset
        self.dataset_name = subset
        self._prompts: dict[Path, tuple[str, list[Doc]]] = {}
        self._prompt: tuple[str, list[Doc]] | None = None

    def eval_data(self) -> DataSpec:
        return DataSpec(
            self.dataset_path, self.subset, "test", (f"bbh/{self.subset}/test.jsonl",), _check
        )

    def fewshot_pool(self, source: DataSource) -> list[Doc]:
        return self._cot_prompt(source)[1]

    def description(self, doc: Doc) -> str:
        if self._prompt is None:  # pragma: no cover - the pool is read before any prompt
            raise DataError(f"{self.name}: its CoT prompt was not read")
        return self._prompt[0] + "\n\n"

    def doc_to_text(self, doc: Doc) -> str:
        return "Q: " + doc["input"] + THINK

    def question_text(self, doc: Doc) -> str:
        return str(doc["input"])

    def fewshot_answer(self, doc: Doc) -> str:
        return str(doc["target"])

    def _cot_prompt(self, source: DataSource) -> tuple[str, list[Doc]]:
        if source.data_dir is None:
            raise DataError(
                f"{self.name}: the chain-of-thought prompts are read from "
                f"bbh/cot-prompts/{self.subset}.txt under --data-dir; pass --data-dir"
            )
        path = Path(source.data_dir) / "bbh" / "cot-prompts" / f"{self.subset}.txt"
        if path not in self._prompts:
            self._prompts[path] = read_cot_prompt(path)
        self._prompt = self._prompts[path]  # the description of the prompts last read
        return self._prompt


def read_cot_prompt(path: Path) -> tuple[str, list[Doc]]:
    """A CoT prompt file's description and its worked examples as rows (input, target)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(
            f"{path}: no such file (BIG-Bench Hard's CoT prompt, from the paper's cot-prompts/)"
        ) from None
    paragraphs = text.split("\n-----\n")[-1].split("\n\n")
    # The description is every paragraph before the first question (snarks has two); a
    # paragraph that does not start a question belongs to the example before it.
    first = next((i for i, p in enumerate(paragraphs) if p.startswith("Q: ")), len(paragraphs))
    description = "\n\n".join(paragraphs[:first])
    shots: list[str] = []
    for paragraph in paragraphs[first:]:
        if paragraph.startswith("Q: ") or not shots:
            shots.append(paragraph)
        else:
            shots[-1] += "\n\n" + paragraph
    examples: list[Doc] = []
    for number, shot in enumerate(shots, start=1):
        # "A: Let's think step by step." ends its line in most files and is followed by a
        # space in a few (sports_understanding); the harness's examples have a line break.
        question, found, answer = shot.partition(THINK.rstrip("\n"))
        if not found or not question.startswith("Q: ") or answer[:1] not in ("\n", " "):
            raise DataError(
                f"{path}: example {number} is not 'Q: ...{THINK!r}...' as a CoT prompt's are"
            )
        examples.append({"input": question.removeprefix("Q: "), "target": answer[1:]})
    if not examples:
        raise DataError(f"{path}: no worked examples after the description")
    return description, examples


for _subset in TASKS:
    register_task(BbhCot(_subset))
register_group(
    TaskGroup(
        "bbh_cot_fewshot",
        tuple(PREFIX + t for t in TASKS),
        "exact_match",
        version=3.0,
        parts="tasks",
    )
)

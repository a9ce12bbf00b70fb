"""MMLU (hendrycks test): cais/mmlu, one task per subject and the `mmlu` group, the harness's way.

Each subject is a task `mmlu_<subject>`: a description naming the subject,
the first five dev examples of that subject as shots, the question with its
lettered choices, and " A".." D" as continuations; acc. The group reports the
average over questions (the harness's size-weighted mean) and over subjects.
"""

from __future__ import annotations

from assay.bench.data import DataSpec, Doc, require, string_list
from assay.bench.tasks import Task, TaskGroup, register_group, register_task

SUBJECTS = (
    "abstract_algebra",
    "anatomy",
    "astronomy",
    "business_ethics",
    "clinical_knowledge",
    "college_biology",
    "college_chemistry",
    "college_computer_science",
    "college_mathematics",
    "college_medicine",
    "college_physics",
    "computer_security",
    "conceptual_physics",
    "econometrics",
    "electrical_engineering",
    "elementary_mathematics",
    "formal_logic",
    "global_facts",
    "high_school_biology",
    "high_school_chemistry",
    "high_school_computer_science",
    "high_school_european_history",
    "high_school_geography",
    "high_school_government_and_politics",
    "high_school_macroeconomics",
    "high_school_mathematics",
    "high_school_microeconomics",
    "high_school_physics",
    "high_school_psychology",
    "high_school_statistics",
    "high_school_us_history",
    "high_school_world_history",
    "human_aging",
    "human_sexuality",
    "international_law",
    "jurisprudence",
    "logical_fallacies",
    "machine_learning",
    "management",
    "marketing",
    "medical_genetics",
    "miscellaneous",
    "moral_disputes",
    "moral_scenarios",
    "nutrition",
    "philosophy",
    "prehistory",
    "professional_accounting",
    "professional_law",
    "professional_medicine",
    "professional_psychology",
    "public_relations",
    "security_studies",
    "sociology",
    "us_foreign_policy",
    "virology",
    "world_religions",
)
LETTERS = ("A", "B", "C", "D")


def _check(row: Doc) -> str | None:
    problem = require(row, question=str, subject=str, choices=list, answer=int)
    if problem:
        return problem
    if not string_list(row["choices"]) or len(row["choices"]) != 4:
        return "field 'choices' should be a list of 4 strings"
    if not 0 <= row["answer"] <= 3:
        return f"field 'answer' should be 0-3, got {row['answer']}"
    return None


class MmluSubject(Task):
    """One MMLU subject."""

    metrics = ("acc",)
    main_metric = "acc"
    default_shots = 5
    sampler = "first_n"
    dataset_path = "cais/mmlu"

    def __init__(self, subject: str) -> None:
        self.subject = subject
        self.name = f"mmlu_{subject}"
        self.dataset_name = subject

    def _spec(self, split: str) -> DataSpec:
        return DataSpec(
            self.dataset_path, "all", split, (f"mmlu/{split}.jsonl",), _check, self.subject
        )

    def eval_data(self) -> DataSpec:
        return self._spec("test")

    def fewshot_data(self) -> DataSpec:
        return self._spec("dev")

    def description(self, doc: Doc) -> str:
        subject = self.subject.replace("_", " ")
        return f"The following are multiple choice questions (with answers) about {subject}.\n\n"

    def doc_to_text(self, doc: Doc) -> str:
        lines = [doc["question"].strip()]
        lines += [
            f"{letter}. {choice}" for letter, choice in zip(LETTERS, doc["choices"], strict=True)
        ]
        return "\n".join(lines) + "\nAnswer:"

    def doc_to_choice(self, doc: Doc) -> list[str]:
        return list(LETTERS)

    def doc_to_target(self, doc: Doc) -> int:
        return int(doc["answer"])


for _subject in SUBJECTS:
    register_task(MmluSubject(_subject))
register_group(TaskGroup("mmlu", tuple(f"mmlu_{s}" for s in SUBJECTS), main_metric="acc"))

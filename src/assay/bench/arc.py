"""ARC (AI2 Reasoning Challenge), Easy and Challenge: allenai/ai2_arc, as the harness defines it."""

from __future__ import annotations

from assay.bench.data import DataSpec, Doc, require, string_list
from assay.bench.tasks import Task, register_task


def _check(row: Doc) -> str | None:
    problem = require(row, question=str, choices=dict, answerKey=str)
    if problem:
        return problem
    choices = row["choices"]
    if not string_list(choices.get("text")) or not string_list(choices.get("label")):
        return "field 'choices' should hold lists 'text' and 'label' of strings"
    if len(choices["text"]) != len(choices["label"]):
        return "'choices.text' and 'choices.label' differ in length"
    if row["answerKey"] not in choices["label"]:
        return f"answerKey {row['answerKey']!r} is not one of choices.label {choices['label']}"
    return None


class Arc(Task):
    """ "Question: {question}\\nAnswer:", the answer texts as choices; acc and acc_norm."""

    metrics = ("acc", "acc_norm")
    main_metric = "acc_norm"
    default_shots = 25
    dataset_path = "allenai/ai2_arc"

    def __init__(self, name: str, config: str) -> None:
        self.name = name
        self.dataset_name = config

    def _spec(self, split: str) -> DataSpec:
        return DataSpec(
            self.dataset_path,
            self.dataset_name,
            split,
            (f"arc/{self.dataset_name}/{split}.jsonl",),
            _check,
        )

    def eval_data(self) -> DataSpec:
        return self._spec("test")

    def fewshot_data(self) -> DataSpec:
        return self._spec("train")

    def doc_to_text(self, doc: Doc) -> str:
        return f"Question: {doc['question']}\nAnswer:"

    def doc_to_choice(self, doc: Doc) -> list[str]:
        return list(doc["choices"]["text"])

    def doc_to_target(self, doc: Doc) -> int:
        return int(doc["choices"]["label"].index(doc["answerKey"]))


register_task(Arc("arc_challenge", "ARC-Challenge"))
register_task(Arc("arc_easy", "ARC-Easy"))

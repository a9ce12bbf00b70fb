"""HellaSwag: Rowan/hellaswag, with the harness's text cleaning; acc and acc_norm."""

from __future__ import annotations

import re

from assay.bench.data import DataSpec, Doc, require, string_list
from assay.bench.tasks import Task, register_task


def preprocess(text: str) -> str:
    """The harness's cleaning: " [title]" becomes ". ", bracketed artifacts go, double spaces too."""
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    text = text.replace("  ", " ")
    return text


def _check(row: Doc) -> str | None:
    problem = require(row, activity_label=str, ctx_a=str, ctx_b=str, endings=list, label=(str, int))
    if problem:
        return problem
    if not string_list(row["endings"]) or len(row["endings"]) != 4:
        return "field 'endings' should be a list of 4 strings"
    if str(row["label"]) not in {"0", "1", "2", "3"}:
        return f"field 'label' should be 0-3, got {row['label']!r}"
    return None


class HellaSwag(Task):
    """Activity label + ": " + ctx_a + " " + capitalised ctx_b, cleaned; four endings."""

    name = "hellaswag"
    metrics = ("acc", "acc_norm")
    main_metric = "acc_norm"
    default_shots = 10
    dataset_path = "Rowan/hellaswag"

    def eval_data(self) -> DataSpec:
        return DataSpec(
            self.dataset_path,
            None,
            "validation",
            ("hellaswag/validation.jsonl", "hellaswag/validation_sample.jsonl"),
            _check,
        )

    def fewshot_data(self) -> DataSpec:
        return DataSpec(self.dataset_path, None, "train", ("hellaswag/train.jsonl",), _check)

    @property
    def fewshot_from_eval_split(self) -> bool:
        return True  # the harness sets no test split, so it equals the unset few-shot split

    def process(self, doc: Doc) -> Doc:
        ctx = doc["ctx_a"] + " " + doc["ctx_b"].capitalize()
        return {
            **doc,
            "query": preprocess(doc["activity_label"] + ": " + ctx),
            "choices": [preprocess(ending) for ending in doc["endings"]],
            "gold": int(doc["label"]),
        }

    def doc_to_text(self, doc: Doc) -> str:
        return str(doc["query"])

    def doc_to_choice(self, doc: Doc) -> list[str]:
        return list(doc["choices"])

    def doc_to_target(self, doc: Doc) -> int:
        return int(doc["label"])

    def question_text(self, doc: Doc) -> str:
        return str(doc["query"])


register_task(HellaSwag())

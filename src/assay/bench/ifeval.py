"""IFEval (google/IFEval), as the harness's `ifeval` task defines it.

Zero-shot: the row's prompt as it is, greedy generation up to 1280 tokens. The
response is checked against every instruction of the row (instructions/):
prompt-level accuracy (all instructions followed) and instruction-level
accuracy (each instruction on its own, averaged over all instructions of all
prompts, as the harness aggregates it), each strict and loose.
"""

from __future__ import annotations

from assay.bench.data import DataSpec, Doc, require
from assay.bench.generative import GenerativeTask, Graded
from assay.bench.instructions import check_row
from assay.bench.tasks import register_task


def _check(row: Doc) -> str | None:
    problem = require(row, key=int, prompt=str, instruction_id_list=list, kwargs=list)
    if problem:
        return problem
    if len(row["instruction_id_list"]) != len(row["kwargs"]):
        return "'instruction_id_list' and 'kwargs' differ in length"
    if not all(isinstance(k, dict) for k in row["kwargs"]):
        return "field 'kwargs' should be a list of objects"
    return None


class IfEval(GenerativeTask):
    """IFEval: prompt- and instruction-level accuracy, strict and loose."""

    name = "ifeval"
    metrics = (
        "prompt_level_strict_acc",
        "inst_level_strict_acc",
        "prompt_level_loose_acc",
        "inst_level_loose_acc",
    )
    main_metric = "prompt_level_strict_acc"
    version = 4.0
    dataset_path = "google/IFEval"
    max_gen_toks = 1280

    def eval_data(self) -> DataSpec:
        return DataSpec(self.dataset_path, None, "train", ("ifeval/train.jsonl",), _check)

    def doc_to_text(self, doc: Doc) -> str:
        return str(doc["prompt"])

    def question_text(self, doc: Doc) -> str:
        return str(doc["prompt"])

    def fewshot_answer(self, doc: Doc) -> str:
        return ", ".join(doc["instruction_id_list"])

    def grade(self, doc: Doc, reference: str, text: str) -> Graded:
        verdict = check_row(
            doc["instruction_id_list"], doc["kwargs"], text, where=f"ifeval key {doc['key']}"
        )
        strict = [float(v) for v in verdict.strict]
        loose = [float(v) for v in verdict.loose]
        return Graded(
            scores={
                "prompt_level_strict_acc": float(all(verdict.strict)),
                "inst_level_strict_acc": sum(strict) / len(strict) if strict else 0.0,
                "prompt_level_loose_acc": float(all(verdict.loose)),
                "inst_level_loose_acc": sum(loose) / len(loose) if loose else 0.0,
            },
            items={"inst_level_strict_acc": strict, "inst_level_loose_acc": loose},
        )


register_task(IfEval())

"""GSM8K (openai/gsm8k, config main), as lm-evaluation-harness's `gsm8k` task defines it.

Five examples drawn from the train split by the harness's seeded sampler, each
"Question: ...\\nAnswer: <worked solution ending in #### N>", then the test
question; greedy generation until "Question:" (256 tokens at most). Two
answers are extracted and compared with the reference's final number:
strict (the number after "#### ") and flexible (the last number in the text),
after dropping commas, dollar signs, everything up to "#### " and a final
period, case-insensitively: the harness's exact_match on its two filters.
"""

from __future__ import annotations

from assay.bench.data import DataSpec, Doc, require
from assay.bench.extraction import ExactMatch, RegexExtract
from assay.bench.generative import FilteredMatchTask
from assay.bench.tasks import register_task


def _check(row: Doc) -> str | None:
    return require(row, question=str, answer=str)


class Gsm8k(FilteredMatchTask):
    """GSM8K, 5-shot, strict and flexible exact match."""

    name = "gsm8k"
    metrics = ("exact_match_strict", "exact_match_flexible")
    main_metric = "exact_match_strict"
    default_shots = 5
    version = 3.0
    dataset_path = "openai/gsm8k"
    dataset_name = "main"
    until = ("Question:", "</s>", "<|im_end|>")
    filters = {  # noqa: RUF012 - read only
        "strict-match": RegexExtract(r"#### (\-?[0-9\.\,]+)"),
        "flexible-extract": RegexExtract(r"(-?[$0-9.,]{2,})|(-?[0-9]+)", group_select=-1),
    }
    metric_names = {  # noqa: RUF012 - read only
        "strict-match": "exact_match_strict",
        "flexible-extract": "exact_match_flexible",
    }
    harness_metrics = {  # noqa: RUF012 - read only
        "exact_match_strict": "exact_match,strict-match",
        "exact_match_flexible": "exact_match,flexible-extract",
    }
    match = ExactMatch(
        regexes_to_ignore=(",", "\\$", "(?s).*#### ", "\\.$"),
        ignore_case=True,
        ignore_punctuation=False,
    )

    def _spec(self, split: str) -> DataSpec:
        return DataSpec(
            self.dataset_path, self.dataset_name, split, (f"gsm8k/main/{split}.jsonl",), _check
        )

    def eval_data(self) -> DataSpec:
        return self._spec("test")

    def fewshot_data(self) -> DataSpec:
        return self._spec("train")

    def doc_to_text(self, doc: Doc) -> str:
        return f"Question: {doc['question']}\nAnswer:"

    def fewshot_answer(self, doc: Doc) -> str:
        return str(doc["answer"])


register_task(Gsm8k())

"""The replay backend: predictions produced elsewhere, scored as if generated here.

A predictions file (JSONL, JSON, CSV or Parquet) holds one row per example with
the example's id and/or input, and the output. Each prompt is answered by the
row with its example's id, else by the row with its example's input. An
example the file does not answer is recorded as an error on that example, so
the run completes and says how many are missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from assay.data.fields import RawRow
from assay.data.loaders import read_rows
from assay.data.prompts import Prompt
from assay.exceptions import DataError, ModelError
from assay.models.base import (
    Generation,
    GenerationParams,
    LoglikelihoodCallback,
    LoglikelihoodStats,
    ModelInfo,
    ResultCallback,
)
from assay.models.fingerprint import file_digest, text_digest

PREDICTION_FIELDS = ("prediction", "output", "response", "completion", "generation", "answer")
ID_FIELDS = ("id", "example_id")
INPUT_FIELDS = ("input", "question", "prompt", "instruction")


class ReplayModel:
    """Answers prompts from a predictions file."""

    def __init__(self, spec: str, path: Path) -> None:
        if not path.is_file():
            raise ModelError(f"{spec}: no such predictions file '{path}'")
        self.spec = spec
        self.path = path
        name, rows = read_rows(path, None)
        columns = list(dict.fromkeys(c for row in rows for c in row.values))
        output = _first(columns, PREDICTION_FIELDS)
        if output is None:
            raise DataError(
                f"{name}: no prediction column; expected one of {', '.join(PREDICTION_FIELDS)} "
                f"(the columns are: {', '.join(columns)})"
            )
        id_column, input_column = _first(columns, ID_FIELDS), _first(columns, INPUT_FIELDS)
        if id_column is None and input_column is None:
            raise DataError(
                f"{name}: rows must name their example by id ({', '.join(ID_FIELDS)}) or by "
                f"input ({', '.join(INPUT_FIELDS)}); the columns are: {', '.join(columns)}"
            )
        self.by_id = _index(name, rows, id_column, output)
        self.by_input = _index(name, rows, input_column, output)
        self._info = ModelInfo(
            spec=spec,
            fingerprint=text_digest("replay", file_digest(path)),
            details={"backend": "replay", "file": str(path), "content": file_digest(path)},
        )

    @property
    def info(self) -> ModelInfo:
        return self._info

    @property
    def has_chat_template(self) -> bool:
        return False

    def load(self) -> None:
        """Everything is read in the constructor."""

    def render(self, prompt: Prompt) -> str:
        return prompt.raw_text()

    def generate(
        self,
        prompts: Sequence[Prompt],
        params: GenerationParams,
        on_result: ResultCallback | None = None,
    ) -> list[Generation]:
        results = []
        for index, prompt in enumerate(prompts):
            generation = self._answer(prompt)
            results.append(generation)
            if on_result is not None:
                on_result(index, generation)
        return results

    def loglikelihood(
        self,
        requests: Sequence[tuple[str, str]],
        *,
        on_result: LoglikelihoodCallback | None = None,
        stats: LoglikelihoodStats | None = None,
    ) -> list[tuple[float, bool]]:
        raise ModelError(f"{self.spec}: a predictions file has no log-likelihoods to score")

    def _answer(self, prompt: Prompt) -> Generation:
        example = prompt.example
        text = None
        if example is not None:
            text = self.by_id.get(example.id)
            if text is None:
                text = self.by_input.get(example.input)
        if text is None:
            what = f"example {example.id}" if example is not None else "this prompt"
            return Generation(
                text="",
                prompt_tokens=0,
                completion_tokens=0,
                finish_reason="error",
                error=f"{self.path} has no prediction for {what}",
            )
        return Generation(
            text=text, prompt_tokens=0, completion_tokens=len(text.split()), finish_reason="stop"
        )


def _first(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    return next((c for c in candidates if c in columns), None)


def _index(name: str, rows: Sequence[RawRow], key: str | None, output: str) -> dict[str, str]:
    if key is None:
        return {}
    index: dict[str, str] = {}
    for row in rows:
        value = row.values.get(output)
        if value is None:
            raise DataError(f"{name}, {row.where}: the prediction column '{output}' is empty")
        if row.values.get(key) is not None:
            index[str(row.values[key])] = str(value)
    return index

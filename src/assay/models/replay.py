"""The replay backend: predictions produced elsewhere, scored as if generated here.

A predictions file (JSONL, JSON, CSV or Parquet) holds one row per example with
the example's id and/or input, and the output. Each prompt is answered by the
row with its example's id, else by the row with its example's input. An
example the file does not answer is recorded as an error on that example, so
the run completes and says how many are missing.

A file that does not say one thing per example is refused before the run
starts: an id on two rows (even with the same prediction), an input on two
rows with different predictions when there is no id column, a row naming no
example, a prediction that is not text or a number. Where an id column exists,
an input answered differently on two rows is no error (two examples may ask
the same question), but an example that can be matched only by that input
gets an error naming both rows rather than either answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assay.data.example import RawRow
from assay.data.fields import as_text
from assay.data.loaders import read_rows
from assay.data.prompts import Prompt
from assay.data.values import shown
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
        answers = [_answer_of(name, row, id_column, input_column, output) for row in rows]
        self.by_id = _by_id(name, answers)
        self.by_input = _by_input(name, answers, ids_given=id_column is not None)
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
        answer = None
        if example is not None:
            answer = self.by_id.get(example.id) or self.by_input.get(example.input)
        if answer is None or answer.clash is not None:
            what = f"example {example.id}" if example is not None else "this prompt"
            problem = (
                f"{self.path} has no prediction for {what}"
                if answer is None
                else f"{self.path} answers the input of {what} differently at "
                f"{answer.where} and {answer.clash}, and has no prediction for its id"
            )
            return Generation(
                text="",
                prompt_tokens=0,
                completion_tokens=0,
                finish_reason="error",
                error=problem,
            )
        text = answer.text
        return Generation(
            text=text, prompt_tokens=0, completion_tokens=len(text.split()), finish_reason="stop"
        )


def _first(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    return next((c for c in candidates if c in columns), None)


@dataclass(frozen=True)
class _Answer:
    """One row of a predictions file: the example it answers, and how.

    Attributes:
        id / input: The example's id and input, as text (None when the row has none).
        text: The prediction.
        where: The row's place in the file ("line 3").
        clash: Another row answering the same input differently (input lookups only).
    """

    id: str | None
    input: str | None
    text: str
    where: str
    clash: str | None = None


def _answer_of(
    name: str, row: RawRow, id_column: str | None, input_column: str | None, output: str
) -> _Answer:
    values = row.values
    text = as_text(name, row, output, values.get(output), what="the prediction column")
    if text is None:
        raise DataError(f"{name}, {row.where}: the prediction column '{output}' is empty")
    example_id = input_text = None
    if id_column is not None:
        example_id = as_text(name, row, id_column, values.get(id_column), what="the id column")
    if input_column is not None:
        input_text = as_text(
            name, row, input_column, values.get(input_column), what="the input column"
        )
    if not example_id and input_text is None:
        named = " or ".join(f"'{c}'" for c in (id_column, input_column) if c is not None)
        raise DataError(f"{name}, {row.where}: the row names no example (no value in {named})")
    return _Answer(example_id or None, input_text, text, row.where)


def _by_id(name: str, answers: Sequence[_Answer]) -> dict[str, _Answer]:
    """Answers by example id; an id on two rows is an error, whatever they predict."""
    index: dict[str, _Answer] = {}
    for answer in answers:
        if answer.id is None:
            continue
        earlier = index.setdefault(answer.id, answer)
        if earlier is not answer:
            raise DataError(
                f"{name}: the id '{shown(answer.id)}' appears twice, at {earlier.where} and "
                f"{answer.where}; a predictions file gives one prediction per example"
            )
    return index


def _by_input(name: str, answers: Sequence[_Answer], *, ids_given: bool) -> dict[str, _Answer]:
    """Answers by example input. Two rows that answer one input differently are an
    error when inputs are the only key, and a clash kept for the lookup otherwise."""
    index: dict[str, _Answer] = {}
    for answer in answers:
        if answer.input is None:
            continue
        earlier = index.setdefault(answer.input, answer)
        if earlier is answer or earlier.text == answer.text or earlier.clash is not None:
            continue
        if not ids_given:
            raise DataError(
                f"{name}: the input '{shown(answer.input, 60)}' appears twice with different "
                f"predictions, at {earlier.where} and {answer.where}; give each row an id "
                "column to say which example each answers"
            )
        index[answer.input] = _Answer(
            earlier.id, earlier.input, earlier.text, earlier.where, clash=answer.where
        )
    return index

"""From error categories to training data: the examples of a category, written as
chat fine-tuning rows, so a run's error analysis becomes "the data that would help most".

Each row is what TRL's SFTTrainer and most fine-tuning scripts read (``messages``,
with the reference as the assistant's turn), plus what the row came from: the run,
the example id, the category, the detector's evidence and the answer the model gave.
The turns are the prompt's as the run sent them: the run's system prompt, if any,
first; a conversation's earlier turns; the user turn (the example's input, or its
template filled in). A tool row keeps its ``tools`` and its expected calls become the
assistant's ``tool_calls`` (OpenAI's fine-tuning format).

Mind where the run's examples come from: rows exported from a run on the *test*
set and trained on leak the test set into training (`assay check-data --train`
finds it). Export from a run on the training set or on fresh data (the base
model's run on the training questions, say), then evaluate on the test set.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay.data.dialogue import Turn
from assay.data.prompts import PromptConfig, build_prompts
from assay.error_analysis.categories import get_category
from assay.error_analysis.records import ErrorReport
from assay.exceptions import AssayError
from assay.runs.records import EvalConfig, Run
from assay.scoring import example_of


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote.

    Attributes:
        path: The JSONL file.
        rows: Rows written.
        without_reference: Examples of the categories left out: no reference to teach.
    """

    path: Path
    rows: int
    without_reference: int


def training_rows(run: Run, report: ErrorReport, categories: Sequence[str]) -> list[dict[str, Any]]:
    """The examples of these categories as chat fine-tuning rows (see the module docstring).

    Raises:
        NotFoundError: A category is not registered (human label names are allowed).
    """
    wanted = list(dict.fromkeys(categories))
    for name in wanted:
        if not any(e.category == name for e in report.errors):
            get_category(name)  # an unknown name is an error; a known one may just be empty
    evidence: dict[str, list[tuple[str, str]]] = {}
    for error in report.errors:
        if error.category in wanted:
            evidence.setdefault(error.example_id, []).append((error.category, error.detail))
    config = run.info.config.prompt if isinstance(run.info.config, EvalConfig) else PromptConfig()
    rows = []
    for result in run.results:
        found = evidence.get(result.example_id)
        if not found or result.reference is None or result.failed:
            continue
        example = example_of(result, run.info)
        (prompt,) = build_prompts(config, [example], model_has_chat_template=True)
        messages = prompt.messages(arguments_as_text=True)
        dialogue = example.dialogue
        calls = dialogue.expected_calls if dialogue is not None else None
        answer = Turn("assistant", "", calls) if calls else Turn("assistant", result.reference)
        messages.append(answer.message(arguments_as_text=True))
        tools = {"tools": [tool.schema() for tool in prompt.tools]} if prompt.tools else {}
        rows.append(
            {
                "messages": messages,
                **tools,
                "id": result.example_id,
                "categories": [name for name, _ in found],
                "evidence": {name: detail for name, detail in found},
                "prediction": result.prediction,
                "run": run.id,
            }
        )
    return rows


def export_training_rows(
    run: Run, report: ErrorReport, categories: Sequence[str], path: str | Path
) -> ExportResult:
    """Write the examples of these categories as chat fine-tuning rows (JSONL).

    Raises:
        AssayError: The file cannot be written.
    """
    path = Path(path)
    rows = training_rows(run, report, categories)
    ids = {e.example_id for e in report.errors if e.category in categories}
    try:
        path.write_text(
            "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
        )
    except OSError as exc:
        raise AssayError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return ExportResult(path, len(rows), len(ids) - len(rows))

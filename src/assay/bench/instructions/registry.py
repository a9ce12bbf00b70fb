"""The registry of instruction checkers, their typed arguments, and a row's verdicts."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from assay.exceptions import DataError

Checker = Callable[[str, "InstructionArgs"], bool]

INSTRUCTIONS: dict[str, Checker] = {}
"""Instruction id ("punctuation:no_comma") -> its checker."""


@dataclass(frozen=True)
class InstructionArgs:
    """The arguments one instruction of an IFEval row carries (the hub's 24 kwargs names).

    Only those an instruction uses are set; the rest stay None. Values the data
    holds as null, or empty, are None here too (the harness drops them alike).
    """

    num_highlights: int | None = None
    relation: str | None = None
    num_words: int | None = None
    num_placeholders: int | None = None
    prompt_to_repeat: str | None = None
    num_bullets: int | None = None
    section_spliter: str | None = None
    num_sections: int | None = None
    capital_relation: str | None = None
    capital_frequency: int | None = None
    keywords: tuple[str, ...] | None = None
    num_paragraphs: int | None = None
    language: str | None = None
    let_relation: str | None = None
    letter: str | None = None
    let_frequency: int | None = None
    end_phrase: str | None = None
    forbidden_words: tuple[str, ...] | None = None
    keyword: str | None = None
    frequency: int | None = None
    num_sentences: int | None = None
    postscript_marker: str | None = None
    first_word: str | None = None
    nth_paragraph: int | None = None

    @classmethod
    def of(cls, values: Mapping[str, Any], where: str) -> InstructionArgs:
        """The arguments from a row's kwargs dict; unknown names are a DataError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise DataError(
                f"{where}: unknown instruction argument(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        kept: dict[str, Any] = {}
        for name, value in values.items():
            if not value:  # null, 0, "" and [] are absent, as the harness reads them
                continue
            kept[name] = tuple(value) if isinstance(value, list) else value
        return cls(**kept)

    def need(self, name: str) -> Any:
        """An argument the instruction cannot do without."""
        value = getattr(self, name)
        if value is None:
            raise DataError(f"the instruction needs the argument '{name}', which the row lacks")
        return value


def instruction(instruction_id: str) -> Callable[[Checker], Checker]:
    """Register a checker under an instruction id."""

    def register(checker: Checker) -> Checker:
        INSTRUCTIONS[instruction_id] = checker
        return checker

    return register


@dataclass(frozen=True)
class Verdict:
    """Whether a response follows each instruction of its row, strictly and loosely."""

    instruction_ids: tuple[str, ...]
    strict: tuple[bool, ...]
    loose: tuple[bool, ...]


def loose_variants(response: str) -> list[str]:
    """The response and the variants the loose verdict also accepts, in the paper's order."""
    lines = response.split("\n")
    remove_first = "\n".join(lines[1:]).strip()
    remove_last = "\n".join(lines[:-1]).strip()
    remove_both = "\n".join(lines[1:-1]).strip()
    return [
        response,
        response.replace("*", ""),
        remove_first,
        remove_last,
        remove_both,
        remove_first.replace("*", ""),
        remove_last.replace("*", ""),
        remove_both.replace("*", ""),
    ]


def check_row(
    instruction_ids: Sequence[str],
    kwargs: Sequence[Mapping[str, Any]],
    response: str,
    *,
    where: str = "row",
) -> Verdict:
    """Every instruction of a row checked against a response, strictly and loosely.

    Raises:
        DataError: An instruction id no checker knows, or arguments that do not fit.
    """
    _load_checkers()
    variants = loose_variants(response)
    strict: list[bool] = []
    loose: list[bool] = []
    for position, (instruction_id, values) in enumerate(zip(instruction_ids, kwargs, strict=True)):
        checker = INSTRUCTIONS.get(instruction_id)
        if checker is None:
            raise DataError(
                f"{where}: unknown instruction '{instruction_id}'; known: "
                f"{', '.join(sorted(INSTRUCTIONS))}"
            )
        args = InstructionArgs.of(values, f"{where} instruction {position + 1} ({instruction_id})")
        try:
            strict.append(bool(response.strip()) and checker(response, args))
            loose.append(any(v.strip() and checker(v, args) for v in variants))
        except DataError as error:
            raise DataError(
                f"{where} instruction {position + 1} ({instruction_id}): {error}"
            ) from None
    return Verdict(tuple(instruction_ids), tuple(strict), tuple(loose))


def _load_checkers() -> None:
    from assay.bench.instructions import (  # noqa: F401
        case,
        combination,
        content,
        formats,
        keywords,
        language,
        length,
        punctuation,
        startend,
    )


RELATIONS = ("less than", "at least")


def compare(count: int, relation: str, threshold: int) -> bool:
    """The paper's two relations: "less than" (below) and "at least".

    Raises:
        DataError: Another relation.
    """
    if relation not in RELATIONS:
        raise DataError(f"relation {relation!r} is not one of: {', '.join(RELATIONS)}")
    return count < threshold if relation == "less than" else count >= threshold

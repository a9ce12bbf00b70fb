"""The records a data set is made of."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from assay.data.dialogue import Dialogue


@dataclass(frozen=True)
class RawRow:
    """One row as read from a source, before any field mapping.

    Attributes:
        values: Column name -> value, as the source holds it (JSON types,
            strings for CSV, Python values for Arrow and pandas).
        where: Where the row is, for messages: "line 7" for line-based files,
            "item 3" for a JSON array, "row 3" (1-based) for tables.
    """

    values: Mapping[str, Any]
    where: str


@dataclass(frozen=True)
class Example:
    """One test case: what the model is asked, and what a good answer is.

    Attributes:
        id: Stable identifier: the data set's own id column when it has one,
            else the row's position ("0", "1", ...). Runs are matched on it.
        input: The question / instruction text (the detected or named input field).
        reference: The expected answer, or None when the data set has none.
        fields: Every column of the original row, by name, so templates can use
            any of them; columns other than input and reference are metadata.
        dialogue: For a conversation or tool row, its turns, tools and expected calls
            (see assay.data.conversations); `input` is then its transcript. None for a
            plain question.
    """

    id: str
    input: str
    reference: str | None
    fields: Mapping[str, Any] = field(default_factory=dict)
    dialogue: Dialogue | None = None


@dataclass(frozen=True)
class Dataset:
    """A loaded test set: its examples and where they came from.

    Attributes:
        name: Human-readable source (a path, a hub id with its split, "DataFrame").
        examples: The examples, in file order (after --limit / --sample).
        input_field: Column the inputs were read from.
        reference_field: Column the references were read from, if any.
    """

    name: str
    examples: tuple[Example, ...]
    input_field: str
    reference_field: str | None

    def __len__(self) -> int:
        return len(self.examples)

    def __iter__(self) -> Iterator[Example]:
        return iter(self.examples)

    @property
    def fingerprint(self) -> str:
        """A hash of the examples' content: same rows, same fingerprint, wherever they came from."""
        digest = hashlib.sha256()
        for example in self.examples:
            row = [example.id, example.input, example.reference]
            if example.dialogue is not None:  # tool schemas and calls the transcript abridges
                row.append(example.dialogue.identity())
            digest.update(json.dumps(row, ensure_ascii=False).encode())
            digest.update(b"\n")
        return digest.hexdigest()[:16]

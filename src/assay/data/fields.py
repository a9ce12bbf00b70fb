"""Field mapping: from raw rows (column name -> value) to :class:`Example` records.

Readers in :mod:`assay.data.loaders` turn every source into the same list of
:class:`RawRow`; this module decides which columns are the input, the
reference and the id, converts their values to text, and fails on the first
row that does not fit, naming the row's place in its source.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assay.data.conversations import CONVERSATION_FIELDS, read_dialogue
from assay.data.example import Example, RawRow
from assay.data.values import kind_of, shown
from assay.exceptions import DataError

INPUT_CANDIDATES = ("question", "prompt", "input", "instruction", *CONVERSATION_FIELDS)
"""Columns tried, in order, when no input field is named (a conversation last)."""

REFERENCE_CANDIDATES = ("answer", "output", "reference", "target", "response")
"""Columns tried, in order, when no reference field is named."""


@dataclass(frozen=True)
class FieldMap:
    """The columns that play each role in a data set."""

    input: str
    reference: str | None
    id: str | None


def column_names(rows: Iterable[RawRow]) -> list[str]:
    """Every column that occurs in any row, in first-seen order (JSONL rows may differ)."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row.values))
    return list(names)


def resolve_fields(
    source: str,
    columns: Sequence[str],
    *,
    input_field: str | None,
    reference_field: str | None,
    id_field: str | None,
) -> FieldMap:
    """Pick the input, reference and id columns: the named ones, else the usual names.

    A missing reference column is allowed only when none was named, so that an
    unscored run (no references) is possible but a typo in a flag is not silent.
    """
    if input_field is not None:
        _require_column(source, columns, input_field, "--input-field")
        found_input: str | None = input_field
    else:
        found_input = _detect(columns, INPUT_CANDIDATES)
    if found_input is None:
        raise DataError(
            f"{source}: no input field found; looked for {', '.join(INPUT_CANDIDATES)}. "
            f"The data has the fields: {_listing(columns)}. "
            "Name the one to use with --input-field."
        )
    if reference_field is not None:
        _require_column(source, columns, reference_field, "--reference-field")
        found_reference: str | None = reference_field
    else:
        found_reference = _detect(columns, REFERENCE_CANDIDATES)
    if id_field is not None:
        _require_column(source, columns, id_field, "--id-field")
    elif "id" in columns:
        id_field = "id"
    return FieldMap(input=found_input, reference=found_reference, id=id_field)


def to_examples(source: str, rows: Sequence[RawRow], fields: FieldMap) -> list[Example]:
    """Convert every row, then check that ids are unique.

    Without an id column, an example's id is its 0-based position in the
    source, so ids stay the same whatever --limit or --sample picks.
    """
    examples = [_to_example(source, position, row, fields) for position, row in enumerate(rows)]
    _check_unique_ids(source, rows, examples)
    return examples


def _to_example(source: str, position: int, row: RawRow, fields: FieldMap) -> Example:
    values = row.values
    found = read_dialogue(
        f"{source}, {row.where}", values, input_field=fields.input, reference_field=fields.reference
    )
    if found is not None:  # a conversation, or a question with tools
        text: str | None = found.input
        reference = found.reference
    else:
        text = as_text(source, row, fields.input, values.get(fields.input), what="the input field")
        reference = None
        if fields.reference is not None:
            reference = _reference(source, row, fields.reference, values.get(fields.reference))
    if text is None:  # an empty string is a legitimate (if odd) input; a missing one is not
        raise DataError(f"{source}, {row.where}: the input field '{fields.input}' has no value")
    if fields.id is None:
        example_id = str(position)
    else:
        example_id = (
            as_text(source, row, fields.id, values.get(fields.id), what="the id field") or ""
        )
        if not example_id:
            raise DataError(
                f"{source}, {row.where}: the id field '{fields.id}' is missing or empty"
            )
    return Example(
        id=example_id,
        input=text,
        reference=reference,
        fields=dict(values),
        dialogue=found.dialogue if found is not None else None,
    )


def _reference(source: str, row: RawRow, name: str, value: Any) -> str | None:
    """The reference text. A list of strings (several acceptable answers) gives its first;
    an object (the expected output of an extraction) gives its JSON text.

    The full list or object stays in ``Example.fields`` for metrics that read it.
    """
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        if not value or not all(isinstance(item, str) for item in value):
            raise DataError(
                f"{source}, {row.where}: the reference field '{name}' is a list; "
                "expected a non-empty list of strings"
            )
        return str(value[0])
    return as_text(source, row, name, value, what="the reference field")


def as_text(source: str, row: RawRow, name: str, value: Any, *, what: str) -> str | None:
    """A value as text: strings as they are, numbers as written, None as None.

    Anything else (a list, an object, true/false) is an error rather than its
    Python ``str()``, which would silently become the text compared or shown.

    Args:
        source: The source, for messages.
        row: The row the value is in, for messages.
        name: The column.
        value: The value.
        what: How messages name the column's role ("the input field").
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise DataError(
        f"{source}, {row.where}: {what} '{shown(name)}' holds {kind_of(value)}; "
        "expected text or a number"
    )


def _check_unique_ids(source: str, rows: Sequence[RawRow], examples: Sequence[Example]) -> None:
    first_seen: dict[str, int] = {}
    for position, example in enumerate(examples):
        earlier = first_seen.setdefault(example.id, position)
        if earlier != position:
            raise DataError(
                f"{source}: the id '{shown(example.id)}' appears twice, at {rows[earlier].where} "
                f"and {rows[position].where}; ids must be unique (or name another "
                "column with --id-field)"
            )


def _detect(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    """The first candidate present as written, else the first present in another case."""
    for candidate in candidates:
        if candidate in columns:
            return candidate
    lowered = {column.lower(): column for column in reversed(columns)}
    for candidate in candidates:
        if candidate in lowered:
            return lowered[candidate]
    return None


def _require_column(source: str, columns: Sequence[str], name: str, flag: str) -> None:
    if name not in columns:
        raise DataError(
            f"{source}: {flag} '{name}' is not a field of the data; "
            f"the fields are: {_listing(columns)}"
        )


def _listing(columns: Sequence[str]) -> str:
    return ", ".join(shown(column, 40) for column in columns) if columns else "(none)"

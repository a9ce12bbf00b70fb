"""JSON Schema checks, with ``jsonschema``: is a schema valid, does a value fit one.

Tool declarations (their ``parameters``), the ``json_schema`` metric and the
``tool_call_valid`` metric all ask these two questions; the answers are one short
sentence naming the place inside the value ("at 'properties.city.type'"), for
messages and for a metric's detail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema.exceptions import SchemaError, best_match
from jsonschema.validators import validator_for

from assay.data.values import shown


def schema_problem(schema: object) -> str | None:
    """Why a value is not a valid JSON Schema (of its own ``$schema`` draft, else
    2020-12), or None when it is one."""
    if not isinstance(schema, (Mapping, bool)):
        return "is not a JSON Schema (a schema is an object)"
    if isinstance(schema, bool):
        return None
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as error:
        return f"is not a valid JSON Schema: {shown(error.message, 120)}{_at(error.path)}"
    return None


def value_problem(schema: Mapping[str, Any] | bool, value: object) -> str | None:
    """Why a value does not fit a (valid) schema, naming where; None when it fits."""
    validator = validator_for(schema)(schema)
    error = best_match(validator.iter_errors(value))
    if error is None:
        return None
    return f"{shown(error.message, 120)}{_at(error.path)}"


def _at(path: Iterable[object]) -> str:
    steps = [str(step) for step in path]
    return f" (at '{shown('.'.join(steps), 60)}')" if steps else ""

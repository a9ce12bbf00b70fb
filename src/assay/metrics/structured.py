"""Structured-output metrics, for extraction and JSON-mode fine-tunes.

The answer is read as JSON whole (a model that wraps it in one ```json fence is read
inside the fence; prose around it is not JSON):

- ``json_valid``: the answer is JSON.
- ``json_schema``: it is JSON and fits a JSON Schema (``jsonschema``), given for the run
  (the ``schema`` option: a file or an object) or per row (the ``schema`` field, an object
  or its JSON text).
- ``json_fields``: per-field exact match against a JSON object reference. Nested objects are
  compared field by field (``address.city``); lists and other values whole, as JSON values
  (key order and 1 against 1.0 do not matter). The value is the field-level F1 of the
  example; its parts are the precision (fields of the answer that are right), the recall
  (fields of the reference the answer got right) and one 0/1 part per reference field, so
  the run's summary holds ``json_fields/precision``, ``json_fields/recall`` and
  ``json_fields/field:<name>`` beside the F1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.data.dialogue import canonical_json
from assay.data.schemas import schema_problem, value_problem
from assay.data.values import shown
from assay.exceptions import MetricError
from assay.metrics.base import MetricFn, Score, ScoreInput, require_reference
from assay.metrics.registry import register_metric
from assay.metrics.tool_use import same_value

FENCED = re.compile(r"```[A-Za-z]*\s*\n?(.*?)\n?\s*```", re.DOTALL)
SCHEMA_FIELD = "schema"
"""The row field a per-row JSON Schema is read from."""


def parse_json_answer(text: str) -> tuple[Any, str | None]:
    """(the answer's JSON value, None), or (None, why it is not JSON). The whole answer, or
    the inside of one fenced block that is the whole answer."""
    stripped = text.strip()
    fenced = FENCED.fullmatch(stripped)
    if fenced is not None:
        stripped = fenced.group(1).strip()
    if not stripped:
        return None, "empty"
    try:
        return json.loads(stripped, parse_constant=_no_constant), None
    except ValueError as error:
        return None, f"not JSON: {error}"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@dataclass(frozen=True)
class FieldComparison:
    """A parsed answer against a reference object, field by field (dotted paths).

    Attributes:
        right: Reference fields the answer has, with an equal value.
        missing: Reference fields the answer lacks.
        wrong: (field, expected, got) for reference fields with another value.
        extra: Fields of the answer the reference does not have.
    """

    right: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    wrong: list[tuple[str, Any, Any]] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        answered = len(self.right) + len(self.wrong) + len(self.extra)
        return len(self.right) / answered if answered else float(not self.missing)

    @property
    def recall(self) -> float:
        expected = len(self.right) + len(self.wrong) + len(self.missing)
        return len(self.right) / expected if expected else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def describe(self) -> str | None:
        """What is missing, wrong or extra, in one line; None when everything is right."""
        parts = []
        if self.missing:
            parts.append("missing " + ", ".join(self.missing))
        if self.wrong:
            parts.append(
                "wrong "
                + ", ".join(
                    f"{n} (expected {_short(e)}, got {_short(g)})" for n, e, g in self.wrong
                )
            )
        if self.extra:
            parts.append("extra " + ", ".join(self.extra))
        return "; ".join(parts) or None


def compare_fields(reference: Mapping[str, Any], answer: Any) -> FieldComparison:
    """The answer's fields against the reference's (an answer that is not an object has none)."""
    expected = flatten(reference)
    got = flatten(answer) if isinstance(answer, Mapping) else {}
    result = FieldComparison()
    for name, value in expected.items():
        if name not in got:
            result.missing.append(name)
        elif same_value(value, got[name]):
            result.right.append(name)
        else:
            result.wrong.append((name, value, got[name]))
    result.extra.extend(name for name in got if name not in expected)
    return result


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects' leaves by dotted path ({"a": {"b": 1}} -> {"a.b": 1}); an empty
    object, a list and any other value are leaves."""
    leaves: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping) and item:
            leaves.update(flatten(item, f"{name}."))
        else:
            leaves[name] = item
    return leaves


def reference_object(item: ScoreInput, metric: str) -> Mapping[str, Any]:
    """The example's reference as a JSON object.

    Raises:
        MetricError: The example has no reference, or it is not a JSON object.
    """
    value, problem = parse_json_answer(require_reference(item, metric))
    if problem is not None or not isinstance(value, Mapping):
        raise MetricError(
            f"Metric '{metric}' compares fields with a JSON object reference, but example "
            f"'{item.example.id}' has the reference {shown(item.reference or '', 60)!r}; give "
            "the reference as an object (or its JSON text)"
        )
    return value


def _short(value: Any) -> str:
    text = canonical_json(value)
    return text if len(text) <= 30 else text[:27] + "..."


@register_metric("json_valid", pass_fail=True)
def json_valid() -> MetricFn:
    """1.0 when the answer is JSON (the whole answer, or one fenced block that is all of it)."""

    def score(items: Sequence[ScoreInput]) -> list[Score]:
        out = []
        for item in items:
            _, problem = parse_json_answer(item.prediction)
            out.append(Score(0.0, problem) if problem else Score(1.0))
        return out

    return score


@register_metric("json_schema", pass_fail=True)
def json_schema(schema: str | Path | Mapping[str, Any] | None = None) -> MetricFn:
    """1.0 when the answer is JSON that fits the JSON Schema (the run's, else the row's).

    Args:
        schema: The schema for every example: a JSON file's path, or the schema itself.
            Without it, each example's ``schema`` field (an object, or its JSON text).
    """
    run_schema = _run_schema(schema) if schema is not None else None
    checked: set[str] = set()

    def schema_of(item: ScoreInput) -> Mapping[str, Any]:
        if run_schema is not None:
            return run_schema
        value = item.example.fields.get(SCHEMA_FIELD)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                value = None
        if not isinstance(value, Mapping):
            raise MetricError(
                f"Metric 'json_schema' needs a JSON Schema: example '{item.example.id}' has no "
                f"'{SCHEMA_FIELD}' field holding one, and no schema was given for the run "
                "(the metric's schema option)"
            )
        key = canonical_json(value)
        if key not in checked:
            problem = schema_problem(value)
            if problem is not None:
                raise MetricError(
                    f"Metric 'json_schema': example '{item.example.id}': the field "
                    f"'{SCHEMA_FIELD}' {problem}"
                )
            checked.add(key)
        return value

    def score(items: Sequence[ScoreInput]) -> list[Score]:
        out = []
        for item in items:
            rule = schema_of(item)
            value, problem = parse_json_answer(item.prediction)
            if problem is None:
                problem = value_problem(rule, value)
            out.append(Score(0.0, problem) if problem else Score(1.0))
        return out

    return score


def _run_schema(schema: str | Path | Mapping[str, Any]) -> Mapping[str, Any]:
    """The run's schema, read and checked before anything is scored."""
    where = "the schema"
    if isinstance(schema, (str, Path)):
        where = f"the schema file {schema}"
        try:
            schema = json.loads(Path(schema).read_text(encoding="utf-8"))
        except OSError as error:
            raise MetricError(f"json_schema: {where} cannot be read ({error.strerror})") from None
        except ValueError as error:
            raise MetricError(f"json_schema: {where} is not JSON ({error})") from None
    problem = schema_problem(schema)
    if problem is not None or not isinstance(schema, Mapping):
        raise MetricError(f"json_schema: {where} {problem or 'is not an object'}")
    return schema


@register_metric("json_fields")
def json_fields() -> MetricFn:
    """Field-level F1 of the answer's JSON object against the reference object (parts:
    precision, recall, and each field right or not)."""

    def score(items: Sequence[ScoreInput]) -> list[Score]:
        out = []
        for item in items:
            reference = reference_object(item, "json_fields")
            value, problem = parse_json_answer(item.prediction)
            comparison = compare_fields(reference, value)
            parts = {"precision": comparison.precision, "recall": comparison.recall}
            for name in flatten(reference):
                parts[f"field:{name}"] = float(name in comparison.right)
            if problem is None and not isinstance(value, Mapping):
                problem = "not a JSON object"
            detail = problem if problem is not None else comparison.describe()
            out.append(Score(comparison.f1, detail, parts))
        return out

    return score

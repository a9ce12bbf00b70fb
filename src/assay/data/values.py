"""What a row's values may be: JSON's kinds of value, within limits every later step holds.

A row's values go into prompts, into the run store (as JSON, in SQLite or
PostgreSQL), into the terminal and into the review app. Each of those breaks,
late and with a traceback, on values that a reader lets through: a lone
surrogate cannot be encoded, NaN is not JSON, ten thousand nested arrays
overflow any recursive serialiser. So every reader's rows pass
:func:`plain_row`, which fails on the first bad value with its place, or
converts it by the rule below, before anything is stored.

The rule:

- strings must be text: a lone surrogate (half of a UTF-16 pair, which a JSON
  ``\\ud800`` escape can write but no encoding can store) is refused, in
  values and field names alike;
- numbers must be finite: infinity is refused; NaN, which tables (Parquet,
  pandas, Arrow) use for a missing value, becomes None (null);
- arrays and objects nest at most :data:`MAX_DEPTH` levels (Parquet's own
  schema limit is 100 too); tuples become lists, and object keys must be text;
- values JSON has no kind for are converted: a decimal to the text of its
  exact digits (``Decimal("12.50")`` -> ``"12.50"``), a date, time or
  timestamp to ISO 8601 text (``"2024-05-01T12:00:00+00:00"``), a duration to
  its seconds (a number), a UUID to its text; binary data is refused, because
  no text stands for it faithfully and no metric or template can use it.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
import re
import uuid
from collections.abc import Mapping
from typing import Any

from assay.data.example import RawRow
from assay.exceptions import DataError

MAX_DEPTH = 100
"""Most levels of arrays and objects a value may nest (the row itself not counted)."""

SURROGATE = re.compile("[\ud800-\udfff]")
"""A lone surrogate; decoded text (UTF-8, or JSON's escaped pairs) never holds one otherwise."""

_UNPRINTABLE = re.compile("[\ud800-\udfff\x7f-\x9f\u2028\u2029]")
"""What ``shown`` escapes beyond JSON's own escapes: surrogates, DEL and C1 controls, and
the Unicode line and paragraph separators."""

_ISO_TYPES = (datetime.datetime, datetime.date, datetime.time)


class _Refused(Exception):
    """A value that breaks the rule; ``plain_row`` adds the source, the row and the field."""


def plain_row(source: str, row: RawRow) -> RawRow:
    """The row with every value checked and converted by the module's rule.

    Raises:
        DataError: A value breaks the rule; the message names the source, the
            row's place and the field.
    """
    values: dict[str, Any] = {}
    for name, value in row.values.items():
        if not isinstance(name, str) or SURROGATE.search(name):
            what = "a lone surrogate" if isinstance(name, str) else type(name).__name__
            raise DataError(f"{source}, {row.where}: a field name holds {what}; {_TEXT_RULE}")
        try:
            values[name] = _plain(value, 0)
        except _Refused as refused:
            raise DataError(
                f"{source}, {row.where}: {_phrase(str(refused), shown(name))}"
            ) from None
        except RecursionError:  # a structure built in Python, deeper than it can walk
            raise DataError(f"{source}, {row.where}: {_phrase(TOO_DEEP, shown(name))}") from None
    return RawRow(values, row.where)


def _plain(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        if SURROGATE.search(value):
            raise _Refused(f"holds a lone surrogate ({_surrogate(value)}); {_TEXT_RULE}")
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            raise _Refused(f"holds {value}; numbers must be finite")
        return value
    if isinstance(value, (list, tuple, Mapping)):
        if depth >= MAX_DEPTH:
            raise _Refused(TOO_DEEP)
        if isinstance(value, Mapping):
            return {_key(key): _plain(item, depth + 1) for key, item in value.items()}
        return [_plain(item, depth + 1) for item in value]
    return _converted(value, depth)


def _key(key: Any) -> str:
    if not isinstance(key, str):
        raise _Refused(f"holds an object key of type {type(key).__name__}; keys must be text")
    if SURROGATE.search(key):
        raise _Refused(f"holds a lone surrogate ({_surrogate(key)}); {_TEXT_RULE}")
    return key


def _converted(value: Any, depth: int) -> Any:
    """A value JSON has no kind for, by the rule in the module docstring."""
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise _Refused(f"holds the decimal {value}; numbers must be finite")
        return str(value)
    if isinstance(value, _ISO_TYPES):
        return None if value != value else value.isoformat()  # pandas' NaT: a missing time
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise _Refused(
            "holds binary data, which is not text; convert the column to text "
            "(or drop it) before loading"
        )
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays inside nested values
    if callable(tolist):
        plain = tolist()
        if not hasattr(plain, "tolist"):
            return _plain(plain, depth)
    raise _Refused(
        f"holds a value of type {type(value).__name__}; expected text, a number, "
        "true/false, null, a list or an object"
    )


def shown(text: str, most: int = 80) -> str:
    """Text from a file as a message quotes it: one line, unprintable characters escaped
    (a newline as \\n, a lone surrogate as \\ud800), cut to ``most`` characters."""
    escaped = json.dumps(text, ensure_ascii=False)[1:-1]
    escaped = _UNPRINTABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", escaped)
    return escaped if len(escaped) <= most else escaped[: most - 3] + "..."


def kind_of(value: object) -> str:
    """A value's kind in JSON's words, for messages: "an array", "true/false", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    return type(value).__name__


def _phrase(problem: str, field: str) -> str:
    if problem == TOO_DEEP:
        return f"{problem} (in the field '{field}')"
    return f"the field '{field}' {problem}"


def _surrogate(text: str) -> str:
    match = SURROGATE.search(text)
    return f"\\u{ord(match.group()):04x}" if match else ""


TOO_DEEP = (
    f"nested deeper than {MAX_DEPTH} levels of arrays and objects; assay reads at most {MAX_DEPTH}"
)
_TEXT_RULE = "text must be valid Unicode (a surrogate escape like \\ud83d needs its pair)"

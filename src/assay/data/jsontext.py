"""Parsing JSON text strictly, so that what parses is what the rest of assay can hold.

Python's json module reads more than JSON and fails in ways other than
``JSONDecodeError``: it accepts NaN and Infinity (which are not JSON), turns
1e999 into infinity, raises ValueError on an integer of more than 4300 digits
RecursionError on a few thousand nested arrays, and keeps the last of two
values under one key without a word. :func:`parse` refuses NaN, Infinity,
oversized numbers and repeated keys with hooks, and turns every failure into
a :class:`DataError` naming the file and the line, found by a scan of the
text that runs only when something failed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, NoReturn

from assay.data.values import MAX_DEPTH, TOO_DEEP, shown
from assay.exceptions import DataError

MAX_INT_DIGITS = 4300
"""Most digits of an integer (Python's own limit for turning one into text)."""

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}:]|[^\s"\[\]{},:]+')
"""A string, a bracket, a colon, or a bare literal (number, true, NaN, ...) of JSON text."""


_Finder = Callable[[str, int, "str | None"], bool]
"""Whether a token (at a nesting depth; with the key it names when it is the colon after
an object's key) is the one a message should point at."""


class _Refused(Exception):
    """A literal the hooks refuse: the token as written, and what is wrong with it."""

    def __init__(self, token: str, problem: str) -> None:
        super().__init__(problem)
        self.token = token
        self.problem = problem


def parse(text: str, name: str, line: int | None = None) -> Any:
    """The value of a JSON text.

    Args:
        text: The JSON text.
        name: The file, for messages.
        line: The text's line in the file when it is one line of it (JSONL); None
            to count lines within the text.

    Raises:
        DataError: The text is not JSON, holds NaN or Infinity, a number too large
            to hold, or arrays and objects nested too deep to parse.
    """
    try:
        return json.loads(
            text,
            parse_constant=_constant,
            parse_int=_integer,
            parse_float=_float,
            object_pairs_hook=_object,
        )
    except json.JSONDecodeError as error:
        at = line if line is not None else error.lineno
        raise DataError(
            f"{name}, line {at}: not valid JSON ({error.msg}: column {error.colno})"
        ) from None
    except _RepeatedKey as repeated:
        _fail(name, line, text, str(repeated), repeated.found)
    except _Refused as refused:
        wanted = refused.token
        _fail(name, line, text, refused.problem, lambda token, _, __: token == wanted)
    except RecursionError:
        _fail(name, line, text, TOO_DEEP, lambda _, depth, __: depth > MAX_DEPTH)


class _RepeatedKey(Exception):
    """An object that holds one key twice; finds the second one when the text is scanned."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"the key '{shown(key)}' appears twice in one object; keys must be unique "
            "(a JSON reader would keep only the last value)"
        )
        self.key = key
        self.seen: list[set[str] | None] = []

    def found(self, token: str, depth: int, key: str | None) -> bool:
        """True at the second ``self.key`` of one object (``seen``: the keys of each open one)."""
        del self.seen[depth:]  # objects closed since
        self.seen += [None] * (depth - len(self.seen))  # containers opened since
        if key is None:
            return False
        keys = self.seen[depth - 1]
        if keys is None:
            keys = self.seen[depth - 1] = set()
        if key in keys:
            return key == self.key
        keys.add(key)
        return False


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKey(key)
            seen.add(key)
    return value


def _constant(token: str) -> NoReturn:
    raise _Refused(
        token,
        f"{token} is not a JSON number (JSON has no NaN or Infinity); write null for a missing value",
    )


def _integer(token: str) -> int:
    digits = len(token.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _Refused(
            token,
            f"an integer of {digits} digits; assay reads integers of at most {MAX_INT_DIGITS} "
            "digits (write longer ones as strings)",
        )
    return int(token)


def _float(token: str) -> float:
    value = float(token)
    if value in (float("inf"), float("-inf")):
        shown = token if len(token) <= 20 else token[:17] + "..."
        raise _Refused(
            token,
            f"the number {shown} is too large for a 64-bit float; write it as a string",
        )
    return value


def _fail(name: str, line: int | None, text: str, problem: str, found: _Finder) -> NoReturn:
    at = line if line is not None else _line_of(text, found)
    raise DataError(f"{name}, line {at}: {problem}") from None


def _line_of(text: str, found: _Finder) -> int:
    """The 1-based line of the first token for which ``found`` holds (else 1).

    Strings are skipped whole, so brackets and literals inside them do not count;
    a string followed by a colon is passed on, at the colon, as the key it names.
    """
    depth = 0
    string = None  # the string just read, which a colon makes a key
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token[0] == '"':
            string = match
            continue
        if token == ":" and string is not None:
            if found(token, depth, _key(string.group())):
                return text.count("\n", 0, string.start()) + 1
            string = None
            continue
        string = None
        if token in ("[", "{"):
            depth += 1
        elif token in ("]", "}"):
            depth -= 1
        if found(token, depth, None):
            return text.count("\n", 0, match.start()) + 1
    return 1


def _key(token: str) -> str:
    try:
        return str(json.loads(token))
    except ValueError:
        return token[1:-1]

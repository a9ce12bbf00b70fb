"""Text normalisation shared by the string-matching metrics."""

from __future__ import annotations

import re
import string
import unicodedata

_ASCII_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def collapse_whitespace(text: str) -> str:
    """The text stripped, with every run of whitespace (newlines included) made one space."""
    return " ".join(text.split())


def remove_punctuation(text: str) -> str:
    """The text without punctuation: ASCII ``string.punctuation`` and any Unicode ``P*`` character.

    Characters are dropped, not replaced by spaces, as in the SQuAD script
    (``"don't"`` becomes ``"dont"``).
    """
    return "".join(
        char
        for char in text
        if char not in _ASCII_PUNCTUATION and not unicodedata.category(char).startswith("P")
    )


def normalize_text(
    text: str, *, ignore_case: bool = False, ignore_punctuation: bool = False
) -> str:
    """The text with whitespace collapsed, optionally lowercased and without punctuation."""
    if ignore_case:
        text = text.lower()
    if ignore_punctuation:
        text = remove_punctuation(text)
    return collapse_whitespace(text)


def normalize_answer(text: str) -> str:
    """SQuAD's answer normalisation: lowercase, no punctuation, no articles, single spaces.

    The steps and their order follow the official SQuAD v1.1 evaluation script;
    punctuation also covers Unicode punctuation (curly quotes, dashes), which
    the script leaves in. On ASCII text the result is the script's.
    """
    return collapse_whitespace(_ARTICLES.sub(" ", remove_punctuation(text.lower())))

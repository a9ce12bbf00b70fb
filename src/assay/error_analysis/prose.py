"""What counts as prose in a text: the words a person wrote, not code.

Answers about software mix prose with code: fenced blocks, `inline spans`, file
names (``run_list.txt``), paths (``/home/user``), command-line flags (``--limit``,
``-R``), URLs, identifiers (``snake_case``, ``camelCase``, ``os.path.join``,
``smollm2``), acronyms (``JSON``) and chains such as ``Lamini-Lamini-Lamini``.
The ``language`` and ``spelling`` detectors judge prose only: a command has no
language, and an identifier is not a misspelling.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

FENCED = re.compile(r"(```|~~~).*?(?:\1|\Z)", re.DOTALL)
"""A fenced block; one left open runs to the end (a truncated answer often stops inside one)."""
INLINE = re.compile(r"`[^`\n]*`")
URL = re.compile(r"\b(?:https?|ftp|file)://\S+|\bwww\.\S+|\S+@\S+\.\w+", re.IGNORECASE)
EDGE = "\"'“”‘’«»()[]{}<>.,;:!?*_~…"
"""Punctuation around a word (markdown emphasis included), stripped before it is judged."""
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
"""A word: letters, with inner apostrophes ("don't")."""
CAMEL = re.compile(r"[a-z][A-Z]")
ACRONYM = re.compile(r"[A-Z]{2,}s?")
LONGEST_COMPOUND = 3
"""Most parts of a hyphenated word ("state-of-the-art" has 4 and is not judged)."""


def strip_code(text: str) -> str:
    """The text without fenced blocks, inline code spans and URLs."""
    text = FENCED.sub(" ", text)
    text = INLINE.sub(" ", text)
    text = URL.sub(" ", text)
    return text.replace("`", " ")


def prose_words(text: str | None) -> list[str]:
    """The prose words of a text, in order, as written (case kept).

    Code, URLs, flags, paths, file names, identifiers, numbers, acronyms and
    hyphen chains are left out; a hyphenated word ("multi-step") gives its parts.
    """
    found: list[str] = []
    for token in strip_code(text or "").split():
        if token.startswith("-"):  # a flag (--limit, -R) or a bullet
            continue
        found.extend(_token_words(token.strip(EDGE)))
    return found


def known_words(texts: Iterable[str | None]) -> frozenset[str]:
    """Every word (lower-cased) of the texts, code included: words a detector takes as known.

    Identifiers give their pieces ("run_list" gives "run" and "list").
    """
    return frozenset(w.lower() for text in texts for w in WORD.findall(text or ""))


def _token_words(token: str) -> list[str]:
    if not token:
        return []
    parts = token.split("-")
    if len(parts) > 1:
        if len(parts) > LONGEST_COMPOUND or "" in parts or len(set(parts)) < len(parts):
            return []
        words = [_word(part) for part in parts]
        return [w for w in words if w] if all(words) else []
    word = _word(token)
    return [word] if word else []


def _word(token: str) -> str | None:
    """The token if it is a plain word: letters (inner apostrophes allowed), no camelCase,
    not an acronym; None for anything else (an identifier, a path, a number)."""
    if not WORD.fullmatch(token) or CAMEL.search(token) or ACRONYM.fullmatch(token):
        return None
    return token

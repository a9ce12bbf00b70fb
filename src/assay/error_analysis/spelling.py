"""The ``spelling`` detector: misspelled words in the prose of an answer.

A word is misspelled when pyspellchecker's offline dictionary does not know it and
knows a word one edit away that is not merely its plural or prefixed form
("answr" -> "answer", "definately" -> "definitely"). What is left alone:

- everything that is not prose (:mod:`assay.error_analysis.prose`): code spans and
  fenced blocks, URLs, paths, file names, flags, identifiers (snake_case,
  camelCase, dotted names, words with digits), acronyms;
- capitalised words (names), and words under five letters (abbreviations such as
  "sql", "txt" or "app" are more common there than typos);
- known words: those of the example's question and reference, of the whole run's
  inputs and references, of the training vocabulary (``ErrorOptions.
  train_vocabulary``), file extensions, Python's keywords, builtins and standard
  modules, and a short list of programming words the dictionary lacks;
- words the dictionary has nothing close to ("immunoassays", "runtime"): a word
  that resembles no known word is a rare or technical one, not a slip of the keys.

The rule favours precision: a spelling flag should be one a person agrees with.
"""

from __future__ import annotations

import builtins
import functools
import keyword
import mimetypes
import sys
from typing import Any

from assay.error_analysis.categories import detector
from assay.error_analysis.context import DetectorContext
from assay.error_analysis.prose import prose_words
from assay.exceptions import MissingDependencyError
from assay.runs.records import ExampleResult

LANGUAGE = "en"
"""The dictionary used."""
SHORTEST = 5
"""Shortest word judged."""
SHOWN = 5
"""Most misspellings named in an example's detail."""
PREFIXES = frozenset(
    [
        "anti",
        "auto",
        "bi",
        "co",
        "de",
        "e",
        "micro",
        "mid",
        "multi",
        "non",
        "over",
        "post",
        "pre",
        "re",
        "semi",
        "sub",
        "super",
        "un",
        "under",
    ]
)
"""Prefixes written as words of their own ("multi-step", "pre-trained") or glued on
("esports"): never misspellings, and never what a word misspells."""
PROGRAMMING_WORDS = frozenset(
    [
        "admin",
        "async",
        "auth",
        "backend",
        "boolean",
        "bot",
        "bots",
        "changelog",
        "chatbot",
        "chatbots",
        "codebase",
        "config",
        "configs",
        "dataset",
        "datasets",
        "dedupe",
        "desktop",
        "docstring",
        "docstrings",
        "enum",
        "filename",
        "filenames",
        "frontend",
        "hashable",
        "hostname",
        "init",
        "inline",
        "json",
        "jsonl",
        "kwargs",
        "lookup",
        "metadata",
        "middleware",
        "namespace",
        "params",
        "plugin",
        "plugins",
        "preprocess",
        "preprocessing",
        "readme",
        "regex",
        "repo",
        "repos",
        "runtime",
        "signup",
        "stderr",
        "stdin",
        "stdout",
        "subfolder",
        "subprocess",
        "timestamp",
        "timestamps",
        "tokenizer",
        "tokenizers",
        "username",
        "usernames",
        "webhook",
        "workflow",
        "workflows",
    ]
)
"""Words of programming prose that the English dictionary lacks."""
FILE_EXTENSIONS = frozenset(ext.lstrip(".") for ext in mimetypes.types_map) | frozenset(
    ["csv", "gguf", "ipynb", "jsonl", "md", "parquet", "toml", "tsv", "yaml", "yml"]
)
PYTHON_NAMES = (
    frozenset(keyword.kwlist) | frozenset(dir(builtins)) | frozenset(sys.stdlib_module_names)
)
ALWAYS_KNOWN = PREFIXES | PROGRAMMING_WORDS | FILE_EXTENSIONS | PYTHON_NAMES


@detector(
    "spelling",
    severity="low",
    suggestion="misspellings in {share} of answers: fix the spelling in the training answers "
    "(and check the tokenizer handles your domain's words)",
)
def spelling(result: ExampleResult, context: DetectorContext) -> str | None:
    """Misspelled words in the answer's prose (code, identifiers and known words left out)."""
    known = context.vocabulary
    candidates = {
        word.lower()
        for word in prose_words(result.prediction)
        if len(word) >= SHORTEST and word[0].islower() and "'" not in word and "’" not in word
    }
    fresh = sorted(w for w in candidates if w not in known and w not in ALWAYS_KNOWN)
    if not fresh:
        return None
    checker = _checker()
    found = []
    for word in sorted(checker.unknown(fresh)):
        fix = _correction(checker, word)
        if fix is not None:
            found.append(f"{word} ({fix}?)")
    return "misspelled: " + ", ".join(found[:SHOWN]) if found else None


def _correction(checker: Any, word: str) -> str | None:
    """The most frequent known word one edit away, or None when there is none or the word
    is a known word with a plural ending or a prefix added ("ethicists", "esports")."""
    if _derived(checker, word):
        return None
    close = [c for c in checker.known(checker.edit_distance_1(word)) if not _variant(word, c)]
    return max(close, key=lambda c: (checker.word_usage_frequency(c), c)) if close else None


def _derived(checker: Any, word: str) -> bool:
    """Whether the word is a known word with a plural ending or a prefix added. (Not a
    past ending: "occured" is "occur" + "ed" and still a misspelling.)"""
    stems = [word[: -len(end)] for end in ("s", "es") if word.endswith(end)]
    stems += [word[len(p) :] for p in PREFIXES if word.startswith(p) and len(word) - len(p) >= 4]
    return bool(stems) and bool(checker.known(stems))


def _variant(word: str, known: str) -> bool:
    """Whether the two differ only by a plural or past ending, or a prefix
    ("dataset" / "datasets")."""
    for longer, shorter in ((word, known), (known, word)):
        if longer.startswith(shorter) and longer[len(shorter) :] in ("s", "d"):
            return True
        if any(longer == prefix + shorter for prefix in PREFIXES):
            return True
    return False


@functools.cache
def _checker() -> Any:
    """The dictionary, loaded once per process (it is read-only)."""
    try:
        from spellchecker import SpellChecker
    except ImportError:
        raise MissingDependencyError("pyspellchecker", "the spelling detector") from None
    return SpellChecker(language=LANGUAGE)

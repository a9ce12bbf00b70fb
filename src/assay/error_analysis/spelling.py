"""The ``spelling`` detector: misspelled words, by pyspellchecker's offline dictionary.

Words of the run's own inputs, references and prompts count as known, so domain
terms ("kubernetes", a product name) are never flagged; capitalised words are
taken for names and skipped, and so are words of one or two letters.
"""

from __future__ import annotations

from typing import Any

from assay.error_analysis.categories import detector
from assay.error_analysis.context import WORD, DetectorContext
from assay.exceptions import MissingDependencyError
from assay.runs.records import ExampleResult

LANGUAGE = "en"
"""The dictionary used."""


@detector(
    "spelling",
    severity="low",
    suggestion="misspellings in {share} of answers: fix the spelling in the training answers "
    "(and check the tokenizer handles your domain's words)",
)
def spelling(result: ExampleResult, context: DetectorContext) -> str | None:
    """Misspelled words (unknown to the dictionary and to the test set's own vocabulary)."""
    candidates = [
        word.lower()
        for word in WORD.findall(result.prediction)
        if len(word) > 2 and word[0].islower() and "'" not in word and "’" not in word
    ]
    if not candidates:
        return None
    fresh = [w for w in candidates if w not in context.vocabulary]
    if not fresh:
        return None
    unknown = sorted(_checker(context).unknown(fresh))
    return "misspelled: " + ", ".join(unknown[:5]) if unknown else None


def _checker(context: DetectorContext) -> Any:
    checker = context.cache.get("spelling")
    if checker is None:
        try:
            from spellchecker import SpellChecker
        except ImportError:
            raise MissingDependencyError("pyspellchecker", "the spelling detector") from None
        checker = context.cache["spelling"] = SpellChecker(language=LANGUAGE)
    return checker

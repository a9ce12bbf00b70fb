"""The ``language`` detector: an answer in another language than its reference.

Uses langdetect (offline profiles) with a fixed seed, so the same text always gets
the same language. Texts shorter than ``min_language_chars`` letters are not
judged: short strings are too ambiguous.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from assay.error_analysis.categories import detector
from assay.error_analysis.context import DetectorContext
from assay.exceptions import MissingDependencyError
from assay.runs.records import ExampleResult

MIN_PROBABILITY = 0.8
"""Least confidence in both languages before they are compared."""

_lock = threading.Lock()


@detector(
    "language",
    severity="high",
    suggestion="{share} of answers are in another language than the reference: make the "
    "training answers' language match the questions', and say which language in the prompt",
)
def language(result: ExampleResult, context: DetectorContext) -> str | None:
    """Answers in another language than the reference."""
    if result.reference is None:
        return None
    least = context.options.min_language_chars
    if _letters(result.prediction) < least or _letters(result.reference) < least:
        return None
    detect = _detector()
    answer, reference = detect(result.prediction), detect(result.reference)
    if answer is None or reference is None or answer == reference:
        return None
    return f"answer in {answer}, reference in {reference}"


def _letters(text: str) -> int:
    return sum(c.isalpha() for c in text)


def _detector() -> Callable[[str], str | None]:
    try:
        from langdetect import DetectorFactory, detect_langs
        from langdetect.lang_detect_exception import LangDetectException
    except ImportError:
        raise MissingDependencyError("langdetect", "the language detector") from None

    def detect(text: str) -> str | None:
        with _lock:  # the seed is global state in langdetect
            DetectorFactory.seed = 0
            try:
                best = detect_langs(text)[0]
            except LangDetectException:
                return None
        return str(best.lang) if best.prob >= MIN_PROBABILITY else None

    return detect

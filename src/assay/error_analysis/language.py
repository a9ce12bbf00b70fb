"""The ``language`` detector: an answer written in another language than its reference.

Only prose is judged (:mod:`assay.error_analysis.prose`): code, commands, paths,
file names, identifiers and URLs have no language. The answer is compared with its
reference, or with its question when the reference has too little prose (a command,
a number, a name). Nothing is said unless both sides have at least
``min_language_words`` distinct prose words and ``min_language_chars`` letters,
langdetect (offline profiles, fixed seed) is confident of both languages, they
differ, and fewer than half of the answer's words occur anywhere in the run's
references (or questions): an answer made of the run's own words is in the run's
language whatever a detector guesses from a few dozen letters.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from assay.error_analysis.categories import detector
from assay.error_analysis.context import DetectorContext
from assay.error_analysis.prose import prose_words
from assay.exceptions import MissingDependencyError
from assay.runs.records import ExampleResult

MIN_PROBABILITY = 0.8
"""Least confidence in both languages before they are compared."""
MOST_SHARED = 0.5
"""An answer with at least this share of its distinct words in the run's references
(or questions) is taken to be in their language."""

_lock = threading.Lock()


@detector(
    "language",
    severity="high",
    suggestion="{share} of answers are in another language than the reference: make the "
    "training answers' language match the questions', and say which language in the prompt",
    explains_wrong=True,
)
def language(result: ExampleResult, context: DetectorContext) -> str | None:
    """Answers in another language than the reference (or the question)."""
    answer = _prose(result.prediction, context)
    if answer is None:
        return None
    side, other, corpus = "reference", _prose(result.reference, context), context.reference_words
    if other is None:
        side, other, corpus = "question", _prose(result.input, context), context.input_words
    if other is None:
        return None
    shared = sum(w in corpus for w in answer) / len(answer)
    if shared >= MOST_SHARED:
        return None
    detect = _detector()
    answer_language, other_language = detect(" ".join(answer)), detect(" ".join(other))
    if answer_language is None or other_language is None or answer_language == other_language:
        return None
    return f"answer in {answer_language}, {side} in {other_language}"


def _prose(text: str | None, context: DetectorContext) -> list[str] | None:
    """The text's distinct prose words (lower-cased, in order), or None when there are too
    few to tell its language."""
    distinct = list(dict.fromkeys(w.lower() for w in prose_words(text)))
    options = context.options
    enough_words = len(distinct) >= options.min_language_words
    if not enough_words or sum(len(w) for w in distinct) < options.min_language_chars:
        return None
    return distinct


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

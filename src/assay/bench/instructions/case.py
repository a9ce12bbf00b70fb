"""Change of case: all capitals, all lowercase, or a count of all-capital words."""

from __future__ import annotations

from assay.bench.instructions.registry import InstructionArgs, compare, instruction
from assay.bench.instructions.text import detect_language, word_tokenize


@instruction("change_case:english_capital")
def english_capital(response: str, args: InstructionArgs) -> bool:
    """All capital letters, in English."""
    from langdetect import LangDetectException

    try:
        return response.isupper() and detect_language(response) == "en"
    except LangDetectException:
        return True


@instruction("change_case:english_lowercase")
def english_lowercase(response: str, args: InstructionArgs) -> bool:
    """All lowercase letters, in English."""
    from langdetect import LangDetectException

    try:
        return response.islower() and detect_language(response) == "en"
    except LangDetectException:
        return True


@instruction("change_case:capital_word_frequency")
def capital_word_frequency(response: str, args: InstructionArgs) -> bool:
    """Less than / at least N words in all capitals (NLTK's word tokens)."""
    capitals = sum(word.isupper() for word in word_tokenize(response))
    return compare(capitals, args.need("capital_relation"), args.need("capital_frequency"))

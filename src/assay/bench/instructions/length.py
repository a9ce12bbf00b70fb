"""Length constraints: sentences, paragraphs, words, and a paragraph's first word."""

from __future__ import annotations

import re

from assay.bench.instructions.registry import InstructionArgs, compare, instruction
from assay.bench.instructions.text import count_sentences, count_words

PUNCTUATION = {".", ",", "?", "!", "'", '"'}


@instruction("length_constraints:number_sentences")
def number_sentences(response: str, args: InstructionArgs) -> bool:
    """Less than / at least N sentences (Punkt's English model)."""
    return compare(count_sentences(response), args.need("relation"), args.need("num_sentences"))


@instruction("length_constraints:number_words")
def number_words(response: str, args: InstructionArgs) -> bool:
    """Less than / at least N words."""
    return compare(count_words(response), args.need("relation"), args.need("num_words"))


@instruction("length_constraints:number_paragraphs")
def number_paragraphs(response: str, args: InstructionArgs) -> bool:
    """Exactly N paragraphs separated by "***"; an empty one inside fails."""
    paragraphs = re.split(r"\s?\*\*\*\s?", response)
    count = len(paragraphs)
    for index, paragraph in enumerate(paragraphs):
        if not paragraph.strip():
            if index in (0, len(paragraphs) - 1):
                count -= 1
            else:
                return False
    return count == args.need("num_paragraphs")


@instruction("length_constraints:nth_paragraph_first_word")
def nth_paragraph_first_word(response: str, args: InstructionArgs) -> bool:
    """Exactly N paragraphs (blank-line separated) and the n-th starts with the word."""
    paragraphs = re.split(r"\n\n", response)
    count = len(paragraphs) - sum(not p.strip() for p in paragraphs)
    nth = args.need("nth_paragraph")
    if nth > count:
        return False
    paragraph = paragraphs[nth - 1].strip()
    if not paragraph:
        return False
    word = paragraph.split()[0].strip().lstrip("'").lstrip('"')
    first = ""
    for letter in word:
        if letter in PUNCTUATION:
            break
        first += letter.lower()
    return count == args.need("num_paragraphs") and first == args.need("first_word").lower()

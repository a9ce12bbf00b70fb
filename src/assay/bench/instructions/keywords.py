"""Keywords: included, repeated, forbidden, and letter frequency."""

from __future__ import annotations

import collections
import re

from assay.bench.instructions.registry import InstructionArgs, compare, instruction


@instruction("keywords:existence")
def existence(response: str, args: InstructionArgs) -> bool:
    """Every keyword appears (each a pattern, case-insensitive)."""
    return all(re.search(k, response, flags=re.IGNORECASE) for k in sorted(args.need("keywords")))


@instruction("keywords:frequency")
def frequency(response: str, args: InstructionArgs) -> bool:
    """The keyword appears less than / at least N times."""
    found = len(re.findall(args.need("keyword").strip(), response, flags=re.IGNORECASE))
    return compare(found, args.need("relation"), args.need("frequency"))


@instruction("keywords:forbidden_words")
def forbidden_words(response: str, args: InstructionArgs) -> bool:
    """None of the words appears as a whole word."""
    words = sorted(set(args.need("forbidden_words")))
    return not any(re.search(r"\b" + w + r"\b", response, flags=re.IGNORECASE) for w in words)


@instruction("keywords:letter_frequency")
def letter_frequency(response: str, args: InstructionArgs) -> bool:
    """A letter appears less than / at least N times, in either case.

    Two IFEval rows ask for a character that is not a letter ("#", "!"): it is counted
    as asked. (The paper's code, and the harness's copy, draw a random letter instead
    there, so their verdict on those two instructions is a coin toss.)
    """
    letter = args.need("letter").strip().lower()
    count = collections.Counter(response.lower())[letter]
    return compare(count, args.need("let_relation"), args.need("let_frequency"))

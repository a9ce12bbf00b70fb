"""Language: the whole response in the asked language (langdetect)."""

from __future__ import annotations

from assay.bench.instructions.registry import InstructionArgs, instruction
from assay.bench.instructions.text import detect_language


@instruction("language:response_language")
def response_language(response: str, args: InstructionArgs) -> bool:
    """langdetect names the asked language; text it cannot classify passes, as in the paper."""
    from langdetect import LangDetectException

    try:
        return detect_language(response) == args.need("language")
    except LangDetectException:
        return True

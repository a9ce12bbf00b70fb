"""Punctuation: no commas."""

from __future__ import annotations

from assay.bench.instructions.registry import InstructionArgs, instruction


@instruction("punctuation:no_comma")
def no_comma(response: str, args: InstructionArgs) -> bool:
    """No comma anywhere."""
    return "," not in response

"""Start and end: a closing phrase, and quotation marks around the whole response."""

from __future__ import annotations

from assay.bench.instructions.registry import InstructionArgs, instruction


@instruction("startend:end_checker")
def end_checker(response: str, args: InstructionArgs) -> bool:
    """The response ends with the phrase (any case; surrounding quotes ignored)."""
    return response.strip().strip('"').lower().endswith(args.need("end_phrase").strip().lower())


@instruction("startend:quotation")
def quotation(response: str, args: InstructionArgs) -> bool:
    """The whole response is wrapped in double quotation marks."""
    value = response.strip()
    return len(value) > 1 and value[0] == '"' and value[-1] == '"'

"""Combinations: two responses, or the prompt repeated first."""

from __future__ import annotations

from assay.bench.instructions.registry import InstructionArgs, instruction


@instruction("combination:two_responses")
def two_responses(response: str, args: InstructionArgs) -> bool:
    """Two different responses separated by six asterisks."""
    valid = []
    parts = response.split("******")
    for index, part in enumerate(parts):
        if not part.strip():
            if index not in (0, len(parts) - 1):
                return False
        else:
            valid.append(part)
    return len(valid) == 2 and valid[0].strip() != valid[1].strip()


@instruction("combination:repeat_prompt")
def repeat_prompt(response: str, args: InstructionArgs) -> bool:
    """The response starts with the request, repeated word for word (any case)."""
    return response.strip().lower().startswith(args.need("prompt_to_repeat").strip().lower())

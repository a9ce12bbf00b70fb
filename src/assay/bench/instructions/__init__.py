"""IFEval's verifiable instructions: one checker per instruction id, and the strict and
loose verdicts on a response, as Google's instruction_following_eval (and the harness's
copy of it) gives them.

Each checker is a small function of the response and the row's arguments for that
instruction, registered under its id by :func:`instruction`; the modules beside this
one hold them by the paper's categories. A row names its instructions in
``instruction_id_list`` and their arguments in ``kwargs`` (one dict per
instruction; null or empty values are absent, as the harness reads them).

Strict: the response as it is. Loose: the instruction also counts as followed
if any of seven variants follows it (the first line, the last line or both
removed, and each of these and the response with every "*" removed), which
forgives a preamble, a sign-off and markdown emphasis.
"""

from assay.bench.instructions.registry import (
    INSTRUCTIONS,
    InstructionArgs,
    Verdict,
    check_row,
    instruction,
    loose_variants,
)

__all__ = [
    "INSTRUCTIONS",
    "InstructionArgs",
    "Verdict",
    "check_row",
    "instruction",
    "loose_variants",
]

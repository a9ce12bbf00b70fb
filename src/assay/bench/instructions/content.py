"""Detectable content: placeholders and a postscript."""

from __future__ import annotations

import re

from assay.bench.instructions.registry import InstructionArgs, instruction


@instruction("detectable_content:number_placeholders")
def number_placeholders(response: str, args: InstructionArgs) -> bool:
    """At least N placeholders in square brackets."""
    return len(re.findall(r"\[.*?\]", response)) >= args.need("num_placeholders")


@instruction("detectable_content:postscript")
def postscript(response: str, args: InstructionArgs) -> bool:
    """A line starting with the postscript marker (P.S., P.P.S or another)."""
    marker = args.need("postscript_marker").strip()
    if marker == "P.P.S":
        pattern = r"\s*p\.\s?p\.\s?s.*$"
    elif marker == "P.S.":
        pattern = r"\s*p\.\s?s\..*$"
    else:
        pattern = r"\s*" + marker.lower() + r".*$"
    return bool(re.findall(pattern, response.lower(), flags=re.MULTILINE))

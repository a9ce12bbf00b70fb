"""Detectable format: bullets, a fixed answer, highlights, sections, JSON, a title."""

from __future__ import annotations

import json
import re

from assay.bench.instructions.registry import InstructionArgs, instruction

CONSTRAINED_RESPONSES = ("My answer is yes.", "My answer is no.", "My answer is maybe.")


@instruction("detectable_format:number_bullet_lists")
def number_bullet_lists(response: str, args: InstructionArgs) -> bool:
    """Exactly N markdown bullet points ("* " or "- " lines)."""
    stars = re.findall(r"^\s*\*[^\*].*$", response, flags=re.MULTILINE)
    dashes = re.findall(r"^\s*-.*$", response, flags=re.MULTILINE)
    return len(stars) + len(dashes) == args.need("num_bullets")


@instruction("detectable_format:constrained_response")
def constrained_response(response: str, args: InstructionArgs) -> bool:
    """One of "My answer is yes./no./maybe." appears."""
    value = response.strip()
    return any(option in value for option in CONSTRAINED_RESPONSES)


@instruction("detectable_format:number_highlighted_sections")
def number_highlighted_sections(response: str, args: InstructionArgs) -> bool:
    """At least N non-empty *highlighted* (or **bold**) spans."""
    count = sum(bool(h.strip("*").strip()) for h in re.findall(r"\*[^\n\*]*\*", response))
    count += sum(
        bool(h.removeprefix("**").removesuffix("**").strip())
        for h in re.findall(r"\*\*[^\n\*]*\*\*", response)
    )
    return count >= args.need("num_highlights")


@instruction("detectable_format:multiple_sections")
def multiple_sections(response: str, args: InstructionArgs) -> bool:
    """At least N sections, each starting "<splitter> <number>"."""
    splitter = args.need("section_spliter").strip()
    sections = re.split(r"\s?" + splitter + r"\s?\d+\s?", response)
    return len(sections) - 1 >= args.need("num_sections")


@instruction("detectable_format:json_format")
def json_format(response: str, args: InstructionArgs) -> bool:
    """The whole response is JSON (a markdown code fence around it is allowed)."""
    value = (
        response.strip()
        .removeprefix("```json")
        .removeprefix("```Json")
        .removeprefix("```JSON")
        .removeprefix("```")
        .removesuffix("```")
        .strip()
    )
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


@instruction("detectable_format:title")
def title(response: str, args: InstructionArgs) -> bool:
    """A non-empty title in double angular brackets, <<like this>>."""
    return any(t.lstrip("<").rstrip(">").strip() for t in re.findall(r"<<[^\n]+>>", response))

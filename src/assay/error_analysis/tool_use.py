"""Error categories of tool use, and of a reasoning model that never answered.

On a tool row (it declares tools and has a reference; assay.data.conversations) the
answer's calls (assay.models.tool_calls) are held against the calls the reference
expects. Each category explains a wrong score:

- ``no_tool_call``: a call was expected and the answer makes none;
- ``unknown_tool``: it calls a function the row does not declare;
- ``invalid_arguments``: it calls a declared function with arguments that do not fit its
  schema, or writes a call that cannot be read (broken JSON, cut at the token limit);
- ``unexpected_tool_call``: it calls a function where the reference is a text answer.

A call of the wrong declared function with valid arguments is none of these: it is a
plain wrong answer (``incorrect``, by the main metric). ``thinking_unfinished`` marks an
answer that is all thinking: the thinking never closed before the token limit, so there
is no answer to judge (the report runs no other detector on it).
"""

from __future__ import annotations

from assay.data.dialogue import Dialogue
from assay.data.schemas import value_problem
from assay.error_analysis.categories import detector
from assay.error_analysis.context import DetectorContext
from assay.metrics.thinking import split_reply
from assay.models.tool_calls import ParsedCalls, parse_calls
from assay.runs.records import ExampleResult


def _tool_row(
    result: ExampleResult, context: DetectorContext
) -> tuple[Dialogue, ParsedCalls] | None:
    """The row's dialogue and the answer's calls, parsed once for all four detectors."""
    dialogue = context.dialogue(result)
    if dialogue is None or dialogue.expected_calls is None:
        return None
    key = f"calls:{result.example_id}"
    if key not in context.cache:
        context.cache[key] = parse_calls(result.prediction)
    parsed: ParsedCalls = context.cache[key]
    return dialogue, parsed


@detector(
    "no_tool_call",
    severity="high",
    suggestion="{share} of answers do not call a tool where one was expected: add training "
    "examples that answer such requests with a call, written in the chat template's tool format",
    explains_wrong=True,
)
def no_tool_call(result: ExampleResult, context: DetectorContext) -> str | None:
    """A call was expected, and the answer calls nothing."""
    found = _tool_row(result, context)
    if found is None:
        return None
    dialogue, parsed = found
    if dialogue.expected_calls and not parsed.attempted:
        return "expected " + ", ".join(call.name for call in dialogue.expected_calls)
    return None


@detector(
    "unknown_tool",
    severity="high",
    suggestion="{share} of answers call a function the request does not declare: train with "
    "the tool declarations in the prompt, and with calls of declared functions only",
    explains_wrong=True,
)
def unknown_tool(result: ExampleResult, context: DetectorContext) -> str | None:
    """The answer calls a function the row does not declare."""
    found = _tool_row(result, context)
    if found is None:
        return None
    dialogue, parsed = found
    unknown = [call.name for call in parsed.calls if dialogue.tool(call.name) is None]
    if unknown:
        return f"calls {', '.join(unknown)}; declared: {', '.join(t.name for t in dialogue.tools)}"
    return None


@detector(
    "invalid_arguments",
    severity="high",
    suggestion="{share} of calls have arguments that break the function's schema (or cannot "
    "be read): train on calls whose arguments follow the schemas exactly",
    explains_wrong=True,
)
def invalid_arguments(result: ExampleResult, context: DetectorContext) -> str | None:
    """A call that cannot be read, or whose arguments do not fit the declared schema."""
    found = _tool_row(result, context)
    if found is None:
        return None
    dialogue, parsed = found
    if parsed.problem is not None:
        return parsed.problem
    for call in parsed.calls:
        tool = dialogue.tool(call.name)
        if tool is None:
            continue
        problem = value_problem(tool.parameters, dict(call.arguments))
        if problem is not None:
            return f"{call.name}: {problem}"
    return None


@detector(
    "unexpected_tool_call",
    severity="high",
    suggestion="{share} of answers call a tool where a text answer was expected: add training "
    "examples that answer such requests directly, with the tools declared",
    explains_wrong=True,
)
def unexpected_tool_call(result: ExampleResult, context: DetectorContext) -> str | None:
    """The answer calls a function where the reference is a text answer."""
    found = _tool_row(result, context)
    if found is None:
        return None
    dialogue, parsed = found
    if dialogue.expected_calls == () and parsed.attempted:
        return "called " + (", ".join(call.name for call in parsed.calls) or "(a broken call)")
    return None


@detector(
    "thinking_unfinished",
    severity="high",
    suggestion="{share} of answers are all thinking (it never closed before the token "
    "limit): raise --max-new-tokens, or train on shorter reasoning",
    explains_wrong=True,
)
def thinking_unfinished(result: ExampleResult, context: DetectorContext) -> str | None:
    """The thinking never closed: the model ran out of tokens before it answered."""
    if not split_reply(result.prediction, context.thinking).unfinished:
        return None
    return f"no {context.thinking[1]} after {result.completion_tokens} tokens"

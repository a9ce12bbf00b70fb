"""The built-in error detectors that need nothing but the text: empty, truncated,
repetition, verbose, too_short, format, refusal and prompt_echo.

``spelling`` and ``language`` live in their own modules (they load a library), and
``incorrect`` is assigned by :mod:`assay.error_analysis.report` to examples that are
wrong by the main metric with no category that explains it. Empty, truncated,
repetition, format, refusal and prompt_echo explain a wrong answer; verbose and
too_short describe its length only (a long or short answer can be right or wrong).
"""

from __future__ import annotations

import re
from collections import Counter

from assay.data.values import kind_of
from assay.error_analysis.categories import Category, detector, register_category
from assay.error_analysis.context import DetectorContext, matches_format
from assay.error_analysis.prose import WORD
from assay.metrics.structured import compare_fields, parse_json_answer
from assay.runs.records import ExampleResult

TERMINAL = (".", "!", "?", '"', "'", ")", "]", "}", "`", "*")
REFUSAL = re.compile(
    r"\b(i\s*(?:am|'m)\s+(?:sorry|afraid|unable|not able)|i\s+(?:can\s*not|can't|cannot|won't|"
    r"will not|must decline)\s+(?:help|assist|answer|provide|comply|do that|fulfil)|"
    r"as an ai\b|as a language model|i\s+do(?:n't| not) have (?:access|the ability))",
    re.IGNORECASE,
)
TOKEN = re.compile(r"\w+(?:[.'’]\w+)*")
LONG_SPAN = 10
"""Tokens of a span that, said twice in one answer, is repetition (natural prose does
not repeat ten words in a row)."""
LOOP_WORDS, LOOP_TIMES, LOOP_GAP = 2, 3, 2
"""A loop: a phrase of at least LOOP_WORDS tokens LOOP_TIMES times in a row, at most
LOOP_GAP tokens apart ("error handling, error handling, and error handling")."""
LIST_ITEM = re.compile(r"\s*(?:\d+[.)]|[-*•])\s")
"""A line that is an item of a numbered or bulleted list."""
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def words(text: str | None) -> list[str]:
    """The words of a text, lower-cased."""
    return [w.lower() for w in WORD.findall(text or "")]


def normalized(text: str | None) -> str:
    """Lower-cased words joined by single spaces: what "the same text" means here."""
    return " ".join(words(text))


@detector(
    "empty",
    severity="high",
    suggestion="{share} of answers are empty: check the prompt template and stop strings, "
    "and make sure every training example has a non-empty answer",
    explains_wrong=True,
)
def empty(result: ExampleResult, context: DetectorContext) -> str | None:
    """Nothing, or only whitespace."""
    return "empty answer" if not result.prediction.strip() else None


@detector(
    "truncated",
    severity="high",
    suggestion="{share} of answers hit the token limit mid-answer: raise --max-new-tokens, "
    "or train on shorter answers that end with the end-of-sequence token",
    explains_wrong=True,
)
def truncated(result: ExampleResult, context: DetectorContext) -> str | None:
    """Stopped at the token limit in the middle of an answer: mid-sentence, inside a code
    block, or in a list that was going on."""
    text = result.prediction.rstrip()
    if not text:
        return None
    at_limit = result.finish_reason == "length" or (
        context.max_new_tokens is not None and result.completion_tokens >= context.max_new_tokens
    )
    if not at_limit:
        return None
    where = _cut_off(text)
    return f"stopped at {result.completion_tokens} tokens {where}" if where else None


def _cut_off(text: str) -> str | None:
    """Where an answer stopped at the limit was cut, or None when it ends where an answer can."""
    if text.count("```") % 2:
        return "inside a code block"
    if not text.endswith(TERMINAL):
        return "mid-sentence"
    if LIST_ITEM.match(text.splitlines()[-1]):
        return "in a list"
    return None


@detector(
    "repetition",
    severity="high",
    suggestion="repetition in {share} of answers: add stop tokens / end-of-sequence to the "
    "training examples, and check for duplicated text in the training answers",
    explains_wrong=True,
)
def repetition(result: ExampleResult, context: DetectorContext) -> str | None:
    """Says the same thing over: repeated 3-grams, a repeated sentence, a long span said
    twice, or a phrase looping."""
    tokens, reference = _tokens(result.prediction), _tokens(result.reference)
    ratio, reference_ratio = _repeat_ratio(tokens), _repeat_ratio(reference)
    if ratio >= context.options.repetition_ratio and ratio > reference_ratio + 0.1:
        return f"repeat ratio {ratio:.2f}"
    parts = [" ".join(_tokens(p)) for p in SENTENCE.split(result.prediction)]
    counts = Counter(p for p in parts if len(p.split()) >= 3)
    if counts:
        part, times = counts.most_common(1)[0]
        if times >= 2 and " ".join(reference).count(part) < times:
            return f"sentence repeated {times}x: {part[:40]}"
    span = _repeated_span(tokens, LONG_SPAN)
    if span is not None and " ".join(span) not in " ".join(reference):
        return f"{len(span)} words said twice: {' '.join(span)[:40]}"
    loop = _loop(tokens)
    if loop is not None:
        return f"loops: {' '.join(loop)[:40]}"
    return None


def _tokens(text: str | None) -> list[str]:
    """Lower-cased words, numbers and identifiers: what repetition is counted in (numbers
    count, so "1.0 2.0 3.0" is no repetition)."""
    return TOKEN.findall((text or "").lower())


def _repeat_ratio(tokens: list[str]) -> float:
    grams = [tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)]
    return 1 - len(set(grams)) / len(grams) if len(grams) >= 6 else 0.0


def _repeated_span(tokens: list[str], length: int) -> tuple[str, ...] | None:
    """A span of `length` tokens that occurs twice without overlapping, or None."""
    first: dict[tuple[str, ...], int] = {}
    for i in range(len(tokens) - length + 1):
        span = tuple(tokens[i : i + length])
        if span in first and i - first[span] >= length:
            return span
        first.setdefault(span, i)
    return None


def _loop(tokens: list[str]) -> tuple[str, ...] | None:
    """A phrase of LOOP_WORDS or more tokens said LOOP_TIMES times in a row (at most
    LOOP_GAP tokens between one and the next), or None."""
    for length in range(LOOP_WORDS, LOOP_WORDS * 3):
        seen: dict[tuple[str, ...], list[int]] = {}
        for i in range(len(tokens) - length + 1):
            span = tuple(tokens[i : i + length])
            starts = seen.setdefault(span, [])
            if starts and i - starts[-1] > length + LOOP_GAP:
                starts.clear()
            if not starts or i - starts[-1] >= length:
                starts.append(i)
            if len(starts) >= LOOP_TIMES:
                return span
    return None


@detector(
    "verbose",
    severity="medium",
    suggestion="{share} of answers are verbose: shorten the answers in the training set "
    "to the length you want back",
)
def verbose(result: ExampleResult, context: DetectorContext) -> str | None:
    """Much longer than the reference (``verbose_ratio`` times its words)."""
    if result.reference is None:
        return None
    answer, reference = len(words(result.prediction)), max(1, len(words(result.reference)))
    options = context.options
    if (
        answer > options.verbose_ratio * reference
        and answer - reference >= options.verbose_min_extra
    ):
        return f"{answer} words vs {reference} in the reference ({answer / reference:.1f}x)"
    return None


@detector(
    "too_short",
    severity="medium",
    suggestion="{share} of answers are much shorter than the references: add complete, "
    "worked answers to the training set",
)
def too_short(result: ExampleResult, context: DetectorContext) -> str | None:
    """Much shorter than a long reference."""
    if result.reference is None or not result.prediction.strip():
        return None
    answer, reference = len(words(result.prediction)), len(words(result.reference))
    options = context.options
    if reference >= options.too_short_min_words and answer < options.too_short_ratio * reference:
        return f"{answer} words vs {reference} in the reference"
    return None


@detector(
    "format",
    severity="high",
    suggestion="{share} of answers miss the expected form: make every training answer "
    "follow it exactly (e.g. only the letter, or valid JSON)",
    explains_wrong=True,
)
def format_(result: ExampleResult, context: DetectorContext) -> str | None:
    """Not in the expected form: a single letter, a number, JSON that parses (with the
    reference object's fields, each of its kind), or a regex."""
    kind = context.expected_format
    dialogue = context.dialogue(result)
    if kind == "none" or not result.prediction.strip():
        return None
    if dialogue is not None and dialogue.expected_calls is not None:
        return None  # a tool row: the tool categories judge its form
    if kind == "json":
        return _json_form(result)
    if matches_format(kind, result.prediction, context.options.format_regex):
        return None
    return f"expected {kind}" + (f" {context.options.format_regex!r}" if kind == "regex" else "")


def _json_form(result: ExampleResult) -> str | None:
    """What is wrong with a JSON answer's form: not JSON (or not the reference's kind of
    value), or, against an object reference, the fields it lacks and those whose value is
    of another kind (a number written as text, a list for an object). A value of the
    right kind that is not the reference's is a wrong answer, not a wrong form."""
    value, problem = parse_json_answer(result.prediction)
    if problem is not None or not isinstance(value, (dict, list)):
        return f"expected json ({problem or 'a bare value, not an object or a list'})"
    reference, _ = parse_json_answer(result.reference or "")
    if not isinstance(reference, dict):
        return None
    if not isinstance(value, dict):
        return "expected a JSON object, got a list"
    comparison = compare_fields(reference, value)
    wrong_kind = [(n, e, g) for n, e, g in comparison.wrong if kind_of(e) != kind_of(g)]
    if not comparison.missing and not wrong_kind:
        return None
    parts = []
    if comparison.missing:
        parts.append("missing fields " + ", ".join(comparison.missing))
    if wrong_kind:
        parts.append(
            "wrong fields "
            + ", ".join(f"{n} ({kind_of(g)}, expected {kind_of(e)})" for n, e, g in wrong_kind)
        )
    return "; ".join(parts)


@detector(
    "refusal",
    severity="high",
    suggestion="{share} of answers are refusals: add training examples that answer this "
    "kind of question directly",
    explains_wrong=True,
)
def refusal(result: ExampleResult, context: DetectorContext) -> str | None:
    """Declines to answer ("I'm sorry, but I can't ...", "As an AI ...")."""
    found = REFUSAL.search(result.prediction)
    if found and not REFUSAL.search(result.reference or ""):
        return found.group(0)
    return None


@detector(
    "prompt_echo",
    severity="medium",
    suggestion="{share} of answers repeat the question or the template: train on answers "
    "only (mask the prompt tokens) and use the same template at training and test time",
    explains_wrong=True,
)
def prompt_echo(result: ExampleResult, context: DetectorContext) -> str | None:
    """Repeats the question or the prompt template."""
    answer = normalized(result.prediction)
    question = normalized(result.input)
    reference = normalized(result.reference)
    if len(question.split()) >= 4 and question in answer and question not in reference:
        return "repeats the question"
    for line in _template_lines(result):
        if line in result.prediction and line not in (result.reference or ""):
            return f"repeats the template: {line[:40]}"
    return None


def _template_lines(result: ExampleResult) -> list[str]:
    """Lines of the prompt that are template text (not the input), long enough to matter."""
    template = result.prompt.replace(result.input, "\n")
    return [
        line.strip()
        for line in template.splitlines()
        if len(line.strip()) >= 8 and len(WORD.findall(line)) >= 2
    ]


register_category(
    Category(
        "incorrect",
        "medium",
        "Wrong by the main metric, with no category that explains why.",
        "{share} of answers are plainly wrong: add training examples on these topics, "
        "or check their references",
        None,
    )
)

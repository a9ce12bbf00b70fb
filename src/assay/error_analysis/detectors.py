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

from assay.error_analysis.categories import Category, detector, register_category
from assay.error_analysis.context import DetectorContext, matches_format
from assay.error_analysis.prose import WORD
from assay.runs.records import ExampleResult

TERMINAL = (".", "!", "?", '"', "'", ")", "]", "}", "`", "*")
REFUSAL = re.compile(
    r"\b(i\s*(?:am|'m)\s+(?:sorry|afraid|unable|not able)|i\s+(?:can\s*not|can't|cannot|won't|"
    r"will not|must decline)\s+(?:help|assist|answer|provide|comply|do that|fulfil)|"
    r"as an ai\b|as a language model|i\s+do(?:n't| not) have (?:access|the ability))",
    re.IGNORECASE,
)
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
    """Stopped at the token limit in the middle of an answer."""
    text = result.prediction.rstrip()
    if not text:
        return None
    at_limit = result.finish_reason == "length" or (
        context.max_new_tokens is not None and result.completion_tokens >= context.max_new_tokens
    )
    if at_limit and not text.endswith(TERMINAL):
        return f"stopped at {result.completion_tokens} tokens"
    return None


@detector(
    "repetition",
    severity="high",
    suggestion="repetition in {share} of answers: add stop tokens / end-of-sequence to the "
    "training examples, and check for duplicated text in the training answers",
    explains_wrong=True,
)
def repetition(result: ExampleResult, context: DetectorContext) -> str | None:
    """Repeated 3-grams, lines or sentences, with the share of repeated 3-grams."""
    tokens = words(result.prediction)
    grams = [tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)]
    ratio = 1 - len(set(grams)) / len(grams) if len(grams) >= 6 else 0.0
    reference_tokens = words(result.reference)
    reference_grams = [tuple(reference_tokens[i : i + 3]) for i in range(len(reference_tokens) - 2)]
    reference_ratio = (
        1 - len(set(reference_grams)) / len(reference_grams) if reference_grams else 0.0
    )
    if ratio >= context.options.repetition_ratio and ratio > reference_ratio + 0.1:
        return f"repeat ratio {ratio:.2f}"
    parts = [normalized(p) for p in SENTENCE.split(result.prediction)]
    counts = Counter(p for p in parts if len(p.split()) >= 3)
    if counts:
        part, times = counts.most_common(1)[0]
        if times >= 2 and normalized(result.reference).count(part) < times:
            return f"sentence repeated {times}x: {part[:40]}"
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
    """Not in the expected form: a single letter, a number, JSON that parses, or a regex."""
    kind = context.expected_format
    if kind == "none" or not result.prediction.strip():
        return None
    if matches_format(kind, result.prediction, context.options.format_regex):
        return None
    return f"expected {kind}" + (f" {context.options.format_regex!r}" if kind == "regex" else "")


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

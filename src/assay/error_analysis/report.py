"""Error analysis of a run: every detector on every answer, counted, with suggestions.

Steps, in order:

1. Leave out failed generations (:attr:`ExampleResult.failed`: no output). They are
   not answers: no detector sees them, and the report counts them apart
   (``n_failed``); shares are shares of the examples analysed.
2. Run the detectors on every other example.
3. Mark ``incorrect`` every example that is wrong by the main metric (the one rule
   of :mod:`assay.runs.verdicts`: the metric asked for, else the run's first, below
   its threshold) and that no category found on it *explains*. A category explains
   a wrong answer when it is reason enough for the score whatever the answer meant:
   empty, truncated, repetition, refusal, format, language and prompt_echo do;
   verbose, too_short and spelling describe style only, so a long wrong answer is
   both ``verbose`` and ``incorrect``. A category declares it when it is registered
   (``explains_wrong``). Detectors see the answer without a reasoning model's
   thinking; an answer that is all thinking is ``thinking_unfinished`` only.
4. Let human labels replace the detectors' verdict where there are any.
5. Count and sort: most severe first, then most frequent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from assay.error_analysis.categories import (
    SEVERITY_RANK,
    Category,
    get_category,
    list_categories,
)
from assay.error_analysis.context import DetectorContext, ErrorOptions
from assay.error_analysis.records import CategoryCount, ErrorReport, ExampleError
from assay.exceptions import NotFoundError
from assay.metrics.thinking import split_reply
from assay.runs.records import ExampleResult, Run
from assay.runs.verdicts import MainMetric, main_metric

EXAMPLE_CHARS = 80
INCORRECT = "incorrect"
UNFINISHED = "thinking_unfinished"


def analyze_errors(
    run: Run,
    options: ErrorOptions | None = None,
    *,
    categories: Sequence[str] | None = None,
    labels: Mapping[str, Sequence[str]] | None = None,
) -> ErrorReport:
    """Categorise every answer of a run: where the model fails, and how badly.

    Works on any run, including one of the base model before fine-tuning.

    Args:
        run: The run to analyse.
        options: The detectors' thresholds; defaults when None.
        categories: Run only these detectors (default: every registered one).
        labels: Human labels (example id -> category names) from review. For an
            example with labels, the labels replace whatever the detectors found;
            unknown label names are kept with severity "medium".

    Raises:
        NotFoundError: A category name is unknown.
        OptionError: The main metric option names a metric the run did not score.
    """
    options = options or ErrorOptions()
    context = DetectorContext(run, options)
    chosen = [get_category(name) for name in categories] if categories else list_categories()
    main = main_metric(run, options.metric, options.threshold)
    answers = [r for r in run.results if not r.failed]
    errors: list[ExampleError] = []
    for result in answers:
        found = _detect(result, context, chosen, main)
        if labels is not None and result.example_id in labels:
            found = [_labelled(result.example_id, name) for name in labels[result.example_id]]
        errors.extend(found)
    return ErrorReport(
        run_id=run.id,
        n_examples=len(run.results),
        metric=main.name,
        threshold=main.threshold,
        errors=errors,
        categories=_count(answers, errors),
        wrong=main.describe(),
        n_failed=len(run.results) - len(answers),
        n_wrong=sum(bool(main.wrong(r)) for r in answers),
    )


def _detect(
    result: ExampleResult,
    context: DetectorContext,
    chosen: Sequence[Category],
    main: MainMetric,
) -> list[ExampleError]:
    """The categories found on one answer, ``incorrect`` last when it applies.

    Detectors judge the answer without a reasoning model's thinking; an answer that is
    all thinking (it never closed) is only ``thinking_unfinished``: there is nothing else
    to judge.
    """
    found: list[ExampleError] = []
    explained = False
    reply = split_reply(result.prediction, context.thinking)
    if reply.unfinished:
        chosen = [c for c in chosen if c.name == UNFINISHED]
    elif reply.thinking is not None:
        result = replace(result, prediction=reply.answer or "")
    for category in chosen:
        if category.detect is None:
            continue
        detail = category.detect(result, context)
        if detail is not None:
            found.append(ExampleError(result.example_id, category.name, category.severity, detail))
            explained = explained or category.explains_wrong
    wants_incorrect = any(c.name == INCORRECT for c in chosen)
    if wants_incorrect and not explained and main.wrong(result):
        rule = main.describe().removeprefix(f"{main.name} ")
        detail = f"{main.name} {main.value(result):.3g} ({rule})"
        severity = get_category(INCORRECT).severity
        found.append(ExampleError(result.example_id, INCORRECT, severity, detail))
    return found


def _labelled(example_id: str, name: str) -> ExampleError:
    try:
        severity: str = get_category(name).severity
    except NotFoundError:
        severity = "medium"
    return ExampleError(example_id, name, severity, "human label", "label")


def _count(answers: Sequence[ExampleResult], errors: Sequence[ExampleError]) -> list[CategoryCount]:
    n = max(1, len(answers))
    predictions = {r.example_id: r.prediction for r in answers}
    by_category: dict[str, list[ExampleError]] = {}
    for error in errors:
        by_category.setdefault(error.category, []).append(error)
    rows = []
    for name, found in by_category.items():
        share = len(found) / n
        try:
            template = get_category(name).suggestion
        except NotFoundError:
            template = ""
        first = found[0]
        rows.append(
            CategoryCount(
                category=name,
                severity=first.severity,
                count=len(found),
                share=share,
                example_id=first.example_id,
                example=_shorten(predictions.get(first.example_id, "")),
                suggestion=template.format(share=f"{share:.0%}") if template else "",
            )
        )
    return sorted(rows, key=lambda r: (SEVERITY_RANK.get(r.severity, 1), -r.count, r.category))


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"

"""Error analysis of a run: every detector on every example, counted, with suggestions.

Steps: run the detectors; mark examples that score below the threshold on the main
metric with no other category ``incorrect``; let human labels replace the
detectors' verdict where there are any; count and sort.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from assay.error_analysis.categories import SEVERITY_RANK, get_category, list_categories
from assay.error_analysis.context import DetectorContext, ErrorOptions
from assay.error_analysis.records import CategoryCount, ErrorReport, ExampleError
from assay.exceptions import AssayError
from assay.runs.records import Run
from assay.runs.verdicts import main_metric

EXAMPLE_CHARS = 80


def analyze_errors(
    run: Run,
    options: ErrorOptions | None = None,
    *,
    categories: Sequence[str] | None = None,
    labels: Mapping[str, Sequence[str]] | None = None,
) -> ErrorReport:
    """Categorise every example of a run: where the model fails, and how badly.

    Works on any run, including one of the base model before fine-tuning.

    Args:
        run: The run to analyse.
        options: The detectors' thresholds; defaults when None.
        categories: Run only these detectors (default: every registered one).
        labels: Human labels (example id -> category names) from review. For an
            example with labels, the labels replace whatever the detectors found;
            unknown label names are kept with severity "medium".

    Raises:
        AssayError: A category name is unknown, or the main metric option names a
            metric the run did not score.
    """
    options = options or ErrorOptions()
    context = DetectorContext(run, options)
    chosen = [get_category(name) for name in categories] if categories else list_categories()
    main = main_metric(run, options.metric, options.threshold)
    errors: list[ExampleError] = []
    for result in run.results:
        found = [
            ExampleError(result.example_id, c.name, c.severity, detail)
            for c in chosen
            if c.detect is not None and (detail := c.detect(result, context)) is not None
        ]
        wants_incorrect = any(c.name == "incorrect" for c in chosen)
        if not found and wants_incorrect and main.wrong(result):
            detail = f"{main.name} {main.value(result):.3g}"
            found.append(ExampleError(result.example_id, "incorrect", "medium", detail))
        if labels is not None and result.example_id in labels:
            found = [_labelled(result.example_id, name) for name in labels[result.example_id]]
        errors.extend(found)
    return ErrorReport(
        run_id=run.id,
        n_examples=len(run.results),
        metric=main.name,
        threshold=main.threshold,
        errors=errors,
        categories=_count(run, errors),
    )


def _labelled(example_id: str, name: str) -> ExampleError:
    try:
        severity: str = get_category(name).severity
    except AssayError:
        severity = "medium"
    return ExampleError(example_id, name, severity, "human label", "label")


def _count(run: Run, errors: Sequence[ExampleError]) -> list[CategoryCount]:
    n = max(1, len(run.results))
    predictions = {r.example_id: r.prediction for r in run.results}
    by_category: dict[str, list[ExampleError]] = {}
    for error in errors:
        by_category.setdefault(error.category, []).append(error)
    rows = []
    for name, found in by_category.items():
        share = len(found) / n
        try:
            template = get_category(name).suggestion
        except AssayError:
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

"""Error analysis of a run: every detector on every example, counted, with suggestions.

Steps: run the detectors; mark examples that score below the threshold on the main
metric with no other category ``incorrect``; let human labels replace the
detectors' verdict where there are any; count and sort.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from assay.analysis.categories import SEVERITY_RANK, get_category, list_categories
from assay.analysis.context import DetectorContext, ErrorOptions
from assay.analysis.records import CategoryCount, ErrorReport, ExampleError
from assay.errors import AssayError, MetricError
from assay.metrics import metric_info
from assay.run import ExampleResult, Run

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
    metric, threshold = _main_metric(run, options)
    errors: list[ExampleError] = []
    for result in run.results:
        found = [
            ExampleError(result.example_id, c.name, c.severity, detail)
            for c in chosen
            if c.detect is not None and (detail := c.detect(result, context)) is not None
        ]
        wants_incorrect = any(c.name == "incorrect" for c in chosen)
        if not found and wants_incorrect and metric is not None and threshold is not None:
            score = _score(result, metric)
            if score is not None and score < threshold:
                found.append(
                    ExampleError(result.example_id, "incorrect", "medium", f"{metric} {score:.3g}")
                )
        if labels is not None and result.example_id in labels:
            found = [_labelled(result.example_id, name) for name in labels[result.example_id]]
        errors.extend(found)
    return ErrorReport(
        run_id=run.id,
        n_examples=len(run.results),
        metric=metric,
        threshold=threshold,
        errors=errors,
        categories=_count(run, errors),
    )


def _main_metric(run: Run, options: ErrorOptions) -> tuple[str | None, float | None]:
    scored = {name for r in run.results for name in r.scores}
    if options.metric is not None:
        if options.metric not in scored:
            raise AssayError(
                f"--metric {options.metric}: run {run.id} has no scores for it; "
                f"it has: {', '.join(sorted(scored)) or 'none'}"
            )
        metric: str | None = options.metric
    else:
        metric = next((m for m in run.info.metrics if m in scored), None)
    if metric is None:
        return None, None
    if options.threshold is not None:
        return metric, options.threshold
    try:
        pass_fail = metric_info(metric).pass_fail
    except MetricError:  # a plugin metric not loaded now: judge by its values
        pass_fail = all(_score(r, metric) in (0.0, 1.0, None) for r in run.results)
    return metric, 1.0 if pass_fail else 0.5


def _score(result: ExampleResult, metric: str) -> float | None:
    score = result.scores.get(metric)
    if score is None or math.isnan(score.value):
        return None
    return score.value


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

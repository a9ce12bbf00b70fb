"""The card as one self-contained HTML page: the report's styles, script, policy and
example cards, with the card's own sections (templates/card.html in assay.report)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from assay.card.records import Card, Curve, TaskSection
from assay.exceptions import AssayError
from assay.report import plots
from assay.report.build import page_assets
from assay.report.examples import OUTCOME_LABELS, example_views
from assay.runs.verdicts import scored_metrics


def card_html(card: Card) -> str:
    """The card as one HTML document."""
    env, script, style, csp = page_assets()
    return env.get_template("card.html").render(
        card=card,
        parts=[_part_context(part) for part in card.tuned],
        outcome_labels=OUTCOME_LABELS,
        script=script,
        style=style,
        csp=csp,
    )


def write_card(card: Card, path: str | Path) -> Path:
    """Write the card to a file.

    Raises:
        AssayError: The file cannot be written.
    """
    path = Path(path)
    try:
        path.write_text(card_html(card), encoding="utf-8")
    except OSError as exc:
        raise AssayError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def _part_context(part: Any) -> dict[str, Any]:
    return {
        "part": part,
        "tasks": [_task_context(section) for section in part.tasks],
        "bench_chart": _bench_chart(part.bench) if part.bench else None,
        "curve_chart": curve_chart(part.curve) if part.curve else None,
    }


def _task_context(section: TaskSection) -> dict[str, Any]:
    comparison = section.comparison
    runs = [section.base_run, section.tuned_run]
    metrics = [m for m in scored_metrics(section.base_run) if m in section.tuned_run.info.summary]
    outcomes = {e.example_id: e.outcome for e in comparison.examples}
    before = {k: v[0] for k, v in section.categories.items()}
    after = {k: v[1] for k, v in section.categories.items()}
    views, total = example_views(runs, metrics, outcomes=outcomes, categories=[before, after])
    counts = {o: n for o, n in comparison.counts().items() if n}
    order = ("fixed", "broken", "both_wrong", "both_right")
    panels = [
        plots.Panel(
            m.metric,
            [
                plots.Bar(section.base.name, *_interval(section.base_run, m.metric)),
                plots.Bar(section.tuned.name, *_interval(section.tuned_run, m.metric)),
            ],
        )
        for m in comparison.metrics
    ]
    shift = section.errors
    return {
        "section": section,
        "views": views,
        "total": total,
        "outcome_counts": {o: counts[o] for o in order if o in counts},
        "categories": [s.category for s in shift],
        "severities": {s.category: s.severity for s in shift},
        "metrics_chart": plots.metric_panels(panels),
        "errors_chart": plots.category_shift_plot(
            [s.category for s in shift],
            [s.before for s in shift],
            [s.after for s in shift],
            (section.base.name, section.tuned.name),
        ),
    }


def _interval(run: Any, metric: str) -> tuple[float, float, float]:
    summary = run.info.summary.get(metric)
    if summary is None:
        return (math.nan, math.nan, math.nan)
    return (summary.mean, summary.ci_low, summary.ci_high)


def _bench_chart(bench: Any) -> str | None:
    panels = []
    for task in bench.tasks:
        main = task.main
        if main is None:
            continue
        base = bench.base.summary.get(f"{task.task}/{main.metric}")
        tuned = bench.tuned.summary.get(f"{task.task}/{main.metric}")
        if base is None or tuned is None:
            continue
        panels.append(
            plots.Panel(
                f"{task.task} · {main.metric}",
                [
                    plots.Bar(bench.base.name, base.mean, base.ci_low, base.ci_high),
                    plots.Bar(bench.tuned.name, tuned.mean, tuned.ci_low, tuned.ci_high),
                ],
            )
        )
    return plots.metric_panels(panels)


def curve_chart(curve: Curve) -> str | None:
    """Each metric against the step, intervals as bands, the best checkpoint starred."""
    series = []
    for metric in curve.metrics:
        points = [p for p in curve.points if metric in p.summary]
        series.append(
            plots.CurveSeries(
                metric=metric,
                steps=[p.step for p in points],
                means=[p.summary[metric].mean for p in points],
                lows=[p.summary[metric].ci_low for p in points],
                highs=[p.summary[metric].ci_high for p in points],
                best_step=curve.best.get(metric),
            )
        )
    return plots.curve_panels(series)

"""Collect what a report shows (runs, metrics, paired comparisons, slices, categories,
ratings, examples) and render it into one HTML file with no outside references.

Eval and bench runs are shown apart (their metrics mean different things); each
later run of a kind is compared with the first, paired on the same examples
(assay.compare: intervals and tests), where they share examples. Charts are small
multiples, one panel and one axis per metric; examples are cards with filters.

The file carries its own Content-Security-Policy (a meta tag): the one inline script and
the one inline style run by their SHA-256 hashes, images only from data: URIs, nothing
else loads; model text that got past escaping could do nothing.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment

from assay.exceptions import AssayError, DataError, OptionError
from assay.report import plots
from assay.report.examples import MAX_CARDS, OUTCOME_LABELS, ExampleView, example_views
from assay.report.formatting import environment
from assay.review import labels as review_labels
from assay.runs.records import Run, RunInfo

if TYPE_CHECKING:
    from assay.compare import Comparison
    from assay.slices import SliceComparison, SliceSummary
    from assay.store import Store

MAX_ROWS = MAX_CARDS
"""Most examples shown as cards (the file stays small enough to open)."""


@dataclass
class Paired:
    """A later run against the first run of its kind."""

    comparison: Comparison
    base: RunInfo
    other: RunInfo
    slices: list[SliceComparison] = field(default_factory=list)


@dataclass
class ReportData:
    """Everything the report shows, ready to render.

    Attributes:
        runs: Every run, in the order given.
        metrics: The summaries' names (a bench run's are "task/metric").
        scores: The per-example scores' names (a bench run's are "acc", "acc_norm", "mc2").
        evals / benches: The runs by kind.
        paired: Each later run of a kind against the first, where they share examples.
        not_paired: Why a later run could not be paired.
        slices: Run name -> its metrics per value of the ``by`` field.
        categories: Run name -> examples per error category (stored by `assay errors`).
        label_categories: Run name -> examples per category human reviewers gave.
        verdicts: Run name -> human labels per verdict.
        ratings: Source -> leaderboard rows.
        examples: Cards for the first eval run's examples (or the first run's).
        n_examples: Examples of that run.
    """

    runs: list[Run]
    metrics: list[str]
    scores: list[str] = field(default_factory=list)
    evals: list[Run] = field(default_factory=list)
    benches: list[Run] = field(default_factory=list)
    paired: list[Paired] = field(default_factory=list)
    not_paired: list[str] = field(default_factory=list)
    by: str | None = None
    slices: dict[str, list[SliceSummary]] = field(default_factory=dict)
    categories: dict[str, dict[str, int]] = field(default_factory=dict)
    label_categories: dict[str, dict[str, int]] = field(default_factory=dict)
    verdicts: dict[str, dict[str, int]] = field(default_factory=dict)
    ratings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    examples: list[ExampleView] = field(default_factory=list)
    n_examples: int = 0
    outcome_counts: dict[str, int] = field(default_factory=dict)
    example_categories: list[str] = field(default_factory=list)


def collect(store: Store, run_ids: Sequence[str], *, by: str | None = None) -> ReportData:
    """Read the runs and everything stored about them.

    Raises:
        AssayError: No run ids, or a run is not in the store.
        OptionError: ``by`` names a field no example of an eval run has.
    """
    from assay.error_analysis import load_errors

    if not run_ids:
        raise AssayError("give one or more run ids to report on")
    runs = [store.load_run(run_id) for run_id in dict.fromkeys(run_ids)]
    runs = list({run.id: run for run in runs}.values())  # a name and an id of one run
    metrics = list(dict.fromkeys(m for run in runs for m in run.info.summary))
    data = ReportData(runs=runs, metrics=metrics, scores=_score_names(runs), by=by)
    data.evals = [r for r in runs if r.info.kind == "eval"]
    data.benches = [r for r in runs if r.info.kind == "bench"]
    errors = {run.id: load_errors(store, run.id) for run in runs}
    for run in runs:
        found: dict[str, int] = {}
        for error in errors[run.id]:
            found[error.category] = found.get(error.category, 0) + 1
        data.categories[run.name] = dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))
        data.label_categories[run.name] = review_labels.category_counts(store, run.id)
        data.verdicts[run.name] = review_labels.label_counts(store, run.id)
    for group in (data.evals, data.benches):
        _pair(group, data)
    if by is not None:
        from assay.slices import slice_summaries

        for run in data.evals:
            data.slices[run.name] = slice_summaries(run, by)
    data.ratings = _ratings(store, [run.info for run in runs])
    _examples(data, errors)
    return data


def _pair(runs: Sequence[Run], data: ReportData) -> None:
    """Each later run against the first of its kind, where both are comparable."""
    from assay.compare import compare_runs

    for other in runs[1:]:
        try:
            comparison = compare_runs(runs[0], other, allow_incomplete=True)
        except (DataError, OptionError) as error:
            data.not_paired.append(f"{other.name}: {error}")
            continue
        paired = Paired(comparison, runs[0].info, other.info)
        if data.by is not None and other.info.kind == "eval":
            from assay.slices import compare_slices

            paired.slices = compare_slices(runs[0], other, data.by, allow_incomplete=True)
        data.paired.append(paired)


def _examples(data: ReportData, errors: dict[str, Any]) -> None:
    """Cards for the eval runs' examples (the bench runs' when there is no eval run)."""
    runs = data.evals or data.benches
    if not runs:
        return
    categories = [
        {
            example_id: [e.category for e in errors[run.id] if e.example_id == example_id]
            for example_id in {e.example_id for e in errors[run.id]}
        }
        for run in runs
    ]
    last = next((p for p in reversed(data.paired) if p.base.id == runs[0].id), None)
    outcomes = {e.example_id: e.outcome for e in last.comparison.examples} if last else None
    names = [m for m in data.scores if any(m in r.scores for run in runs for r in run.results)]
    data.examples, data.n_examples = example_views(
        runs, names, outcomes=outcomes, categories=categories, limit=MAX_ROWS
    )
    if last is not None:
        counts = last.comparison.counts()
        order = ("fixed", "broken", "both_wrong", "both_right")
        data.outcome_counts = {o: counts[o] for o in order if counts.get(o)}
    data.example_categories = sorted(
        {c for per_run in categories for v in per_run.values() for c in v}
    )


def build_report(store: Store, run_ids: Sequence[str], *, by: str | None = None) -> str:
    """The report as one HTML document."""
    data = collect(store, run_ids, by=by)
    env, script, style, csp = page_assets()
    categories = {name: c for name, c in data.categories.items() if c}
    label_categories = {name: c for name, c in data.label_categories.items() if c}
    return env.get_template("report.html").render(
        data=data,
        infos=[run.info for run in data.runs],
        metrics_plot=_metric_chart(data.evals),
        bench_plot=_metric_chart(data.benches),
        categories=categories,
        label_categories=label_categories,
        categories_plot=plots.categories_plot(categories) if categories else None,
        verdict_names=review_labels.VERDICTS,
        outcome_labels=OUTCOME_LABELS,
        script=script,
        style=style,
        csp=csp,
    )


def page_assets() -> tuple[Environment, str, str, str]:
    """The HTML views' template environment, their one script and one style, and the
    Content-Security-Policy that allows exactly those."""
    env = _env()
    assets = env.get_template("_assets.html").module
    script, style = str(assets.script()), str(assets.style())  # type: ignore[attr-defined]
    return env, script, style, content_security_policy(script, style)


def _metric_chart(runs: Sequence[Run]) -> str | None:
    """One panel per summary metric, a bar per run."""
    metrics = list(dict.fromkeys(m for run in runs for m in run.info.summary))
    panels = [
        plots.Panel(
            metric,
            [
                plots.Bar(run.name, s.mean, s.ci_low, s.ci_high)
                for run in runs
                if (s := run.info.summary.get(metric)) is not None
            ],
        )
        for metric in metrics
    ]
    return plots.metric_panels(panels)


def content_security_policy(script: str, style: str) -> str:
    """The report's policy: its one script and one style by hash, data: images, nothing else."""
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src '{_sha256(script)}'",
            f"style-src '{_sha256(style)}'",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode()


def write_report(
    store: Store, run_ids: Sequence[str], path: str | Path, *, by: str | None = None
) -> Path:
    """Write the report to a file.

    Raises:
        AssayError: A run is missing, or the file cannot be written.
    """
    path = Path(path)
    html = build_report(store, run_ids, by=by)
    try:
        path.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise AssayError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def _score_names(runs: Sequence[Run]) -> list[str]:
    """Per-example score names: each run's metrics in order (a bench run lists its
    per-question ones, "acc", "acc_norm", "mc2"), then any other score found; a metric
    no example was scored on (every generation failed) keeps its column."""
    named = [m for run in runs for m in run.info.metrics]
    found = [m for run in runs for r in run.results for m in r.scores]
    return list(dict.fromkeys([*named, *found]))


def _ratings(store: Store, infos: Sequence[RunInfo]) -> dict[str, list[dict[str, Any]]]:
    """Ratings from the battles between these runs' models, human and judge apart."""
    from assay.arena import compute_ratings, load_battles
    from assay.review.votes import model_name

    names = {model_name(info) for info in infos}
    ratings: dict[str, list[dict[str, Any]]] = {}
    for source in ("human", "judge"):
        battles = [
            b for b in load_battles(store, source) if b.model_a in names or b.model_b in names
        ]
        if battles:
            frame = compute_ratings(battles, rounds=200).to_pandas()
            ratings[source] = [
                {str(k): v for k, v in row.items()} for row in frame.to_dict("records")
            ]
    return ratings


def _env() -> Environment:
    return environment("assay.report")

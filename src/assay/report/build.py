"""Collect what a report shows (runs, metrics, comparison, categories, ratings, examples)
and render it into one HTML file with no outside references.

The file carries its own Content-Security-Policy (a meta tag): the one inline script and
the one inline style run by their SHA-256 hashes, images only from data: URIs, nothing
else loads; model text that got past escaping could do nothing.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment

from assay.exceptions import AssayError
from assay.report import plots
from assay.report.formatting import environment
from assay.review import labels as review_labels
from assay.runs.records import Run, RunInfo

if TYPE_CHECKING:
    from assay.store import Store

MAX_ROWS = 5000
"""Most examples listed in the per-example table (the file stays small enough to open)."""


@dataclass
class Comparison:
    """One metric of a run against the first (baseline) run, on their shared examples."""

    metric: str
    run: str
    delta: float
    better: int
    worse: int
    same: int


@dataclass
class ReportData:
    """Everything the report shows, ready to render.

    Attributes:
        metrics: The summaries' names (a bench run's are "task/metric").
        scores: The per-example scores' names (a bench run's are "acc", "acc_norm", "mc2").
    """

    runs: list[Run]
    metrics: list[str]
    scores: list[str] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    categories: dict[str, dict[str, int]] = field(default_factory=dict)
    verdicts: dict[str, dict[str, int]] = field(default_factory=dict)
    ratings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    n_rows: int = 0


def collect(store: Store, run_ids: Sequence[str]) -> ReportData:
    """Read the runs and everything stored about them.

    Raises:
        AssayError: No run ids, or a run is not in the store.
    """
    if not run_ids:
        raise AssayError("give one or more run ids to report on")
    runs = [store.load_run(run_id) for run_id in dict.fromkeys(run_ids)]
    metrics = list(dict.fromkeys(m for run in runs for m in run.info.summary))
    data = ReportData(runs=runs, metrics=metrics, scores=_score_names(runs))
    data.comparisons = _compare(runs, data.scores)
    for run in runs:
        data.categories[run.name] = review_labels.category_counts(store, run.id)
        data.verdicts[run.name] = review_labels.label_counts(store, run.id)
    data.ratings = _ratings(store, [run.info for run in runs])
    data.rows, data.n_rows = _rows(runs, data.scores)
    return data


def build_report(store: Store, run_ids: Sequence[str]) -> str:
    """The report as one HTML document."""
    data = collect(store, run_ids)
    infos = [run.info for run in data.runs]
    categories = {name: c for name, c in data.categories.items() if c}
    env = _env()
    assets = env.get_template("_assets.html").module
    script, style = str(assets.script()), str(assets.style())  # type: ignore[attr-defined]
    return env.get_template("report.html").render(
        data=data,
        infos=infos,
        metrics_plot=plots.metrics_plot(infos, data.metrics),
        categories=categories,
        categories_plot=plots.categories_plot(categories) if categories else None,
        verdict_names=review_labels.VERDICTS,
        max_rows=MAX_ROWS,
        script=script,
        style=style,
        csp=content_security_policy(script, style),
    )


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


def write_report(store: Store, run_ids: Sequence[str], path: str | Path) -> Path:
    """Write the report to a file.

    Raises:
        AssayError: A run is missing, or the file cannot be written.
    """
    path = Path(path)
    html = build_report(store, run_ids)
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


def _compare(runs: Sequence[Run], metrics: Sequence[str]) -> list[Comparison]:
    """Each later run against the first on the examples both scored (failed ones are in
    neither)."""
    if len(runs) < 2:
        return []
    base = {r.example_id: r.scores for r in runs[0].results}
    found: list[Comparison] = []
    for run in runs[1:]:
        for metric in metrics:
            better = worse = same = 0
            deltas: list[float] = []
            for result in run.results:
                mine, theirs = (
                    result.scores.get(metric),
                    base.get(result.example_id, {}).get(metric),
                )
                if (
                    mine is None
                    or theirs is None
                    or math.isnan(mine.value)
                    or math.isnan(theirs.value)
                ):
                    continue
                deltas.append(mine.value - theirs.value)
                better += mine.value > theirs.value
                worse += mine.value < theirs.value
                same += mine.value == theirs.value
            if deltas:
                found.append(
                    Comparison(metric, run.name, sum(deltas) / len(deltas), better, worse, same)
                )
    return found


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


def _rows(runs: Sequence[Run], metrics: Sequence[str]) -> tuple[list[dict[str, Any]], int]:
    """The first run's examples with every run's prediction and scores (up to MAX_ROWS)."""
    first = runs[0]
    others = [{r.example_id: r for r in run.results} for run in runs[1:]]
    rows = []
    for result in first.results[:MAX_ROWS]:
        answers = [result, *(other.get(result.example_id) for other in others)]
        rows.append(
            {
                "id": result.example_id,
                "input": result.input,
                "reference": result.reference or "",
                "answers": [
                    {
                        "prediction": a.prediction if a else "",
                        "failed": bool(a and a.failed),
                        "error": (a.error or "no output") if a and a.failed else "",
                        "scores": [
                            a.scores[m].value if a and m in a.scores else None for m in metrics
                        ],
                    }
                    for a in answers
                ],
            }
        )
    return rows, len(first.results)


def _env() -> Environment:
    return environment("assay.report")

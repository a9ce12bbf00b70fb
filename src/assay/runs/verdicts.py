"""Which examples of a run went wrong: the one rule every view uses (`assay show
--failures`, error analysis's ``incorrect``, compare's fixed and broken, the review
app's filter, the report).

An example *failed* when it has no usable output (its generation failed): it is
never scored, and every view shows it apart. An example is *wrong* when its score
on the main metric is below the threshold:

- the main metric is the one asked for, else the run's first scored metric with a
  better direction (a length has none: it never decides, and asking for it is refused);
- the threshold is the one asked for, else 1 for a pass/fail metric (registered as
  such, or whose every value is 0 or 1: exact match, accuracy), else the metric's
  registered threshold (0.5 for F1 and similarity, 6 for a judge's 1-10 grade).

An example the main metric did not score (an unparsable judge reply) is neither
right nor wrong.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from assay.exceptions import NotFoundError, OptionError
from assay.metrics import metric_info
from assay.runs.records import ExampleResult, Run

DEFAULT_THRESHOLD = 0.5
"""The threshold of a metric that registered none and is not pass/fail."""


@dataclass(frozen=True)
class MainMetric:
    """What decides right and wrong per example.

    Attributes:
        name: The metric, or None when the run has no scores.
        threshold: Scores below it are wrong (above it, for a lower-is-better metric).
        higher_is_better: The metric's direction.
    """

    name: str | None
    threshold: float | None
    higher_is_better: bool = True

    def wrong(self, result: ExampleResult) -> bool | None:
        """Whether the example is wrong; None when it failed or was not scored."""
        value = self.value(result)
        if value is None or self.threshold is None:
            return None
        return value < self.threshold if self.higher_is_better else value > self.threshold

    def value(self, result: ExampleResult) -> float | None:
        """The example's score on the main metric, or None."""
        if self.name is None or result.failed:
            return None
        score = result.scores.get(self.name)
        if score is None or math.isnan(score.value):
            return None
        return score.value

    def describe(self) -> str:
        """ "f1 below 0.5", for the views that show what counts as wrong."""
        if self.name is None or self.threshold is None:
            return "no metric"
        side = "below" if self.higher_is_better else "above"
        return f"{self.name} {side} {self.threshold:g}"


def main_metric(run: Run, metric: str | None = None, threshold: float | None = None) -> MainMetric:
    """The run's main metric and its threshold (the module's rule).

    Raises:
        OptionError: ``metric`` names a metric the run has no scores for.
    """
    scored = scored_metrics(run)
    if metric is not None and metric not in scored:
        raise OptionError(
            "metric",
            f"{metric}: run {run.id} has no scores for it; it has: {', '.join(scored) or 'none'}",
        )
    name = pick_main(scored, metric)
    if name is None:
        return MainMetric(None, None)
    if threshold is None:
        values = [r.scores[name].value for r in run.results if name in r.scores]
        threshold = threshold_for(name, binary=_all_zero_or_one(values))
    return MainMetric(name, threshold, higher_is_better(name) is not False)


def pick_main(names: Sequence[str], metric: str | None = None) -> str | None:
    """The metric that decides right and wrong: `metric`, else the first of `names` with
    a better direction; None when none has one.

    Raises:
        OptionError: ``metric`` has no better direction (a length).
    """
    directed = [name for name in names if higher_is_better(name) is not None]
    if metric is not None and higher_is_better(metric) is None:
        raise OptionError(
            "metric",
            f"{metric} has no better direction, so it cannot decide which answers are "
            f"right; choose one of: {', '.join(directed) or 'none scored'}",
        )
    return metric or (directed[0] if directed else None)


def threshold_for(metric: str, *, binary: bool) -> float:
    """The default threshold of a metric (the module's rule); `binary`: its values are
    all 0 or 1."""
    try:
        info = metric_info(metric)
    except NotFoundError:  # a plugin metric not loaded now: judge by its values
        return 1.0 if binary else DEFAULT_THRESHOLD
    if info.pass_fail or binary:
        return 1.0
    return info.threshold if info.threshold is not None else DEFAULT_THRESHOLD


def higher_is_better(metric: str) -> bool | None:
    """The metric's direction: None for one with no better direction (a length), True
    for a metric the registry does not know."""
    try:
        return metric_info(metric).higher_is_better
    except NotFoundError:
        return True


def scored_metrics(run: Run) -> list[str]:
    """Metrics with scores in the run: the run's own order first, then others as found."""
    found = dict.fromkeys(name for r in run.results for name in r.scores)
    return [m for m in run.info.metrics if m in found] + [
        m for m in found if m not in run.info.metrics
    ]


def refuse_unfinished(run: Run) -> None:
    """Raise unless the run is complete: a comparison over a silently smaller set of
    examples is a wrong number.

    Raises:
        OptionError: (allow_incomplete) The run is not complete.
    """
    info = run.info
    if info.status == "complete":
        return
    why = f" ({info.message})" if info.message else ""
    raise OptionError(
        "allow_incomplete",
        f"is needed: run {info.id} is {info.status}{why}; finish it (run the same command "
        f"again, or assay eval --retry-errors {info.id}), or compare only what both runs answered",
    )


def went_wrong(results: Sequence[ExampleResult], main: MainMetric) -> list[ExampleResult]:
    """The failed examples and the wrong ones, in order: what `--failures` lists."""
    return [r for r in results if r.failed or main.wrong(r)]


def _all_zero_or_one(values: Sequence[float]) -> bool:
    seen = [v for v in values if not math.isnan(v)]
    return bool(seen) and all(v in (0.0, 1.0) for v in seen)

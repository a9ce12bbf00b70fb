"""The metric protocol and its registry.

A metric scores a batch of predictions against their examples and returns one
:class:`Score` per prediction. Register one with a decorator on a factory that
takes the metric's options and returns the scoring function::

    @register_metric("exact_match")
    def exact_match(ignore_case: bool = False) -> MetricFn:
        def score(items: Sequence[ScoreInput]) -> list[Score]: ...
        return score

or, for the common per-example case, with :func:`metric` on a plain function::

    @assay.metric("mentions_price")
    def mentions_price(prediction: str, reference: str | None) -> float:
        return float("$" in prediction)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from assay.data.example import Example
from assay.data.prompts import DEFAULT_THINKING
from assay.exceptions import MetricError


@dataclass(frozen=True)
class ScoreInput:
    """What a metric sees for one example.

    Attributes:
        prediction: The answer to score. A metric gets it with any thinking left out
            (between the ``thinking`` markers; see assay.metrics.thinking).
        example: The example, with its dialogue (turns, tools, expected calls) if any.
        thinking: The run's thinking markers (open, close).
    """

    prediction: str
    example: Example
    thinking: tuple[str, str] = DEFAULT_THINKING

    @property
    def reference(self) -> str | None:
        return self.example.reference


@dataclass(frozen=True)
class Score:
    """One metric's verdict on one prediction.

    Attributes:
        value: The score; pass/fail metrics use 1.0 / 0.0.
        detail: Optional short explanation (a judge's reason, the matched span, ...).
        parts: Values of the score's parts, by name (json_fields' precision, recall and
            each field): each part is summarised over the run as "<metric>/<part>",
            over the examples that have it.
    """

    value: float
    detail: str | None = None
    parts: Mapping[str, float] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class MetricSummary:
    """A metric's aggregate over a run: the mean and its 95% interval.

    Attributes:
        metric: The metric's name.
        mean: The mean over the examples scored.
        ci_low / ci_high: The 95% interval of the mean (see metrics/intervals.py for the rule).
        n: Examples scored: the mean is over these.
        unscored: Examples with an output that the metric could not score (an unparsable
            judge reply, say): left out of the mean, and always shown beside n.
    """

    metric: str
    mean: float
    ci_low: float
    ci_high: float
    n: int
    unscored: int = 0


MetricFn = Callable[[Sequence[ScoreInput]], list[Score]]
"""A configured metric: scores a batch of inputs, one Score each, in order."""

MetricFactory = Callable[..., MetricFn]
"""Takes the metric's options as keyword arguments and returns a MetricFn."""


def require_reference(item: ScoreInput, metric: str) -> str:
    """The item's reference answer, or a MetricError naming the metric and the example.

    Metrics that compare against a reference call this rather than treating a
    missing reference as an empty string, which would score silently and wrongly.
    """
    if item.reference is None:
        raise MetricError(
            f"Metric '{metric}' needs a reference answer, but example '{item.example.id}' "
            "has none. Map the data set's answer column to the reference field, or drop "
            f"'{metric}' from the metrics."
        )
    return item.reference

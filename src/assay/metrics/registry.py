"""The metric registry: metrics register themselves by name, the runner looks them up.

Two decorators feed it. :func:`register_metric` takes a factory (keyword options
in, a batch-scoring :data:`MetricFn` out); :func:`metric` takes a plain
per-example function for the common case of a user's own check. Lookups of
unknown names or bad options raise :class:`~assay.exceptions.MetricError` with the
names or options that would have worked.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from assay.data.example import Example
from assay.exceptions import AssayError, MetricError, NotFoundError, did_you_mean
from assay.metrics.base import MetricFactory, MetricFn, Score, ScoreInput
from assay.metrics.thinking import split_reply, unfinished_detail

FactoryT = TypeVar("FactoryT", bound=MetricFactory)
PerExampleT = TypeVar("PerExampleT", bound=Callable[..., "float | bool | Score"])


@dataclass(frozen=True)
class MetricInfo:
    """What the registry knows about a metric, for listings and for comparisons.

    Attributes:
        name: The name it is looked up by.
        higher_is_better: Whether a larger value means a better prediction; None: neither
            direction is better (a length), so a comparison reports a change, never
            better or worse, and the metric cannot decide right and wrong.
        pass_fail: Whether every value is 1.0 (pass) or 0.0 (fail), so the mean is a rate.
        description: The first line of the factory's or function's docstring.
        threshold: Below it an answer counts as wrong (None: 1 for pass/fail metrics,
            0.5 otherwise; see runs/verdicts.py).
    """

    name: str
    higher_is_better: bool | None
    pass_fail: bool
    description: str
    threshold: float | None = None


@dataclass(frozen=True)
class MetricSpec:
    """A metric asked for by name, with its options (the keyword arguments of its factory).

    Attributes:
        name: The registered name.
        options: Keyword options, e.g. ``{"ignore_case": True}``; checked when resolved.
    """

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, value: str | MetricSpec) -> MetricSpec:
        return value if isinstance(value, MetricSpec) else cls(value)


@dataclass(frozen=True)
class _Entry:
    info: MetricInfo
    factory: MetricFactory


_REGISTRY: dict[str, _Entry] = {}


def register_metric(
    name: str,
    *,
    higher_is_better: bool | None = True,
    pass_fail: bool = False,
    threshold: float | None = None,
    replace: bool = False,
) -> Callable[[FactoryT], FactoryT]:
    """Register a metric factory under a name; the factory is returned unchanged.

    Args:
        name: The metric's name, as given on the command line (no commas or spaces).
        higher_is_better: Whether a larger value means a better prediction; None: neither
            direction is better (see MetricInfo).
        pass_fail: Whether the metric only ever returns 1.0 or 0.0.
        threshold: Below it an answer counts as wrong (default: 1 for pass/fail, else 0.5).
        replace: Allow replacing a metric already registered under this name.

    Raises:
        ValueError: The name is malformed, or taken and ``replace`` is False.
    """
    _check_name(name)

    def decorate(factory: FactoryT) -> FactoryT:
        if name in _REGISTRY and not replace:
            raise ValueError(
                f"A metric named '{name}' is already registered; pass replace=True to replace it."
            )
        info = MetricInfo(name, higher_is_better, pass_fail, _first_doc_line(factory), threshold)
        _REGISTRY[name] = _Entry(info, factory)
        return factory

    return decorate


def metric(
    name: str,
    *,
    higher_is_better: bool | None = True,
    pass_fail: bool = False,
    threshold: float | None = None,
    replace: bool = False,
) -> Callable[[PerExampleT], PerExampleT]:
    """Register a plain per-example function as a metric; the function is returned unchanged.

    The function is called as ``fn(prediction, reference)``, or as
    ``fn(prediction, reference, example)`` when it takes a third parameter, and
    returns a float, a bool (True = 1.0) or a :class:`Score`. The metric takes
    no options.

    Args:
        name: The metric's name, as given on the command line (no commas or spaces).
        higher_is_better: Whether a larger value means a better prediction; None: neither
            direction is better (see MetricInfo).
        pass_fail: Whether the function only ever returns pass (1.0 / True) or fail.
        threshold: Below it an answer counts as wrong (default: 1 for pass/fail, else 0.5).
        replace: Allow replacing a metric already registered under this name.

    Raises:
        TypeError: The function does not take two or three positional parameters.
        ValueError: The name is malformed, or taken and ``replace`` is False.
    """

    def decorate(fn: PerExampleT) -> PerExampleT:
        wants_example = _wants_example(fn)

        def factory() -> MetricFn:
            def score(items: Sequence[ScoreInput]) -> list[Score]:
                return [
                    _to_score(name, _call(name, fn, item, wants_example), item.example)
                    for item in items
                ]

            return score

        factory.__doc__ = fn.__doc__
        register_metric(
            name,
            higher_is_better=higher_is_better,
            pass_fail=pass_fail,
            threshold=threshold,
            replace=replace,
        )(factory)
        return fn

    return decorate


def resolve_metrics(specs: Sequence[str | MetricSpec]) -> dict[str, MetricFn]:
    """Every metric by name, configured with its options.

    Fails on an unknown name or option before any work is done.
    """
    resolved = [MetricSpec.of(spec) for spec in specs]
    return {spec.name: get_metric(spec.name, **spec.options) for spec in resolved}


def get_metric(name: str, **options: object) -> MetricFn:
    """The named metric, configured with the given options, ready to score batches.

    The returned function checks that the metric gives back one score per input.

    Raises:
        NotFoundError: The name is not registered (the message lists those that are).
        MetricError: The options do not fit the metric (it lists those accepted).
    """
    entry = _entry(name)
    signature = inspect.signature(entry.factory)
    try:
        signature.bind(**options)
    except TypeError as exc:
        raise MetricError(
            f"Bad options for metric '{name}': {exc}. {_describe_options(signature)}"
        ) from None
    return _checked(name, entry.factory(**options))


def parse_metric_names(text: str) -> list[str]:
    """The metric names in a comma-separated list such as ``"exact_match, f1,embedding"``.

    Names are stripped, empty entries dropped and repeats removed (first one kept).

    Raises:
        MetricError: The list is empty.
        NotFoundError: It names an unregistered metric.
    """
    names = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not names:
        raise MetricError(f"No metric names given. Registered metrics: {_registered()}.")
    for name in names:
        _entry(name)
    return names


def list_metrics() -> list[MetricInfo]:
    """Every registered metric, by name."""
    return [_REGISTRY[name].info for name in sorted(_REGISTRY)]


def metric_info(name: str) -> MetricInfo:
    """What the registry knows about one metric.

    Raises:
        NotFoundError: The name is not registered.
    """
    return _entry(name).info


def _entry(name: str) -> _Entry:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise NotFoundError(
            f"Unknown metric '{name}'.{did_you_mean(name, _REGISTRY)} "
            f"Registered metrics: {_registered()}."
        ) from None


def _registered() -> str:
    return ", ".join(sorted(_REGISTRY)) or "(none)"


def _check_name(name: str) -> None:
    if not name or name != name.strip() or any(c == "," or c.isspace() for c in name):
        raise ValueError(f"Metric names must be non-empty, without commas or spaces: {name!r}")


def _first_doc_line(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _describe_options(signature: inspect.Signature) -> str:
    if not signature.parameters:
        return "It takes no options."
    accepted = ", ".join(_describe_option(param) for param in signature.parameters.values())
    return f"Accepted options: {accepted}."


def _describe_option(param: inspect.Parameter) -> str:
    # Annotations are strings under `from __future__ import annotations`; show them bare.
    text = param.name
    if param.annotation is not param.empty:
        annotation = param.annotation
        if not isinstance(annotation, str):
            annotation = inspect.formatannotation(annotation)
        text += f": {annotation}"
    if param.default is not param.empty:
        text += f" = {param.default!r}"
    return text


def _wants_example(fn: Callable[..., object]) -> bool:
    positional = [
        param
        for param in inspect.signature(fn).parameters.values()
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD)
    ]
    if len(positional) not in (2, 3):
        raise TypeError(
            f"@metric functions take (prediction, reference) or (prediction, reference, "
            f"example); {getattr(fn, '__name__', fn)!r} takes {len(positional)} parameters."
        )
    return len(positional) == 3


def _call(name: str, fn: Callable[..., object], item: ScoreInput, wants_example: bool) -> object:
    """The function's value for one example; what it raises names the metric and example."""
    try:
        if wants_example:
            return fn(item.prediction, item.reference, item.example)
        return fn(item.prediction, item.reference)
    except AssayError:
        raise
    except Exception as exc:
        raise MetricError(
            f"metric '{name}' failed on example '{item.example.id}': {type(exc).__name__}: {exc}"
        ) from exc


def _to_score(name: str, value: object, example: Example) -> Score:
    if isinstance(value, Score):
        return value
    if isinstance(value, numbers.Real):  # bool, int, float and numpy scalars
        return Score(float(value))
    raise MetricError(
        f"Metric '{name}' returned {type(value).__name__} for example '{example.id}'; "
        "expected a float, a bool or a Score."
    )


def _checked(name: str, fn: MetricFn) -> MetricFn:
    """The metric, made to say who failed: an exception names the metric, and a wrong
    number of scores is an error rather than a silent misalignment.

    It scores answers, not thinking: every prediction reaches the metric with its
    thinking left out, and one whose thinking never closed is not given to the metric
    at all; its score is NaN with a detail that says why (assay.metrics.thinking).
    """

    def score(items: Sequence[ScoreInput]) -> list[Score]:
        replies = [split_reply(item.prediction, item.thinking) for item in items]
        answered = [
            (index, replace(item, prediction=reply.answer))
            for index, (item, reply) in enumerate(zip(items, replies, strict=True))
            if reply.answer is not None
        ]
        try:
            scores = fn([item for _, item in answered]) if answered else []
        except AssayError:
            raise
        except Exception as exc:
            raise MetricError(f"metric '{name}' failed: {type(exc).__name__}: {exc}") from exc
        if len(scores) != len(answered):
            raise MetricError(
                f"Metric '{name}' returned {len(scores)} scores for {len(answered)} predictions."
            )
        merged = [Score(math.nan, unfinished_detail(item.thinking)) for item in items]
        for (index, _), value in zip(answered, scores, strict=True):
            merged[index] = value
        return merged

    return score

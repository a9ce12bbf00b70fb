"""The error-category registry: detectors register themselves by name, with a severity.

A detector looks at one example of a run and says whether its category applies,
returning a short detail ("repeat ratio 0.62") or None. Add one with the
:func:`detector` decorator::

    @detector("apology", severity="low", suggestion="drop apologies from the training answers")
    def apology(result: ExampleResult, context: DetectorContext) -> str | None:
        return "starts with sorry" if result.prediction.lower().startswith("sorry") else None

A category that *explains* a wrong answer (``explains_wrong=True``) says why the
answer could not score right whatever it meant: it is empty, cut off, a refusal,
in another form or language, a loop, an echo of the prompt. One that only
describes the answer's style (verbose, too short, misspelled) does not; an example
that is wrong by the main metric and has no explaining category is ``incorrect``
(see :mod:`assay.error_analysis.report`).

Categories are reported most severe first, then most frequent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

from assay.exceptions import NotFoundError, did_you_mean

if TYPE_CHECKING:
    from assay.error_analysis.context import DetectorContext
    from assay.runs.records import ExampleResult

Severity = Literal["high", "medium", "low"]
SEVERITY_RANK: dict[str, int] = {"high": 0, "medium": 1, "low": 2}
"""Sort key of each severity: most severe first."""

DetectFn = Callable[["ExampleResult", "DetectorContext"], "str | None"]
F = TypeVar("F", bound=DetectFn)


@dataclass(frozen=True)
class Category:
    """A registered error category.

    Attributes:
        name: The category's name, as shown and stored.
        severity: "high", "medium" or "low".
        description: The first line of the detector's docstring.
        suggestion: What to change in the training data, as a sentence that may use
            ``{share}`` (e.g. "41%").
        detect: The detector; None for categories assigned after the others (``incorrect``).
        explains_wrong: The category is reason enough for a wrong score, so an example
            it is found on is not also ``incorrect``.
    """

    name: str
    severity: Severity
    description: str
    suggestion: str
    detect: DetectFn | None
    explains_wrong: bool = False


_REGISTRY: dict[str, Category] = {}


def detector(
    name: str,
    *,
    severity: Severity,
    suggestion: str,
    explains_wrong: bool = False,
    replace: bool = False,
) -> Callable[[F], F]:
    """Register a detector for an error category; the function is returned unchanged.

    The function is called as ``fn(result, context)`` for every example of a run and
    returns a short detail when the category applies, else None.

    Args:
        name: The category's name.
        severity: "high", "medium" or "low".
        suggestion: What to change in the training data; may use ``{share}``.
        explains_wrong: The category is reason enough for a wrong score (an empty or
            cut-off answer); False for one that describes style only (verbose).
        replace: Allow replacing a category registered under this name.

    Raises:
        ValueError: The severity is unknown, or the name is taken and ``replace`` is False.
    """

    def decorate(fn: F) -> F:
        category = Category(name, severity, _first_doc_line(fn), suggestion, fn, explains_wrong)
        register_category(category, replace=replace)
        return fn

    return decorate


def register_category(category: Category, *, replace: bool = False) -> None:
    """Add a category to the registry (what :func:`detector` does).

    Raises:
        ValueError: The severity is unknown, or the name is taken and ``replace`` is False.
    """
    if category.severity not in SEVERITY_RANK:
        raise ValueError(
            f"severity must be one of {list(SEVERITY_RANK)}, got {category.severity!r}"
        )
    if category.name in _REGISTRY and not replace:
        raise ValueError(
            f"An error category named '{category.name}' is already registered; "
            "pass replace=True to replace it."
        )
    _REGISTRY[category.name] = category


def get_category(name: str) -> Category:
    """A registered category by name.

    Raises:
        NotFoundError: No such category (the message lists the registered ones).
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise NotFoundError(
            f"Unknown error category '{name}'.{did_you_mean(name, _REGISTRY)} "
            f"Categories: {', '.join(sorted(_REGISTRY))}."
        ) from None


def list_categories() -> list[Category]:
    """Every registered category, most severe first, then by name."""
    return sorted(_REGISTRY.values(), key=lambda c: (SEVERITY_RANK[c.severity], c.name))


def _first_doc_line(obj: object) -> str:
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""

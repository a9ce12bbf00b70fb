"""The one exception tree of assay.

Every user mistake (a bad file, an unknown name, a store that cannot be written)
raises a subclass of :class:`AssayError` whose message says *what* is wrong,
*where* (file, line, field or flag) and, when there is one, what to do next.
The CLI prints these messages without a traceback and exits non-zero; anything
else that escapes is a bug in assay.

    AssayError
    ├── DataError      a data set or predictions file that cannot be read as asked
    ├── PromptError    a template whose placeholders do not fit the data
    ├── ModelError     an unknown model, a missing package, weights that do not load
    ├── MetricError    an unknown metric or bad metric options
    └── StoreError     the run store cannot be opened, written, or has no such run
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class AssayError(Exception):
    """Base class for every error assay reports to a user."""


class DataError(AssayError):
    """A data set or predictions file cannot be read as asked."""


class PromptError(AssayError):
    """A prompt template does not fit the data set it is applied to."""


class ModelError(AssayError):
    """A model spec is unknown, its package is missing, or it does not load."""


class MetricError(AssayError):
    """A metric is unknown or its options are wrong."""


class StoreError(AssayError):
    """The run store cannot be opened or written, or a run does not exist."""


def missing_package(package: str, purpose: str, *, no_deps: bool = False) -> ModelError:
    """The error for an optional package that is not installed, with the pip command."""
    flag = " --no-deps" if no_deps else ""
    return ModelError(f"{purpose} needs the package '{package}': pip install{flag} {package}")


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """ " Did you mean 'x'?" for the closest known name, or "" when none is close."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" Did you mean '{close[0]}'?" if close else ""

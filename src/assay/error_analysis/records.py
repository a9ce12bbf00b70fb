"""The typed results of error analysis, with their tabular views."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

Source = Literal["detector", "label"]


@dataclass(frozen=True)
class ExampleError:
    """One category found on one example.

    Attributes:
        example_id: The example's id in the run.
        category: The category's name.
        severity: "high", "medium" or "low".
        detail: What the detector saw ("repeat ratio 0.62"), or "" for none.
        source: "detector", or "label" when a human label put it there.
    """

    example_id: str
    category: str
    severity: str
    detail: str
    source: Source = "detector"


@dataclass(frozen=True)
class CategoryCount:
    """One row of the error table.

    Attributes:
        category: The category's name.
        severity: "high", "medium" or "low".
        count: Examples in the category.
        share: count / examples analysed (failed generations left out).
        example_id: One example of it (the first).
        example: That example's answer, shortened.
        suggestion: What to change in the training data.
    """

    category: str
    severity: str
    count: int
    share: float
    example_id: str
    example: str
    suggestion: str


@dataclass
class ErrorReport:
    """Where a run fails: every example's categories and the counts, most severe first.

    Attributes:
        run_id: The run analysed.
        n_examples: Examples in the run, failed generations included.
        metric: The main metric used for ``incorrect`` (None when the run has no scores).
        threshold: Scores below it counted as wrong.
        errors: One record per (example, category).
        categories: The counts, sorted by severity, then count.
        wrong: How the main metric decides wrong ("f1 below 0.5", or "no metric").
        n_failed: Examples whose generation failed (no output): not answers, so not
            analysed, and counted apart.
        n_wrong: Answers wrong by the main metric: ``incorrect`` and the explaining
            categories share them out.
    """

    run_id: str
    n_examples: int
    metric: str | None
    threshold: float | None
    errors: list[ExampleError] = field(repr=False)
    categories: list[CategoryCount]
    wrong: str = "no metric"
    n_failed: int = 0
    n_wrong: int = 0

    @property
    def n_analysed(self) -> int:
        """Examples with an output: what the shares are shares of."""
        return self.n_examples - self.n_failed

    @property
    def suggestions(self) -> list[str]:
        """What to change in the training data, one sentence per category found."""
        return [c.suggestion for c in self.categories if c.suggestion]

    def examples(self, category: str) -> list[ExampleError]:
        """The records of one category, in example order."""
        return [e for e in self.errors if e.category == category]

    def to_pandas(self) -> pd.DataFrame:
        """The category table: one row per category, in report order."""
        columns = ["category", "severity", "count", "share", "example_id", "example", "suggestion"]
        return pd.DataFrame([vars(c) for c in self.categories], columns=columns)

    def errors_frame(self) -> pd.DataFrame:
        """One row per (example, category)."""
        columns = ["example_id", "category", "severity", "detail", "source"]
        return pd.DataFrame([vars(e) for e in self.errors], columns=columns)

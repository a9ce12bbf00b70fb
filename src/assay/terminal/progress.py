"""The progress bar of long work: items done (examples, questions), items/s and tokens/s."""

from __future__ import annotations

import time
from types import TracebackType

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class WorkProgress:
    """A rich progress bar for `total` items; `advance` as they finish.

    Args:
        total: Items to do.
        enabled: False draws nothing.
        description: What is being done ("generating", "scoring").
        unit: The items' short name in the rate ("ex" for examples, "q" for questions).
    """

    def __init__(
        self, total: int, *, enabled: bool = True, description: str = "generating", unit: str = "ex"
    ) -> None:
        self.total = total
        self.unit = unit
        self.tokens = 0
        self.done = 0
        self._started = time.perf_counter()
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            disable=not enabled,
            transient=False,
        )
        self._task: TaskID | None = None
        self._description = description

    def __enter__(self) -> WorkProgress:
        self._progress.start()
        self._started = time.perf_counter()
        self._task = self._progress.add_task(self._description, total=self.total, rate="")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def advance(self, count: int = 1, *, tokens: int = 0, total_tokens: int | None = None) -> None:
        """Count `count` more items done, with `tokens` more tokens (or the running total)."""
        self.done += count
        self.tokens = total_tokens if total_tokens is not None else self.tokens + tokens
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        rate = f"{self.done / elapsed:.2f} {self.unit}/s · {self.tokens / elapsed:.0f} tok/s"
        if self._task is not None:
            self._progress.update(self._task, advance=count, rate=rate)

"""The progress bar of long generation work: examples done, examples/s and tokens/s."""

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


class GenerationProgress:
    """A rich progress bar for `total` examples; `advance` as each one finishes."""

    def __init__(
        self, total: int, *, enabled: bool = True, description: str = "generating"
    ) -> None:
        self.total = total
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

    def __enter__(self) -> GenerationProgress:
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

    def advance(self, tokens: int) -> None:
        self.done += 1
        self.tokens += tokens
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        rate = f"{self.done / elapsed:.2f} ex/s · {self.tokens / elapsed:.0f} tok/s"
        if self._task is not None:
            self._progress.update(self._task, advance=1, rate=rate)

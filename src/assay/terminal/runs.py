"""Terminal views of runs: the summary after eval and score, the list of runs, and a
run's examples. Everything fits 80 columns."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas
from rich import box
from rich.console import Console
from rich.table import Table

from assay.exceptions import OptionError
from assay.runs.records import Run, RunInfo
from assay.runs.verdicts import MainMetric, went_wrong
from assay.scoring import asked
from assay.terminal.text import clip, counted, escape, interval, number

STATUS_STYLE = {
    "complete": "green",
    "incomplete": "yellow",
    "failed": "red",
    "interrupted": "yellow",
    "running": "cyan",
}
HEADLINE_METRICS = 2
"""Metrics shown per run in `assay runs`."""

SHOW_FORMATS = ("table", "csv", "jsonl")


def run_summary(console: Console, run: Run, store_url: str) -> None:
    """What `assay eval` prints: the metrics, what failed, the counts, where it is stored."""
    info = run.info
    status(console, info)
    metrics_table(console, info, list(info.summary))
    stats = info.stats
    if stats.requests:  # labels scored by log-likelihood (eval --choices): nothing generated
        parts = [
            f"{stats.generated} scored",
            f"{stats.cached} of {stats.requests} label scores cached",
        ]
    else:
        parts = [f"{stats.generated} generated", f"{stats.cached} cached"]
    parts.append(f"{stats.resumed} resumed")
    for count, what in (
        (stats.failed, "failed"),
        (stats.truncated, "truncated"),
        (stats.stopped_at_length, "stopped at length"),
    ):
        if count:
            parts.append(f"{count} {what}")
    if stats.generated and stats.seconds:
        parts.append(f"{stats.examples_per_second:g} ex/s, {stats.tokens_per_second:g} tok/s")
    console.print(", ".join(parts))
    footer(console, info, store_url)


def score_summary(console: Console, run: Run, metrics: Sequence[str], store_url: str) -> None:
    """What `assay score` prints: the metrics it scored, and what it could not score."""
    info = run.info
    usable = sum(not r.failed for r in run.results)
    console.print(
        f"scored {usable} of {len(run.results)} examples of run {info.id} with "
        f"{escape(', '.join(metrics))}"
    )
    if info.stats.failed:
        console.print(
            f"[yellow]{info.stats.failed} failed generations not scored[/]: "
            f"assay eval --retry-errors {info.id}"
        )
    metrics_table(console, info, list(metrics))
    footer(console, info, store_url)


def status(console: Console, info: RunInfo) -> None:
    """The run's status line when it is not plainly complete (what failed, and why)."""
    if info.status == "complete":
        return
    style = STATUS_STYLE.get(info.status, "white")
    message = f": {escape(info.message)}" if info.message else ""
    console.print(f"[bold {style}]{info.status}[/]{message}")


def metrics_table(console: Console, info: RunInfo, metrics: Sequence[str]) -> None:
    """Mean, 95% interval and n (with the examples a metric could not score) per metric."""
    title = f"{info.name}  ({info.n_examples} examples, {info.status})"
    table = Table(title=escape(title), title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("metric", overflow="fold")
    for column in ("mean", "95% interval", "n"):
        table.add_column(column, justify="right", no_wrap=True)
    for name in metrics:
        summary = info.summary.get(name)
        if summary is None:
            continue
        table.add_row(
            escape(name),
            number(summary.mean),
            interval(summary.ci_low, summary.ci_high),
            counted(summary),
        )
    console.print(table)


def footer(console: Console, info: RunInfo, store_url: str) -> None:
    console.print(f"run [bold]{info.id}[/] stored in {escape(store_url)}")
    console.print(f"  see it:  assay show {info.id}   (--failures, --format csv)")


def runs_table(console: Console, runs: Sequence[RunInfo]) -> None:
    """`assay runs`: id, then the run (name, status, kind, model, data, date), n and the
    headline metrics; a long name or path wraps, nothing is cut."""
    if not runs:
        console.print("no runs: `assay eval --model ... --data ...` makes one")
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("run", overflow="fold", ratio=1)
    table.add_column("n", justify="right", no_wrap=True)
    table.add_column("headline", overflow="ellipsis", no_wrap=True, max_width=30)
    for info in runs:
        style = STATUS_STYLE.get(info.status, "white")
        created = info.created_at.strftime("%Y-%m-%d %H:%M") if info.created_at else ""
        tags = f"  #{' #'.join(info.tags)}" if info.tags else ""
        cell = (
            f"[bold]{escape(info.name)}[/]  [{style}]{info.status}[/]{escape(tags)}\n"
            f"[dim]{info.kind} · {escape(info.model_spec)}\n"
            f"{escape(data_label(info.dataset_name))} · {created}[/]"
        )
        headline = "\n".join(
            f"{number(s.mean)} {escape(name)}"
            for name, s in list(info.summary.items())[:HEADLINE_METRICS]
        )
        table.add_row(info.id, cell, str(info.n_examples), headline)
    console.print(table)
    console.print(f"{len(runs)} run{'' if len(runs) == 1 else 's'}")


def data_label(dataset: str) -> str:
    """The data set as `assay runs` shows it: a local path relative to here when inside."""
    path = Path(dataset.split("[", 1)[0])
    if path.is_absolute():
        try:
            return str(Path(dataset).relative_to(Path.cwd()))
        except ValueError:
            return dataset
    return dataset


def examples_frame(
    run: Run, main: MainMetric, *, failures_only: bool, limit: int | None
) -> pandas.DataFrame:
    """The run's examples as a frame: all of them, or the failed and wrong ones, at most
    `limit` rows."""
    frame = run.to_pandas()
    if failures_only:
        chosen = {r.example_id for r in went_wrong(run.results, main)}
        frame = frame[frame["example_id"].isin(chosen)]
    return frame.head(limit) if limit is not None else frame


def examples(
    console: Console,
    run: Run,
    frame: pandas.DataFrame,
    output_format: str,
    *,
    failures_of: MainMetric | None = None,
) -> None:
    """`assay show`: the examples as a table, CSV or JSONL."""
    if output_format not in SHOW_FORMATS:
        raise OptionError("output_format", f"{output_format!r} is not one of: table, csv, jsonl")
    if output_format == "csv":
        console.out(frame.to_csv(index=False), end="")
        return
    if output_format == "jsonl":
        console.out(frame.to_json(orient="records", lines=True, force_ascii=False), end="")
        return
    metrics = [m for m in run.info.metrics if m in frame]
    by_id = {r.example_id: r for r in run.results}
    table = Table(show_lines=True)
    for column in ("id", "input", "reference", "prediction", *metrics):
        table.add_column(column, overflow="fold")
    for _, row in frame.iterrows():
        failed = row["finish_reason"] == "error"
        prediction = (
            f"[red]failed: {escape(clip(row['error']))}[/]"
            if failed
            else escape(clip(row["prediction"]))
        )
        table.add_row(
            escape(str(row["example_id"])),
            escape(clip(asked(by_id[row["example_id"]], run.info))),
            escape(clip(row["reference"])),
            prediction,
            *(number(row[m]) for m in metrics),
        )
    console.print(table)
    what = f" (failed, or {failures_of.describe()})" if failures_of is not None else ""
    console.print(f"{len(frame)} of {len(run.results)} examples{what}")

"""Terminal output: tables of runs, summaries and examples.

Model text is untrusted: every string that came from a model or a data set is
escaped before rich sees it, so "[bold]" or "[link=...]" in an answer prints
as typed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas
from rich.console import Console
from rich.markup import escape as _rich_escape
from rich.table import Table

from assay.run import Run, RunInfo

TEXT_WIDTH = 60


def escape(text: str) -> str:
    return _rich_escape(text)


def run_summary(console: Console, run: Run, store_url: str) -> None:
    info = run.info
    table = Table(title=escape(f"{info.name}  ({info.n_examples} examples)"), title_justify="left")
    for column in ("metric", "mean", "95% interval", "n"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for summary in run.info.summary.values():
        interval = f"{_number(summary.ci_low)} – {_number(summary.ci_high)}"
        table.add_row(escape(summary.metric), _number(summary.mean), interval, str(summary.n))
    console.print(table)
    stats = info.stats
    parts = [f"{stats.get(k, 0)} {k}" for k in ("generated", "cached", "resumed")]
    for key in ("errors", "truncated", "stopped_at_length"):
        if stats.get(key):
            parts.append(f"{stats[key]} {key.replace('_', ' ')}")
    if stats.get("generated"):
        parts.append(
            f"{stats['examples_per_second']} examples/s, {stats['tokens_per_second']} tokens/s"
        )
    console.print(escape(", ".join(parts)))
    console.print(f"run [bold]{info.id}[/] stored in {escape(store_url)}")
    console.print(f"  see it:   assay show {info.id}   (--failures, --format csv)")


def runs_table(console: Console, runs: Sequence[RunInfo]) -> None:
    if not runs:
        console.print("no runs yet: `assay eval --model ... --data ...` makes one")
        return
    table = Table()
    table.add_column("id", no_wrap=True)
    for column in ("name", "model", "data", "n", "metrics", "status", "created"):
        # Long model paths wrap rather than lose their end (the file name) to an ellipsis.
        table.add_column(column, overflow="fold")
    for info in runs:
        metrics = "\n".join(
            f"{name} {_number(s.mean)}" for name, s in list(info.summary.items())[:3]
        )
        created = info.created_at.strftime("%Y-%m-%d %H:%M") if info.created_at else ""
        table.add_row(
            info.id,
            escape(info.name),
            escape(info.model_spec),
            escape(Path(info.dataset_name).name),
            str(info.n_examples),
            escape(metrics),
            info.status,
            created,
        )
    console.print(table)


def examples_frame(run: Run, *, failures_only: bool, limit: int | None) -> pandas.DataFrame:
    """The run's examples as a frame, optionally only the failures, at most `limit` rows."""
    frame = run.to_pandas()
    if failures_only:
        frame = frame[_failed(run, frame)]
    return frame.head(limit) if limit is not None else frame


def _failed(run: Run, frame: pandas.DataFrame) -> pandas.Series:
    """Errors, and examples below 1 on any pass/fail metric (or below 0.5 on the first metric)."""
    failed = frame["finish_reason"].eq("error")
    scored = [name for name in run.info.summary if name in frame]
    pass_fail = [name for name in scored if _is_pass_fail(name)]
    for name in pass_fail:
        failed |= frame[name] < 1
    if not pass_fail and scored:
        failed |= frame[scored[0]] < 0.5
    return failed


def examples(console: Console, run: Run, frame: pandas.DataFrame, output_format: str) -> None:
    if output_format == "csv":
        console.out(frame.to_csv(index=False), end="")
    elif output_format == "jsonl":
        console.out(frame.to_json(orient="records", lines=True, force_ascii=False), end="")
    elif output_format == "table":
        metrics = [m for m in run.info.summary if m in frame]
        table = Table(show_lines=True)
        for column in ("id", "input", "reference", "prediction", *metrics):
            table.add_column(column, overflow="fold")
        for _, row in frame.iterrows():
            table.add_row(
                escape(str(row["example_id"])),
                escape(_clip(row["input"])),
                escape(_clip(row["reference"])),
                escape(_clip(row["prediction"])),
                *(_number(row[m]) for m in metrics),
            )
        console.print(table)
        console.print(f"{len(frame)} of {len(run.results)} examples")
    else:
        from assay.errors import AssayError

        raise AssayError(f"--format {output_format!r} is not one of: table, csv, jsonl")


def models_table(console: Console) -> None:
    from assay.models.bundled import BUNDLED_MODELS
    from assay.models.registry import list_backends

    table = Table(title="bundled models (work offline)")
    table.add_column("alias")
    table.add_column("package")
    table.add_column("model")
    for model in BUNDLED_MODELS.values():
        table.add_row(model.alias, model.package, model.description)
    console.print(table)
    for backend in list_backends():
        console.print(f"  {backend.prefix}:<...>  {escape(backend.description)}")


def metrics_table(console: Console) -> None:
    from assay.metrics import list_metrics

    table = Table()
    for column in ("metric", "kind", "description"):
        table.add_column(column)
    for info in list_metrics():
        table.add_row(
            info.name, "pass/fail" if info.pass_fail else "score", escape(info.description)
        )
    console.print(table)


def _is_pass_fail(name: str) -> bool:
    from assay.metrics import list_metrics

    return any(info.name == name and info.pass_fail for info in list_metrics())


def _clip(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value)
    return text if len(text) <= TEXT_WIDTH * 4 else text[: TEXT_WIDTH * 4] + " …"


def _number(value: object) -> str:
    if value is None:
        return ""
    number = float(value)  # type: ignore[arg-type]
    return "nan" if math.isnan(number) else f"{number:.3f}"

"""`assay bench`: the standard academic benchmarks (ARC, HellaSwag, MMLU, TruthfulQA)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from assay.commands.common import DbOption, console, store_url, user_errors
from assay.render import escape


def register(app: typer.Typer) -> None:
    app.command("bench")(bench_command)


@user_errors
def bench_command(
    model: Annotated[str, typer.Option("--model", "-m", help="Alias, hf:<id|dir> or gguf:<file>.")],
    tasks: Annotated[
        str,
        typer.Option(
            help="Comma-separated: leaderboard, arc_challenge, arc_easy, hellaswag, mmlu, "
            "mmlu_<subject>, truthfulqa_mc1, truthfulqa_mc2."
        ),
    ] = "leaderboard",
    num_fewshot: Annotated[
        int | None, typer.Option(help="Shots for every task (default: each task's own).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(help="First N questions of each task (each MMLU subject).")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Folder of JSONL files in the hub schema (default: the hub)."),
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Most contexts in one forward pass.")] = 32,
    dtype: Annotated[str, typer.Option(help="auto, float32, bfloat16 or float16.")] = "auto",
    adapter: Annotated[Path | None, typer.Option(help="A LoRA adapter folder (peft).")] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda or auto.")] = "auto",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write results in lm-evaluation-harness's JSON layout."
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="A name for the run.")] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            help="A stored bench run (the base model's) to show side by side, with deltas."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Run the Open LLM Leaderboard benchmarks with lm-evaluation-harness's prompts and scores."""
    from assay.benchmarks import BenchOptions, run_bench
    from assay.models.base import ModelOptions

    options = BenchOptions(
        tasks=tuple(t for t in tasks.split(",") if t.strip()),
        num_fewshot=num_fewshot,
        limit=limit,
        data_dir=data_dir,
        model=ModelOptions(dtype=dtype, adapter=adapter, batch_size=batch_size, device=device),
        name=name,
    )
    before = _baseline(baseline, db)
    result = run_bench(model, options=options, store=store_url(db))
    table = Table(title=f"{escape(result.model)}  (run {result.run_id})")
    for column, justify in (
        ("task", "left"),
        ("shots", "right"),
        ("metric", "left"),
        ("value", "right"),
        ("± stderr", "right"),
        ("n", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    if before is not None:
        table.add_column(f"baseline {escape(before[0])}", justify="right")
        table.add_column("Δ", justify="right")
    for row in result.rows:
        if row.group is not None and row.task not in tasks.split(","):
            continue
        table.add_row(
            escape(row.task),
            "" if row.shots is None else str(row.shots),
            row.metric,
            _percent(row.value),
            _percent(row.stderr),
            str(row.n),
            *_versus(before, f"{row.task}/{row.metric}", row.value),
        )
    for suite, average in result.averages.items():
        table.add_section()
        table.add_row(
            f"[bold]{suite} average[/]",
            "",
            "",
            f"[bold]{_percent(average.value)}[/]",
            _percent(average.stderr),
            str(average.n),
            *_versus(before, f"{suite}/average", average.value),
        )
    console.print(table)
    seconds = result.config.get("loglikelihood_seconds")
    if seconds is not None:
        console.print(f"scored in {seconds:.1f} s; stored as run {result.run_id}")
    if output is not None:
        result.write_harness_json(output)
        console.print(f"wrote {escape(str(output))}")


def _baseline(run_id: str | None, db: str | None) -> tuple[str, dict[str, float]] | None:
    """The stored values of a bench run ("task/metric" -> value), read before this run starts."""
    if run_id is None:
        return None
    from assay.errors import AssayError
    from assay.store import open_store

    with open_store(store_url(db)) as store:
        info = store.get_run_info(run_id)
    if info.kind != "bench":
        raise AssayError(
            f"--baseline {run_id}: run {info.id} is an {info.kind} run, not a bench run"
        )
    return info.model_spec, {name: s.mean for name, s in info.summary.items()}


def _versus(before: tuple[str, dict[str, float]] | None, key: str, value: float) -> list[str]:
    if before is None:
        return []
    old = before[1].get(key)
    if old is None:
        return ["", ""]
    delta = 100 * (value - old)
    colour = "green" if delta > 0 else "red" if delta < 0 else "default"
    return [_percent(old), f"[{colour}]{delta:+.2f}[/]"]


def _percent(value: float) -> str:
    return "N/A" if math.isnan(value) else f"{100 * value:.2f}"

"""`assay bench`: the academic benchmarks (ARC, HellaSwag, MMLU, TruthfulQA, GSM8K, IFEval,
BIG-Bench Hard) and task files (YAML/TOML, BIG-bench task.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assay.cli.common import (
    DbOption,
    DtypeOption,
    ForceOption,
    QuantizeOption,
    console,
    output_file,
    store_url,
    user_errors,
)
from assay.cli.executor import (
    CpusPerReplicaOption,
    ExecutorOption,
    GpusPerReplicaOption,
    RayAddressOption,
    ReplicasOption,
    executor_options,
)
from assay.terminal.bench import bench_table
from assay.terminal.text import escape


def register(app: typer.Typer) -> None:
    app.command("bench")(bench_command)


@user_errors
def bench_command(
    model: Annotated[str, typer.Option("--model", "-m", help="Alias, hf:ID|DIR or gguf:FILE.")],
    tasks: Annotated[
        str,
        typer.Option(
            help="Comma-separated: leaderboard, arc_challenge, arc_easy, hellaswag, mmlu, "
            "mmlu_SUBJECT, truthfulqa_mc1, truthfulqa_mc2, gsm8k, ifeval, bbh_cot_fewshot, "
            "bbh_cot_fewshot_TASK, or the path of a task file (.yaml, .toml, or a BIG-bench "
            "task.json)."
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
    dtype: DtypeOption = "auto",
    quantize: QuantizeOption = None,
    adapter: Annotated[Path | None, typer.Option(help="A LoRA adapter folder (peft).")] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda or auto.")] = "auto",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write results in lm-evaluation-harness's JSON layout."
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="A name for the run.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="A tag for the run (repeatable).")] = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
    baseline: Annotated[
        str | None,
        typer.Option(
            help="A stored bench run (the base model's) to show side by side, with deltas."
        ),
    ] = None,
    force: ForceOption = False,
    executor: ExecutorOption = "local",
    replicas: ReplicasOption = None,
    ray_address: RayAddressOption = None,
    gpus_per_replica: GpusPerReplicaOption = None,
    cpus_per_replica: CpusPerReplicaOption = None,
    db: DbOption = None,
) -> None:
    """Run benchmarks with lm-evaluation-harness's prompts, answer extraction and scores.

    Multiple-choice tasks score each choice by log-likelihood; generative ones (gsm8k,
    ifeval, bbh_cot_fewshot) generate greedily and extract the answer as the harness
    does. A task file defines a task without Python: assay's own YAML or TOML (data
    file, prompt template, choices or a generative metric, few-shot source and count),
    or a BIG-bench task.json as it is. Results are committed as questions finish: a
    killed bench resumes when the same command runs again, and log-likelihoods and
    generations are cached, so an identical re-run (or a larger --limit after a smaller
    one) computes only what it has not seen.
    """
    from assay.bench import BenchOptions, run_bench
    from assay.models.base import ModelOptions

    output_file(output, "output", force)
    options = BenchOptions(
        tasks=tuple(t.strip() for t in tasks.split(",") if t.strip()),
        num_fewshot=num_fewshot,
        limit=limit,
        data_dir=data_dir,
        model=ModelOptions(
            dtype=dtype,
            adapter=adapter,
            batch_size=batch_size,
            device=device,
            quantize=quantize,
        ),
        name=name,
        tags=tuple(tag or ()),
        progress=not no_progress,
        executor=executor_options(
            executor, replicas, ray_address, gpus_per_replica, cpus_per_replica
        ),
    )
    before = _baseline(baseline, db)
    result = run_bench(model, options=options, store=store_url(db))
    bench_table(console, result, set(options.tasks), before)
    stats = result.stats
    if stats.generated:
        cached = (
            f"{stats.cached} of {stats.requests} requests" if stats.requests else f"{stats.cached}"
        )
        console.print(
            f"scored {stats.generated} questions in {stats.seconds:.1f} s "
            f"({stats.examples_per_second:g} q/s, {stats.tokens_per_second:g} tok/s); "
            f"{cached} from the cache"
        )
    else:
        console.print(f"every question from the store or the cache; run {result.run_id}")
    if output is not None:
        result.write_harness_json(output)
        console.print(f"wrote {escape(str(output))}")


def _baseline(run_id: str | None, db: str | None) -> tuple[str, dict[str, float]] | None:
    """The stored values of a bench run ("task/metric" -> value), read before this run starts."""
    if run_id is None:
        return None
    from assay.exceptions import OptionError
    from assay.store import open_store

    with open_store(store_url(db), read_only=True) as store:
        info = store.get_run_info(run_id)
    if info.kind != "bench":
        raise OptionError("baseline", f"{run_id}: run {info.id} is an {info.kind} run, not bench")
    return f"run {info.id} ({info.model_spec})", {n: s.mean for n, s in info.summary.items()}

"""The `assay` command: parses flags, calls the library, prints the result.

The core commands (eval, runs, show, export, score, models, metrics) live here;
each module of `assay.commands` adds the commands of one more area. User
mistakes (AssayError) are printed as one line without a traceback and exit
with status 1; an interrupted run says how to resume and exits with 130.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Annotated

import typer

from assay import commands, render
from assay.commands.common import (
    DbOption,
    PluginOption,
    console,
    import_plugins,
    store_url,
    user_errors,
)
from assay.commands.judging import (
    BaseUrlOption,
    ConcurrencyOption,
    JudgeOption,
    RubricOption,
    judge_metric_options,
    required_model_and_data,
)
from assay.data.prompts import PromptConfig, load_template
from assay.models.base import GenerationParams, ModelOptions
from assay.runner import DataOptions, EvalOptions

app = typer.Typer(
    help="Evaluate fine-tuned language models on your own test set, and iterate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command("eval")
@user_errors
def eval_command(
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Alias, hf:<id|dir>, gguf:<file>, replay:<file>, openai:<m>[@url].",
        ),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", "-d", help="JSONL/JSON/CSV/Parquet file, dataset folder or hub id."),
    ] = None,
    metrics: Annotated[str, typer.Option(help="Comma-separated metric names.")] = "exact_match,f1",
    split: Annotated[
        str | None, typer.Option(help="Split of a hub data set or DatasetDict folder.")
    ] = None,
    input_field: Annotated[str | None, typer.Option(help="Column with the inputs.")] = None,
    reference_field: Annotated[str | None, typer.Option(help="Column with the references.")] = None,
    id_field: Annotated[str | None, typer.Option(help="Column with unique example ids.")] = None,
    limit: Annotated[int | None, typer.Option(help="Use only the first N examples.")] = None,
    sample: Annotated[
        int | None, typer.Option(help="Use N examples drawn at random (see --seed).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for --sample and for sampling.")] = 0,
    template: Annotated[
        str | None, typer.Option(help="Prompt template text or file, with {field} placeholders.")
    ] = None,
    system: Annotated[str | None, typer.Option(help="System prompt.")] = None,
    prompt_format: Annotated[
        str, typer.Option(help="auto, chat (model's chat template) or raw.")
    ] = "auto",
    max_new_tokens: Annotated[int, typer.Option(help="Most tokens generated per example.")] = 128,
    temperature: Annotated[float, typer.Option(help="0 for greedy decoding.")] = 0.0,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling mass when sampling.")] = 1.0,
    stop: Annotated[list[str] | None, typer.Option(help="A stop string (repeatable).")] = None,
    batch_size: Annotated[int, typer.Option(help="Sequences in flight at once.")] = 32,
    dtype: Annotated[str, typer.Option(help="auto, float32, bfloat16 or float16.")] = "auto",
    adapter: Annotated[Path | None, typer.Option(help="A LoRA adapter folder (peft).")] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda or auto.")] = "auto",
    name: Annotated[str | None, typer.Option(help="A name for the run.")] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Generate again even if cached.")
    ] = False,
    no_truncate: Annotated[
        bool, typer.Option("--no-truncate", help="Fail on prompts longer than the context.")
    ] = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
    judge: JudgeOption = None,
    rubric: RubricOption = None,
    concurrency: ConcurrencyOption = None,
    base_url: BaseUrlOption = None,
    retry_errors: Annotated[
        str | None, typer.Option(help="Generate again the failed examples of this run id.")
    ] = None,
    db: DbOption = None,
    plugin: PluginOption = None,
) -> None:
    """Run a model over a test set, score it, and store the run."""
    from assay.metrics import parse_metric_names
    from assay.runner import evaluate

    import_plugins(plugin)
    judge_options = judge_metric_options(judge, rubric, concurrency, base_url)
    batch_size = concurrency or batch_size
    if retry_errors is not None:
        from assay.retry import retry_errors as retry

        run = retry(
            retry_errors,
            store=db,
            model_options=ModelOptions(batch_size=batch_size),
            metric_options=judge_options,
        )
        render.run_summary(console, run, store_url(db))
        return
    model, data = required_model_and_data(model, data, base_url)
    options = EvalOptions(
        metrics=tuple(parse_metric_names(metrics)),
        metric_options=judge_options,
        data=DataOptions(split, input_field, reference_field, id_field, limit, sample, seed),
        prompt=PromptConfig(
            format=prompt_format,  # type: ignore[arg-type]
            template=load_template(template) if template is not None else None,
            system=system,
        ),
        generation=GenerationParams(
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_p=top_p,
            stop=tuple(stop or ()),
            seed=seed,
            truncate=not no_truncate,
        ),
        model=ModelOptions(dtype=dtype, adapter=adapter, batch_size=batch_size, device=device),
        name=name,
        use_cache=not no_cache,
        progress=not no_progress,
    )
    run = evaluate(model, data, options=options, store=db)
    render.run_summary(console, run, store_url(db))


@app.command("runs")
@user_errors
def runs_command(db: DbOption = None) -> None:
    """List every stored run: id, name, model, data, n, headline metrics, date."""
    from assay.store import open_store

    with open_store(db) as store:
        render.runs_table(console, store.list_runs())


@app.command("show")
@user_errors
def show_command(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    failures: Annotated[bool, typer.Option(help="Only examples that failed a metric.")] = False,
    limit: Annotated[int | None, typer.Option(help="Show at most N examples.")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table, csv or jsonl.")] = "table",
    db: DbOption = None,
) -> None:
    """Show a run example by example: input, reference, prediction, scores."""
    from assay.store import open_store

    with open_store(db) as store:
        run = store.load_run(run_id)
    frame = render.examples_frame(run, failures_only=failures, limit=limit)
    render.examples(console, run, frame, output_format)


@app.command("export")
@user_errors
def export_command(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="File to write: .parquet, .csv or .jsonl.")
    ],
    db: DbOption = None,
) -> None:
    """Write a run's examples and scores to a Parquet, CSV or JSONL file."""
    from assay.store import open_store

    with open_store(db) as store:
        path = store.load_run(run_id).export(output)
    console.print(f"wrote {render.escape(str(path))}")


@app.command("score")
@user_errors
def score_command(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    metrics: Annotated[str, typer.Option(help="Comma-separated metric names.")],
    judge: JudgeOption = None,
    rubric: RubricOption = None,
    concurrency: ConcurrencyOption = None,
    base_url: BaseUrlOption = None,
    db: DbOption = None,
    plugin: PluginOption = None,
) -> None:
    """Score a stored run's predictions again, without generating."""
    from assay.metrics import parse_metric_names
    from assay.scoring import rescore

    import_plugins(plugin)
    options = judge_metric_options(judge, rubric, concurrency, base_url)
    run = rescore(run_id, parse_metric_names(metrics), store=db, metric_options=options)
    render.run_summary(console, run, store_url(db))


@app.command("models")
def models_command() -> None:
    """List the bundled model aliases and the backend spec forms."""
    render.models_table(console)


@app.command("metrics")
@user_errors
def metrics_command(plugin: PluginOption = None) -> None:
    """List the registered metrics."""
    import_plugins(plugin)
    render.metrics_table(console)


def _register_areas() -> None:
    for module in pkgutil.iter_modules(commands.__path__):
        if module.name != "common":
            importlib.import_module(f"assay.commands.{module.name}").register(app)


_register_areas()


def main() -> None:
    app()


if __name__ == "__main__":
    main()

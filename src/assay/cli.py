"""The `assay` command: parses flags, calls the library, prints the result.

User mistakes (AssayError) are printed as one line without a traceback and
exit with status 1; an interrupted run says how to resume and exits with 130.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from assay import render
from assay.data.prompts import PromptConfig, load_template
from assay.errors import AssayError
from assay.models.base import GenerationParams, ModelOptions
from assay.runner import DataOptions, EvalOptions

app = typer.Typer(
    help="Evaluate fine-tuned language models on your own test set, and iterate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True, soft_wrap=True)  # one line per message, whatever the width

F = TypeVar("F", bound=Callable[..., Any])

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Store URL or SQLite file (default .assay/assay.db or $ASSAY_DB)."),
]
PluginOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--plugin", help="A Python file to import first, e.g. one that registers metrics."
    ),
]


def user_errors(command: F) -> F:
    """Turn AssayError into a one-line message and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except AssayError as error:
            errors.print(f"[bold red]error:[/] {render.escape(str(error))}")
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            errors.print(
                "[yellow]interrupted:[/] every finished example is stored; "
                "run the same command again to resume."
            )
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


@app.command("eval")
@user_errors
def eval_command(
    model: Annotated[
        str, typer.Option("--model", "-m", help="Alias, hf:<id|dir>, gguf:<file> or replay:<file>.")
    ],
    data: Annotated[
        str,
        typer.Option("--data", "-d", help="JSONL/JSON/CSV/Parquet file, dataset folder or hub id."),
    ],
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
    db: DbOption = None,
    plugin: PluginOption = None,
) -> None:
    """Run a model over a test set, score it, and store the run."""
    from assay.metrics import parse_metric_names
    from assay.runner import evaluate

    _import_plugins(plugin)
    options = EvalOptions(
        metrics=tuple(parse_metric_names(metrics)),
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
    render.run_summary(console, run, _store_url(db))


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
    db: DbOption = None,
    plugin: PluginOption = None,
) -> None:
    """Score a stored run's predictions again, without generating."""
    from assay.metrics import parse_metric_names
    from assay.scoring import rescore

    _import_plugins(plugin)
    run = rescore(run_id, parse_metric_names(metrics), store=db)
    render.run_summary(console, run, _store_url(db))


@app.command("models")
def models_command() -> None:
    """List the bundled model aliases and the backend spec forms."""
    render.models_table(console)


@app.command("metrics")
def metrics_command(plugin: PluginOption = None) -> None:
    """List the registered metrics."""
    _import_plugins(plugin)
    render.metrics_table(console)


def _store_url(db: str | None) -> str:
    from assay.store import resolve_url

    return resolve_url(db)


def _import_plugins(paths: list[Path] | None) -> None:
    """Import user files so that their @assay.metric registrations take effect."""
    for path in paths or []:
        if not path.is_file():
            raise AssayError(f"--plugin {path}: no such file")
        spec = importlib.util.spec_from_file_location(f"assay_plugin_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise AssayError(f"--plugin {path}: not an importable Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)


def main() -> None:
    app()


if __name__ == "__main__":
    main()

"""`assay eval` (run a model over a test set) and `assay score` (score a stored run again)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assay.charts import check_plot_path
from assay.cli.common import (
    CompileOption,
    DbOption,
    DtypeOption,
    PluginOption,
    QuantizeOption,
    console,
    exit_if_incomplete,
    import_plugins,
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
from assay.cli.judging import (
    BaseUrlOption,
    ConcurrencyOption,
    JudgeOption,
    RubricOption,
    metric_specs,
    required_model_and_data,
)
from assay.data.prompts import DEFAULT_THINKING, PromptConfig, load_template
from assay.evaluation.choices import ChoiceOptions, parse_choices
from assay.evaluation.evaluate import DataOptions, EvalOptions
from assay.exceptions import OptionError
from assay.metrics.registry import MetricSpec
from assay.models.base import GenerationParams, ModelOptions
from assay.runs.records import Run
from assay.terminal import runs as render
from assay.terminal.text import escape


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
    app.command("score")(score_command)


@user_errors
def eval_command(
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Alias, hf:ID|DIR, gguf:FILE, replay:FILE or openai:NAME[@URL].",
        ),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", "-d", help="JSONL/JSON/CSV/Parquet file, dataset folder or hub id."),
    ] = None,
    metrics: Annotated[
        str | None,
        typer.Option(help="Comma-separated metric names (default exact_match,f1)."),
    ] = None,
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
    thinking: Annotated[
        tuple[str, str] | None,
        typer.Option(
            help="A reasoning model's thinking markers, OPEN CLOSE (by default the think tags): "
            "the thinking is kept in the prediction and left out of scoring."
        ),
    ] = None,
    prompt_format: Annotated[
        str, typer.Option(help="auto, chat (model's chat template) or raw.")
    ] = "auto",
    max_new_tokens: Annotated[int, typer.Option(help="Most tokens generated per example.")] = 128,
    temperature: Annotated[float, typer.Option(help="0 for greedy decoding.")] = 0.0,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling mass when sampling.")] = 1.0,
    stop: Annotated[list[str] | None, typer.Option(help="A stop string (repeatable).")] = None,
    batch_size: Annotated[int, typer.Option(help="Sequences in flight at once.")] = 32,
    dtype: DtypeOption = "auto",
    quantize: QuantizeOption = None,
    compile_decode: CompileOption = False,
    adapter: Annotated[Path | None, typer.Option(help="A LoRA adapter folder (peft).")] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda or auto.")] = "auto",
    name: Annotated[str | None, typer.Option(help="A name for the run.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="A tag for the run (repeatable).")] = None,
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
    json_schema: JsonSchemaOption = None,
    retry_errors: Annotated[
        str | None, typer.Option(help="Generate again the failed examples of this run id.")
    ] = None,
    choices: Annotated[
        str | None,
        typer.Option(
            help="Classify instead of generating: comma-separated labels, each scored by "
            "log-likelihood as the prompt's continuation; reports accuracy, macro-F1 and a "
            "confusion matrix."
        ),
    ] = None,
    choices_field: Annotated[
        str | None,
        typer.Option(help="Classify with each row's own labels, read from this field (a list)."),
    ] = None,
    confusion: Annotated[
        Path | None,
        typer.Option(
            help="With --choices: write the confusion matrix as an image (.png, .svg or .pdf)."
        ),
    ] = None,
    executor: ExecutorOption = "local",
    replicas: ReplicasOption = None,
    ray_address: RayAddressOption = None,
    gpus_per_replica: GpusPerReplicaOption = None,
    cpus_per_replica: CpusPerReplicaOption = None,
    db: DbOption = None,
    plugin: PluginOption = None,
) -> None:
    """Run a model over a test set, score it, and store the run.

    Exit status 5 when some examples failed (a server that refused, say): they are
    stored with their error but not scored, and the same command (or
    --retry-errors RUN) generates them again.
    """
    from assay.evaluation.evaluate import evaluate
    from assay.metrics import parse_metric_names

    import_plugins(plugin)
    metrics_given = metrics is not None
    classes = _choice_options(choices, choices_field, confusion, metrics_given)
    names = parse_metric_names(metrics or "exact_match,f1")
    specs = with_schema(metric_specs(names, judge, rubric, concurrency, base_url), json_schema)
    batch_size = concurrency or batch_size
    ray = executor_options(executor, replicas, ray_address, gpus_per_replica, cpus_per_replica)
    if retry_errors is not None:
        if ray is not None:
            raise OptionError("executor", "ray does not apply to --retry-errors (it runs here)")
        from assay.evaluation.retry import retry_errors as retry

        run = retry(
            retry_errors,
            store=db,
            model_options=ModelOptions(batch_size=batch_size),
            metrics=specs if metrics_given else None,
        )
        render.run_summary(console, run, store_url(db))
        exit_if_incomplete(run)
        return
    model, data = required_model_and_data(model, data, base_url)
    options = EvalOptions(
        metrics=tuple(specs),
        data=DataOptions(split, input_field, reference_field, id_field, limit, sample, seed),
        prompt=PromptConfig(
            format=prompt_format,  # type: ignore[arg-type]
            template=load_template(template) if template is not None else None,
            system=system,
            thinking=thinking or DEFAULT_THINKING,
        ),
        generation=GenerationParams(
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_p=top_p,
            stop=tuple(stop or ()),
            seed=seed,
            truncate=not no_truncate,
        ),
        model=ModelOptions(
            dtype=dtype,
            adapter=adapter,
            batch_size=batch_size,
            device=device,
            quantize=quantize,
            compile=compile_decode,
        ),
        name=name,
        tags=tuple(tag or ()),
        use_cache=not no_cache,
        progress=not no_progress,
        executor=ray,
        choices=classes,
    )
    run = evaluate(model, data, options=options, store=db)
    render.run_summary(console, run, store_url(db))
    if classes is not None:
        _show_confusion(run, confusion)
    exit_if_incomplete(run)


JsonSchemaOption = Annotated[
    Path | None,
    typer.Option(help="A JSON Schema file for the json_schema metric (else each row's 'schema')."),
]


def with_schema(specs: list[MetricSpec], schema: Path | None) -> list[MetricSpec]:
    """The metrics, the json_schema metric given the run's schema file when there is one.

    Raises:
        OptionError: A schema is given but json_schema is not among the metrics.
    """
    if schema is None:
        return specs
    if not any(spec.name == "json_schema" for spec in specs):
        raise OptionError(
            "json_schema", "sets the json_schema metric's schema: add json_schema to --metrics"
        )
    return [
        MetricSpec(spec.name, {**spec.options, "schema": schema})
        if spec.name == "json_schema"
        else spec
        for spec in specs
    ]


def _choice_options(
    labels: str | None, field: str | None, image: Path | None, metrics_given: bool
) -> ChoiceOptions | None:
    """The classification asked for by --choices / --choices-field, checked before any work."""
    if labels is None and field is None:
        if image is not None:
            raise OptionError("confusion", "applies only with --choices or --choices-field")
        return None
    if metrics_given:
        raise OptionError(
            "metrics",
            "does not apply with --choices: a classification reports accuracy and macro_f1",
        )
    if image is not None:
        check_plot_path(image, "confusion")
    return ChoiceOptions(labels=parse_choices(labels) if labels else (), field=field)


def _show_confusion(run: Run, image: Path | None) -> None:
    from assay.evaluation.choices import confusion, plot_confusion
    from assay.terminal.confusion import confusion_table

    matrix = confusion(run.results)
    confusion_table(console, matrix)
    if image is not None:
        plot_confusion(image, matrix, title=f"{run.info.model_spec} (run {run.info.id})")
        console.print(f"wrote {escape(str(image))}")


@user_errors
def score_command(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    metrics: Annotated[str, typer.Option(help="Comma-separated metric names.")],
    judge: JudgeOption = None,
    rubric: RubricOption = None,
    concurrency: ConcurrencyOption = None,
    base_url: BaseUrlOption = None,
    json_schema: JsonSchemaOption = None,
    db: DbOption = None,
    plugin: PluginOption = None,
) -> None:
    """Score a stored run's outputs again with these metrics, without generating anything.

    Failed generations stay unscored; the run keeps its status.
    """
    from assay.metrics import parse_metric_names
    from assay.scoring import rescore

    import_plugins(plugin)
    names = parse_metric_names(metrics)
    specs = with_schema(metric_specs(names, judge, rubric, concurrency, base_url), json_schema)
    run = rescore(run_id, specs, store=db)
    render.score_summary(console, run, names, store_url(db))

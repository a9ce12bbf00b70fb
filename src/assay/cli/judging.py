"""Commands for serving models and judging them (serve, arena, ratings), and the judge and
remote-model options that `eval` and `score` share."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from assay.cli.common import (
    CompileOption,
    DbOption,
    DtypeOption,
    ForceOption,
    QuantizeOption,
    console,
    output_file,
    user_errors,
)
from assay.exceptions import AssayError, OptionError
from assay.metrics import MetricSpec
from assay.terminal import arena as arena_view
from assay.terminal.text import escape

if TYPE_CHECKING:
    from assay.arena import Ratings


JudgeOption = Annotated[
    str | None, typer.Option(help="Judge model spec for the judge metric, e.g. openai:gpt-4o-mini.")
]
RubricOption = Annotated[
    str | None, typer.Option(help="Rubric file (.txt/.md) or text for the judge metric.")
]
ConcurrencyOption = Annotated[
    int | None, typer.Option(help="Concurrent requests to an openai: model or judge.")
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(help="Base URL of an OpenAI-compatible server (default $OPENAI_BASE_URL)."),
]


def metric_specs(
    names: list[str],
    judge: str | None,
    rubric: str | None,
    concurrency: int | None,
    base_url: str | None,
) -> list[MetricSpec]:
    """The metrics asked for, the judge metric with the judge flags that were given.

    Raises:
        OptionError: A judge flag is given but the judge metric is not asked for.
    """
    options: dict[str, Any] = {}
    for option, value in (
        ("judge", judge),
        ("rubric", rubric),
        ("concurrency", concurrency),
        ("base_url", base_url),
    ):
        if value is not None:
            options[option] = value
    given = [o for o in options if o != "base_url"]
    if given and "judge" not in names:
        raise OptionError(given[0], "sets up the judge metric: add judge to --metrics")
    return [MetricSpec(name, options if name == "judge" else {}) for name in names]


def required_model_and_data(
    model: str | None, data: str | None, base_url: str | None
) -> tuple[str, str]:
    """--model and --data (both needed unless --retry-errors); --base-url joins an openai: spec."""
    if model is None or data is None:
        raise AssayError("eval needs --model and --data (or --retry-errors RUN_ID)")
    if base_url and model.startswith("openai:") and "@" not in model:
        model = f"{model}@{base_url}"
    return model, data


def register(app: typer.Typer) -> None:
    app.command("serve")(user_errors(serve_command))
    app.command("arena")(user_errors(arena_command))
    app.command("ratings")(user_errors(ratings_command))


def serve_command(
    model: Annotated[str, typer.Argument(help="Any model spec: alias, hf:, gguf:, openai:.")],
    host: Annotated[
        str, typer.Option(help="Interface to listen on (beyond loopback needs --token).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (1-65535).")] = 8000,
    name: Annotated[str | None, typer.Option(help="Model id clients use (default: spec).")] = None,
    batch_size: Annotated[int, typer.Option(help="Sequences generated together.")] = 32,
    dtype: DtypeOption = "auto",
    quantize: QuantizeOption = None,
    compile_decode: CompileOption = False,
    token: Annotated[
        str | None,
        typer.Option(
            help="Require this bearer token (the client's API key) on every request; "
            "default $ASSAY_SERVE_TOKEN."
        ),
    ] = None,
    max_queue: Annotated[
        int, typer.Option(help="Most requests waiting to start; more get 503.")
    ] = 256,
    queue_timeout: Annotated[
        float, typer.Option(help="Seconds a request may wait to start before a 503.")
    ] = 600.0,
    default_max_tokens: Annotated[
        int, typer.Option(help="Tokens generated when a request does not say.")
    ] = 256,
) -> None:
    """Serve a model as an OpenAI-compatible API (/v1/chat/completions, /v1/completions)."""
    import os

    from assay.models.base import ModelOptions
    from assay.models.registry import load_model
    from assay.serve import ServeOptions, serve
    from assay.serve.security import TOKEN_ENV, check_bind, check_port

    check_port(port)
    options = ServeOptions(
        name=name,
        token=token or os.environ.get(TOKEN_ENV) or None,
        batch_size=batch_size,
        max_queue=max_queue,
        queue_timeout=queue_timeout,
        default_max_tokens=default_max_tokens,
    )
    check_bind(host, options.token)
    model_options = ModelOptions(
        batch_size=batch_size, dtype=dtype, quantize=quantize, compile=compile_decode
    )
    loaded = load_model(model, model_options)
    shown = f"[{host}]" if ":" in host else host
    console.print(f"serving {escape(model)} at http://{escape(shown)}:{port}/v1")
    serve(loaded, host=host, port=port, options=options)


def arena_command(
    runs: Annotated[
        list[str] | None, typer.Argument(help="Run ids to judge against each other.")
    ] = None,
    judge: Annotated[
        str, typer.Option(help="Judge model spec, e.g. openai:gpt-4o-mini[@URL].")
    ] = "smollm2-135m-instruct",
    battles: Annotated[
        Path | None, typer.Option(help="Rate battles from a file (model_a, model_b, winner).")
    ] = None,
    save: Annotated[bool, typer.Option(help="Store the battles read with --battles.")] = False,
    base_url: Annotated[str | None, typer.Option(help="Base URL for an openai: judge.")] = None,
    concurrency: Annotated[int, typer.Option(help="Concurrent judge requests.")] = 8,
    rounds: Annotated[int, typer.Option(help="Bootstrap rounds for the intervals.")] = 1000,
    plot: Annotated[
        Path | None, typer.Option(help="Write a picture of the ratings (.png, .svg, .pdf).")
    ] = None,
    force: ForceOption = False,
    allow_incomplete: Annotated[
        bool,
        typer.Option(
            "--allow-incomplete",
            help="Judge runs that are not complete (failed examples left out).",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Judge battles between runs on shared examples, or rate battles from a file."""
    from assay.arena import compute_ratings, frame_to_battles, read_battles_file, save_battles

    output_file(plot, "plot", force, plot=True)
    from assay.arena.judged import judge_runs
    from assay.judge import Judge
    from assay.store import open_store

    if battles is not None:
        frame = read_battles_file(battles)
        if save:
            with open_store(db) as store:
                save_battles(store, frame_to_battles(frame, decided_by=str(battles)))
        _show(compute_ratings(frame, rounds=rounds), plot)
        return
    if not runs or len(runs) < 2:
        raise OptionError("runs", "must name two or more runs (or give --battles FILE)")
    grader = Judge.load(judge, concurrency=concurrency, base_url=base_url)
    with open_store(db, create=False) as store:
        report = judge_runs(store, runs, grader, allow_incomplete=allow_incomplete)
    arena_view.judging(console, report)
    if not report.battles:
        raise AssayError(
            "no battles to rate"
            + (" or plot" if plot is not None else "")
            + ": every verdict was unparsable"
        )
    _show(compute_ratings(report.battles, rounds=rounds), plot)


def ratings_command(
    source: Annotated[
        str | None, typer.Option(help="Only battles from: judge, human or import.")
    ] = None,
    rounds: Annotated[int, typer.Option(help="Bootstrap rounds for the intervals.")] = 1000,
    plot: Annotated[
        Path | None, typer.Option(help="Write a picture of the ratings (.png, .svg, .pdf).")
    ] = None,
    force: ForceOption = False,
    db: DbOption = None,
) -> None:
    """The leaderboard from every battle in the store."""
    from assay.arena import compute_ratings, load_battles

    output_file(plot, "plot", force, plot=True)
    from assay.arena.battles import SOURCES
    from assay.store import open_store

    if source is not None and source not in SOURCES:
        raise OptionError("source", f"{source!r} is not one of: {', '.join(SOURCES)}")
    with open_store(db, read_only=True) as store:
        stored = load_battles(store, source)  # type: ignore[arg-type]
    if not stored:
        raise AssayError("no battles in the store yet; run `assay arena RUN_A RUN_B ...` first")
    _show(compute_ratings(stored, rounds=rounds), plot)


def _show(ratings: Ratings, plot: Path | None) -> None:
    arena_view.ratings_table(console, ratings)
    if plot is not None:
        from assay.arena.plot import plot_ratings

        console.print(f"wrote {escape(str(plot_ratings(ratings, plot)))}")

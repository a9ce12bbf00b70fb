"""Commands for serving models and judging them (serve, arena, ratings), and the judge and
remote-model options that `eval` and `score` share."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from assay.commands.common import DbOption, console, user_errors
from assay.errors import AssayError
from assay.render import escape

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


def judge_metric_options(
    judge: str | None, rubric: str | None, concurrency: int | None, base_url: str | None
) -> dict[str, dict[str, Any]]:
    """metric_options for the judge metric from the flags that were given."""
    options: dict[str, Any] = {}
    if judge is not None:
        options["judge"] = judge
    if rubric is not None:
        options["rubric"] = rubric
    if concurrency is not None:
        options["concurrency"] = concurrency
    if base_url is not None:
        options["base_url"] = base_url
    return {"judge": options} if options else {}


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
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    name: Annotated[str | None, typer.Option(help="Model id clients use (default: spec).")] = None,
    batch_size: Annotated[int, typer.Option(help="Sequences generated together.")] = 32,
) -> None:
    """Serve a model as an OpenAI-compatible API (/v1/chat/completions, /v1/completions)."""
    from assay.models.base import ModelOptions
    from assay.models.registry import load_model
    from assay.serve import serve

    console.print(f"serving {escape(model)} at http://{host}:{port}/v1")
    serve(load_model(model, ModelOptions(batch_size=batch_size)), host=host, port=port, name=name)


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
    plot: Annotated[Path | None, typer.Option(help="Write a PNG of the ratings.")] = None,
    db: DbOption = None,
) -> None:
    """Judge battles between runs on shared examples, or rate battles from a file."""
    from assay.arena import compute_ratings, frame_to_battles, read_battles_file, save_battles
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
        raise AssayError("give two or more run ids, or --battles FILE")
    grader = Judge.load(judge, concurrency=concurrency, base_url=base_url)
    with open_store(db) as store:
        report = judge_runs(store, runs, grader)
    console.print(
        f"judge {escape(report.judge)}: {report.pairs_judged} pairs, "
        f"{len(report.battles)} battles stored, {report.unparsable} unparsable, "
        f"position consistency {report.consistency:.0%}"
    )
    if not report.reliable:
        console.print(
            "[bold yellow]warning:[/] the judge changes its verdict when the answers swap "
            "places more than 40% of the time: it is unreliable; use a stronger judge"
        )
    if report.battles:
        _show(compute_ratings(report.battles, rounds=rounds), plot)


def ratings_command(
    source: Annotated[
        str | None, typer.Option(help="Only battles from: judge, human or import.")
    ] = None,
    rounds: Annotated[int, typer.Option(help="Bootstrap rounds for the intervals.")] = 1000,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG of the ratings.")] = None,
    db: DbOption = None,
) -> None:
    """The leaderboard from every battle in the store."""
    from assay.arena import compute_ratings, load_battles
    from assay.arena.battles import SOURCES
    from assay.store import open_store

    if source is not None and source not in SOURCES:
        raise AssayError(f"--source {source}: use one of {', '.join(SOURCES)}")
    with open_store(db) as store:
        stored = load_battles(store, source)  # type: ignore[arg-type]
    if not stored:
        raise AssayError("no battles in the store yet; run `assay arena RUN_A RUN_B ...` first")
    _show(compute_ratings(stored, rounds=rounds), plot)


def _show(ratings: Ratings, plot: Path | None) -> None:
    from rich.table import Table

    table = Table(title=f"{ratings.n_battles} battles, 95% intervals from {ratings.rounds} rounds")
    for column in ("rank", "model", "rating", "95% CI", "online Elo", "battles"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for i, model in enumerate(ratings.models):
        elo = ratings.elo[i]
        table.add_row(
            str(ratings.rank[i]),
            escape(model),
            f"{ratings.rating[i]:.0f}",
            f"{ratings.ci_low[i] - ratings.rating[i]:+.0f} / {ratings.ci_high[i] - ratings.rating[i]:+.0f}",
            "" if math.isnan(elo) else f"{elo:.0f}",
            str(ratings.battles[i]),
        )
    console.print(table)
    if plot is not None:
        from assay.arena.plot import plot_ratings

        console.print(f"wrote {escape(str(plot_ratings(ratings, plot)))}")

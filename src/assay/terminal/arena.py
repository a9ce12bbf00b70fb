"""What `assay arena` and `assay ratings` print: how the judging went, and the ratings."""

from __future__ import annotations

import math

from rich import box
from rich.console import Console
from rich.table import Table

from assay.arena import Ratings
from assay.arena.judged import ArenaReport
from assay.terminal.text import escape


def judging(console: Console, report: ArenaReport) -> None:
    """Pairs judged, battles stored, unparsable pairs, and the position consistency; a
    warning when the judge is not to be trusted, saying why."""
    consistency = (
        f"position consistency {report.consistency:.0%} of {report.readable} readable"
        if report.readable
        else "no readable verdict"
    )
    console.print(
        f"judge {escape(report.judge)}: {report.pairs_judged} pairs, "
        f"{len(report.battles)} battles stored, {report.unparsable} unparsable, {consistency}"
    )
    if not report.readable:
        console.print(
            "[bold yellow]warning:[/] the judge gave no verdict that could be read in both "
            "orders: no battle was stored; use a stronger judge"
        )
    elif not report.reliable:
        console.print(
            "[bold yellow]warning:[/] the judge changes its verdict when the answers swap "
            "places more than 40% of the time: it is unreliable; use a stronger judge"
        )


def ratings_table(console: Console, ratings: Ratings) -> None:
    table = Table(
        title=f"{ratings.n_battles} battles, 95% intervals from {ratings.rounds} rounds",
        box=box.SIMPLE_HEAD,
    )
    for column in ("rank", "model", "rating", "95% CI", "online Elo", "battles"):
        table.add_column(
            column,
            justify="left" if column == "model" else "right",
            overflow="fold" if column == "model" else "ellipsis",
        )
    for i, model in enumerate(ratings.models):
        elo = ratings.elo[i]
        low, high = ratings.ci_low[i] - ratings.rating[i], ratings.ci_high[i] - ratings.rating[i]
        table.add_row(
            str(ratings.rank[i]),
            escape(model),
            f"{ratings.rating[i]:.0f}",
            f"{low:+.0f} / {high:+.0f}",
            "" if math.isnan(elo) else f"{elo:.0f}",
            str(ratings.battles[i]),
        )
    console.print(table)

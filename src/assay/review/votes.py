"""Blind pairwise review: a reviewer is shown one question and two runs' answers in
random order without the model names, votes, and the vote becomes an arena battle
(source "human"). Votes also export as preference data for DPO trainers.

Each pair shown is a *ticket* stored server-side (which run is A and which is B never
reaches the browser before the vote); a ticket takes one vote only, so a vote sent
twice, or by two clients at once, is recorded once.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import insert, select, update

from assay.arena import Battle, load_battles
from assay.arena.battles import Source, Winner, insert_battles
from assay.exceptions import AssayError, NotFoundError, OptionError
from assay.review import tables as rt
from assay.review.queries import ExampleRow, common_example_ids, predictions
from assay.review.spreadsheet import safe_csv

if TYPE_CHECKING:
    from assay.runs.records import RunInfo
    from assay.store import Store

CHOICES: dict[str, Winner] = {
    "a": "model_a",
    "b": "model_b",
    "tie": "tie",
    "bothbad": "tie (bothbad)",
}
"""What a reviewer can answer, and the battle winner it records."""

PREFERENCE_FORMATS = ("csv", "jsonl")
PREFERENCE_COLUMNS = [
    "prompt",
    "chosen",
    "rejected",
    "chosen_model",
    "rejected_model",
    "example_id",
    "reviewer",
]


@dataclass
class Ticket:
    """One blind pair shown to a reviewer.

    Attributes:
        id: Random id, the only thing the vote form carries.
        reviewer: Who it was shown to.
        example_id: The example both runs answered.
        left_run / right_run: The runs shown as answer A and answer B.
        runs: The runs the reviewer chose to compare.
        winner: The recorded vote ("model_a" = A), None until voted.
    """

    id: str
    reviewer: str
    example_id: str
    left_run: str
    right_run: str
    runs: list[str]
    winner: str | None = None


@dataclass
class VoteResult:
    """What a vote did: recorded (False when the ticket had a vote already) and the names."""

    recorded: bool
    ticket: Ticket
    model_a: str
    model_b: str


def model_name(info: RunInfo) -> str:
    """The name a run's model goes by in battles and ratings: the run's name."""
    return info.name


def new_ticket(
    store: Store,
    run_ids: Sequence[str],
    reviewer: str,
    *,
    rng: random.Random | None = None,
) -> Ticket:
    """Draw an example all the runs answered and two of the runs in random order.

    Examples this reviewer has voted on for the same pair of runs are avoided while
    others remain.

    Raises:
        AssayError: Fewer than two runs, or no example that all of them answered (an
            example whose generation failed in one of them is not shown).
    """
    runs = list(dict.fromkeys(run_ids))
    if len(runs) < 2:
        raise AssayError("blind pairwise review needs two or more different runs")
    common = common_example_ids(store, runs)
    if not common:
        raise AssayError(f"runs {', '.join(runs)} have no example in common")
    rng = rng or random.Random()
    left, right = rng.sample(runs, 2)
    seen = _voted_examples(store, reviewer, left, right)
    fresh = [e for e in common if e not in seen] or common
    example_id = rng.choice(fresh)
    ticket = Ticket(uuid.uuid4().hex, reviewer, example_id, left, right, runs)
    with store.connection(write=True) as conn:
        conn.execute(
            insert(rt.pair_tickets),
            [
                {
                    "id": ticket.id,
                    "reviewer": reviewer,
                    "example_id": example_id,
                    "left_run": left,
                    "right_run": right,
                    "runs": runs,
                    "position": 0,
                    "created_at": datetime.now(timezone.utc),
                }
            ],
        )
    return ticket


def get_ticket(store: Store, ticket_id: str) -> Ticket | None:
    c = rt.pair_tickets.c
    with store.connection() as conn:
        row = conn.execute(select(rt.pair_tickets).where(c.id == ticket_id)).first()
    if row is None:
        return None
    return Ticket(
        row.id,
        row.reviewer,
        row.example_id,
        row.left_run,
        row.right_run,
        list(row.runs),
        row.winner,
    )


def pair_answers(store: Store, ticket: Ticket) -> tuple[ExampleRow, ExampleRow]:
    """The example as answered by the left (A) and right (B) runs."""
    left = predictions(store, ticket.left_run, [ticket.example_id])
    right = predictions(store, ticket.right_run, [ticket.example_id])
    if not left or not right:
        raise AssayError(f"example '{ticket.example_id}' is missing from a run of this pair")
    return left[ticket.example_id], right[ticket.example_id]


def vote(store: Store, ticket_id: str, choice: str, reviewer: str) -> VoteResult:
    """Record a vote on a ticket as a human battle; a ticket takes one vote only.

    Raises:
        NotFoundError: Unknown ticket.
        AssayError: Unknown choice, or the ticket belongs to another reviewer.
    """
    if choice not in CHOICES:
        raise AssayError(f"vote '{choice}' is not one of: {', '.join(CHOICES)}")
    ticket = get_ticket(store, ticket_id)
    if ticket is None:
        raise NotFoundError(f"no pair '{ticket_id}' to vote on")
    if ticket.reviewer != reviewer:
        raise AssayError("this pair was shown to another reviewer")
    winner = CHOICES[choice]
    names = _names(store, ticket)
    battle = Battle(
        model_a=names[0],
        model_b=names[1],
        winner=winner,
        source="human",
        decided_by=reviewer,
        run_a=ticket.left_run,
        run_b=ticket.right_run,
        example_id=ticket.example_id,
        detail={"ticket": ticket.id},
    )
    c = rt.pair_tickets.c
    with store.connection(write=True) as conn:  # the ticket and its battle commit together
        done = conn.execute(
            update(rt.pair_tickets)
            .where(c.id == ticket_id, c.winner.is_(None))
            .values(winner=winner, voted_at=datetime.now(timezone.utc))
        )
        recorded = done.rowcount == 1
        if recorded:
            insert_battles(conn, [battle])
    if recorded:
        ticket.winner = winner
    else:
        ticket = get_ticket(store, ticket_id) or ticket
    return VoteResult(recorded, ticket, names[0], names[1])


@dataclass(frozen=True)
class Preference:
    """One pairwise preference in the format DPO trainers take."""

    prompt: str
    chosen: str
    rejected: str
    chosen_model: str
    rejected_model: str
    example_id: str
    reviewer: str | None


def preferences(store: Store, *, source: Source | None = "human") -> list[Preference]:
    """Battles with a winner (ties skipped) that came from stored runs, as (prompt,
    chosen, rejected); the prompt is the example's input (the question). A battle where
    either generation failed is skipped: an empty output is no answer to prefer."""
    battles = [
        b
        for b in load_battles(store, source)
        if b.winner in ("model_a", "model_b") and b.run_a and b.run_b and b.example_id
    ]
    needed: dict[str, set[str]] = {}
    for b in battles:
        for run in (b.run_a, b.run_b):
            needed.setdefault(str(run), set()).add(str(b.example_id))
    texts = {run: predictions(store, run, sorted(ids)) for run, ids in needed.items()}
    found: list[Preference] = []
    for b in battles:
        a = texts[str(b.run_a)].get(str(b.example_id))
        other = texts[str(b.run_b)].get(str(b.example_id))
        if a is None or other is None or "error" in (a.finish_reason, other.finish_reason):
            continue
        won, lost = (a, other) if b.winner == "model_a" else (other, a)
        names = (b.model_a, b.model_b) if b.winner == "model_a" else (b.model_b, b.model_a)
        found.append(
            Preference(
                a.input,
                won.prediction,
                lost.prediction,
                names[0],
                names[1],
                a.example_id,
                b.decided_by,
            )
        )
    return found


def preferences_jsonl(prefs: Sequence[Preference]) -> str:
    """One JSON object per line: prompt, chosen, rejected (and where they came from)."""
    return "".join(json.dumps(asdict(p), ensure_ascii=False) + "\n" for p in prefs)


def preferences_text(prefs: Sequence[Preference], fmt: str) -> str:
    """Preferences as JSONL (the text as stored) or CSV (cells a spreadsheet would run
    as formulas neutralised, see spreadsheet.py).

    Raises:
        OptionError: `fmt` is not csv or jsonl.
    """
    if fmt == "jsonl":
        return preferences_jsonl(prefs)
    if fmt == "csv":
        return safe_csv(pd.DataFrame([asdict(p) for p in prefs], columns=PREFERENCE_COLUMNS))
    raise OptionError("format", f"of preferences is csv or jsonl, not {fmt!r}")


def export_preferences(store: Store, path: str | Path, *, source: Source | None = "human") -> Path:
    """Write pairwise votes as DPO preference data: .jsonl (what trainers read) or .csv.

    Raises:
        OptionError: The file's extension is neither.
        AssayError: The file cannot be written.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in PREFERENCE_FORMATS:
        raise OptionError("path", f"{path}: preferences are written to a .jsonl or .csv file")
    text = preferences_text(preferences(store, source=source), fmt)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise AssayError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def _names(store: Store, ticket: Ticket) -> tuple[str, str]:
    return (
        model_name(store.get_run_info(ticket.left_run)),
        model_name(store.get_run_info(ticket.right_run)),
    )


def _voted_examples(store: Store, reviewer: str, left: str, right: str) -> set[str]:
    c = rt.pair_tickets.c
    query = select(c.example_id).where(
        c.reviewer == reviewer,
        c.winner.is_not(None),
        ((c.left_run == left) & (c.right_run == right))
        | ((c.left_run == right) & (c.right_run == left)),
    )
    with store.connection() as conn:
        return {str(x) for x in conn.scalars(query)}

"""Examples as readable cards, for the report and the card: the question, the
reference, each run's answer (words not in the reference marked), its scores and
error categories, and the outcome (fixed, broken, ...) that the filters act on.

Everything here is plain text; the templates escape it (model text is never marked
safe) and the filters read data attributes, never the text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from assay.data.dialogue import Dialogue
from assay.review.diff import Piece, diff_pieces
from assay.runs.records import ExampleResult, Run
from assay.scoring import example_of

MAX_CARDS = 2000
"""Most example cards on one page (the file stays quick to open); the page says when
more were left out."""

OUTCOME_LABELS = {
    "fixed": "fixed",
    "broken": "broken",
    "both_wrong": "both wrong",
    "both_right": "both right",
}


@dataclass(frozen=True)
class AnswerView:
    """One run's answer to one example."""

    run: str
    prediction: str
    failed: bool
    error: str
    scores: list[tuple[str, float | None]]
    categories: list[str]
    pieces: list[Piece]


@dataclass(frozen=True)
class TurnView:
    """One turn of a conversation as a card shows it: who speaks, and what."""

    role: str
    speaker: str
    text: str


@dataclass(frozen=True)
class ExampleView:
    """One example card.

    Attributes:
        id / input / reference: The example.
        turns: A conversation or tool row's tools and turns, one block each (the card
            shows these instead of the input's transcript); empty for a plain question.
        answers: Each run's answer, in run order.
        outcome: "fixed", "broken", "both_wrong", "both_right", or "" (no pair).
        categories: Every category any answer has (what the category filter matches).
        reference_before: The reference in the first run, when a later run's differs.
    """

    id: str
    input: str
    reference: str
    answers: list[AnswerView]
    outcome: str = ""
    categories: list[str] = field(default_factory=list)
    reference_before: str | None = None
    turns: list[TurnView] = field(default_factory=list)

    @property
    def filter_categories(self) -> str:
        """The categories as the filters read them: "|a|b|"."""
        return "|" + "|".join(self.categories) + "|"


def answer_view(
    run_name: str,
    result: ExampleResult | None,
    metrics: Sequence[str],
    categories: Sequence[str] = (),
) -> AnswerView:
    """A run's answer card; an example the run lacks shows as missing."""
    if result is None:
        return AnswerView(run_name, "", True, "not in this run", [], [], [])
    scores: list[tuple[str, float | None]] = []
    for metric in metrics:
        score = result.scores.get(metric)
        if score is not None:  # NaN (a judge reply it could not read) shows as "–"
            scores.append((metric, None if math.isnan(score.value) else score.value))
    pieces = [] if result.failed else diff_pieces(result.reference or "", result.prediction)[1]
    return AnswerView(
        run=run_name,
        prediction=result.prediction,
        failed=result.failed,
        error=(result.error or "no output") if result.failed else "",
        scores=scores,
        categories=list(categories),
        pieces=pieces,
    )


def example_views(
    runs: Sequence[Run],
    metrics: Sequence[str],
    *,
    outcomes: Mapping[str, str] | None = None,
    categories: Sequence[Mapping[str, Sequence[str]]] | None = None,
    limit: int = MAX_CARDS,
) -> tuple[list[ExampleView], int]:
    """The first run's examples (up to ``limit``) with every run's answer.

    Args:
        runs: The runs, the first one's examples in its order.
        metrics: Score names shown on each answer.
        outcomes: Example id -> outcome, when the runs were compared.
        categories: Per run, example id -> its error categories.
        limit: Most cards.

    Returns:
        The cards and how many examples the first run has.
    """
    first = runs[0]
    lookups = [{r.example_id: r for r in run.results} for run in runs]
    views = []
    for result in first.results[:limit]:
        answers = []
        found: list[str] = []
        for index, (run, lookup) in enumerate(zip(runs, lookups, strict=True)):
            theirs = lookup.get(result.example_id)
            names = list(categories[index].get(result.example_id, ())) if categories else []
            found += names
            answers.append(answer_view(run.name, theirs, metrics, names))
        later = [lookup.get(result.example_id) for lookup in lookups[1:]]
        changed = next(
            (
                r.reference
                for r in later
                if r is not None and (r.reference or "") != (result.reference or "")
            ),
            None,
        )
        views.append(
            ExampleView(
                id=result.example_id,
                input=result.input,
                reference=(changed if changed is not None else result.reference) or "",
                answers=answers,
                outcome=(outcomes or {}).get(result.example_id, ""),
                categories=list(dict.fromkeys(found)),
                reference_before=result.reference if changed is not None else None,
                turns=turn_views(example_of(result, first.info).dialogue),
            )
        )
    return views, len(first.results)


def turn_views(dialogue: Dialogue | None) -> list[TurnView]:
    """A dialogue's blocks: its tools on one line, then each turn with its speaker."""
    if dialogue is None:
        return []
    views = []
    if dialogue.tools:
        signatures = ", ".join(tool.signature() for tool in dialogue.tools)
        views.append(TurnView("tools", "Tools", signatures))
    views += [TurnView(turn.role, turn.speaker, turn.body) for turn in dialogue.turns]
    return views

"""The card: a base model against one or more fine-tunes on one page.

The task (every metric with intervals, paired differences and tests, the examples
fixed and broken), the errors before and after, the benchmarks per task with a
paired McNemar on the same questions and one sentence on general ability, judge
and human verdicts, slices, and the training curve when there is one.

    card = build_card(store, "base", ["ft-v1"], by="topic")
    write_card(card, "card.html")          # or `assay card base ft-v1 -o card.html`
"""

from __future__ import annotations

from assay.card.build import build_card
from assay.card.html import card_html, write_card
from assay.card.matching import Refusal
from assay.card.records import (
    BenchSection,
    BenchTask,
    Card,
    Curve,
    CurvePoint,
    ErrorShift,
    HeadToHead,
    ReferenceChange,
    TaskSection,
    TunedCard,
)

__all__ = [
    "BenchSection",
    "BenchTask",
    "Card",
    "Curve",
    "CurvePoint",
    "ErrorShift",
    "HeadToHead",
    "ReferenceChange",
    "Refusal",
    "TaskSection",
    "TunedCard",
    "build_card",
    "card_html",
    "write_card",
]

"""Generative tasks: the model writes an answer, the task extracts and grades it.

A generative task (the harness's `output_type: generate_until`) builds its
prompt like any other task (description, few-shot examples, the question), then
the model generates greedily until one of the task's stop strings or its token
budget. The task grades the text: it extracts answers with its filters
(extraction.py) and compares each with the reference, or (IFEval) checks the
text against the row's instructions. What it returns is a :class:`Graded`:
per-question scores, the extracted answers (stored, so a reader sees what was
compared), and for metrics the harness averages over items rather than
questions (IFEval's instruction-level accuracy) the per-item values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from assay.bench.data import Doc
from assay.bench.extraction import ExactMatch, RegexExtract, cut_at_stops
from assay.bench.tasks import Task
from assay.models.base import GenerationParams

HARNESS_MAX_GEN_TOKS = 256
"""The harness's default token budget for a generation (HFLM's max_gen_toks)."""


@dataclass(frozen=True)
class Graded:
    """A generated answer, graded.

    Attributes:
        scores: Metric -> the question's score (0 or 1 for a match; a fraction for
            IFEval's instruction-level accuracy).
        extracted: Filter name -> the answer it extracted ("[invalid]" when none).
        items: Metric -> per-item values, for metrics the harness averages over items
            (every instruction of every prompt), not over questions.
    """

    scores: dict[str, float]
    extracted: dict[str, str] = field(default_factory=dict)
    items: dict[str, list[float]] = field(default_factory=dict)


class GenerativeTask(Task):
    """A task whose answers are generated; subclasses define the prompt and the grading.

    Attributes:
        until: Stop strings (the harness's generation_kwargs.until).
        max_gen_toks: Most tokens generated per question.
    """

    output_type = "generate_until"
    metrics: tuple[str, ...] = ("exact_match",)
    main_metric = "exact_match"
    until: tuple[str, ...] = ()
    max_gen_toks: int = HARNESS_MAX_GEN_TOKS

    def generation(self) -> GenerationParams:
        """Greedy decoding until a stop string or the token budget."""
        return GenerationParams(max_new_tokens=self.max_gen_toks, temperature=0.0, stop=self.until)

    def fewshot_answer(self, doc: Doc) -> str:
        """The reference answer's text (also what a few-shot example shows)."""
        raise NotImplementedError

    def doc_to_choice(self, doc: Doc) -> list[str]:
        return []

    def doc_to_target(self, doc: Doc) -> int:
        return -1

    def grade(self, doc: Doc, reference: str, text: str) -> Graded:
        """Score one generated text against its row and reference."""
        raise NotImplementedError

    def fingerprint(self) -> str:
        return json.dumps(self.generation().to_dict(), sort_keys=True)


class FilteredMatchTask(GenerativeTask):
    """Extract answers with named filters, then exact-match each against the reference.

    Attributes:
        filters: Filter name -> its extraction; one metric per filter.
        match: The exact-match settings (ignored patterns, case, punctuation).
        metric_names: Filter name -> the metric's name in assay ("exact_match_strict").
    """

    filters: Mapping[str, RegexExtract | None] = {}
    match: ExactMatch = ExactMatch()
    metric_names: Mapping[str, str] = {}

    def grade(self, doc: Doc, reference: str, text: str) -> Graded:
        text = cut_at_stops(text, self.until)
        extracted = {
            name: (extract(text) if extract is not None else text)
            for name, extract in self.filters.items()
        }
        scores = {
            self.metric_names.get(name, "exact_match"): self.match(answer, reference)
            for name, answer in extracted.items()
        }
        return Graded(scores=scores, extracted=extracted)

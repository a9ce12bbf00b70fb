"""A judge: a model that grades answers with a rubric, or compares two answers.

Both ways batch every request into one `generate` call, read the replies
robustly, ask once more (with a format reminder) where a reply cannot be read,
and record what still cannot be read as unparsable instead of failing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from assay.data.prompts import Prompt
from assay.judge import prompts as p
from assay.judge.parse import Parsed, clean, parse_pair, parse_pass_fail, parse_score
from assay.models.base import GenerationParams, Model, ModelOptions
from assay.models.fingerprint import text_digest

DEFAULT_JUDGE = "smollm2-135m-instruct"
"""The bundled offline judge: a demonstration only; real grading wants a strong model."""

Mode = Literal["score", "pass_fail"]


@dataclass(frozen=True)
class Grade:
    """One graded answer: a 1-10 score (or 1.0/0.0 pass/fail), NaN when unparsable."""

    value: float
    reason: str
    parsed: bool


@dataclass(frozen=True)
class PairItem:
    """Two answers to one question, to compare."""

    question: str
    reference: str | None
    answer_x: str
    answer_y: str
    example_id: str | None = None


@dataclass(frozen=True)
class PairVerdict:
    """The verdict on one pair, judged in both orders.

    Attributes:
        winner: "x", "y", "tie" or "unparsable"; a verdict that flips with the order is a tie.
        consistent: Both orders named the same winner (or both said tie).
        first / second: The verdicts with x shown as A, then with y shown as A
            (in terms of x and y), or "unparsable".
        reasons: The two replies' reasons.
    """

    winner: str
    consistent: bool
    first: str
    second: str
    reasons: tuple[str, str]


@dataclass
class Judge:
    """A judge model with a rubric.

    Args:
        model: The judge model (any assay Model).
        rubric: What to grade on (default: correctness and helpfulness, 1-10).
        mode: "score" (1-10) or "pass_fail".
        params: Generation parameters for the judge (greedy, short).
    """

    model: Model
    rubric: str = p.DEFAULT_RUBRIC
    mode: Mode = "score"
    params: GenerationParams = field(
        default_factory=lambda: GenerationParams(max_new_tokens=96, temperature=0.0)
    )
    unparsable: int = 0

    @classmethod
    def load(
        cls,
        spec: str = DEFAULT_JUDGE,
        *,
        rubric: str | None = None,
        mode: Mode = "score",
        max_new_tokens: int = 96,
        concurrency: int | None = None,
        base_url: str | None = None,
    ) -> Judge:
        """A judge from a model spec; base_url is added to an openai: spec that has none."""
        from assay.models.registry import load_model

        if base_url and spec.startswith("openai:") and "@" not in spec:
            spec = f"{spec}@{base_url}"
        options = ModelOptions(batch_size=concurrency) if concurrency else ModelOptions()
        return cls(
            load_model(spec, options),
            p.load_rubric(rubric),
            mode,
            GenerationParams(max_new_tokens=max_new_tokens, temperature=0.0),
        )

    @property
    def identity(self) -> dict[str, Any]:
        """What determines the judge's verdicts: model, prompt version, rubric, mode, params."""
        info = self.model.info
        return {
            "model": info.spec,
            "model_fingerprint": info.fingerprint,
            "prompt_version": p.PROMPT_VERSION,
            "rubric": text_digest(self.rubric),
            "mode": self.mode,
            "params": self.params.to_dict(),
        }

    @property
    def fingerprint(self) -> str:
        return text_digest(json.dumps(self.identity, sort_keys=True))

    @property
    def name(self) -> str:
        return f"{self.model.info.spec} ({p.PROMPT_VERSION}, {self.fingerprint[:8]})"

    def grade(
        self,
        items: Sequence[tuple[str, str | None, str]],
        *,
        conversations: Sequence[bool] = (),
    ) -> list[Grade]:
        """Grade (question, reference, answer) triples; ``conversations`` says which
        questions are conversation transcripts (the judge is told so)."""
        pass_fail = self.mode == "pass_fail"
        flags = list(conversations) or [False] * len(items)
        built = [
            p.grade_prompt(q, r, a, self.rubric, pass_fail=pass_fail, conversation=c)
            for (q, r, a), c in zip(items, flags, strict=True)
        ]
        parser = parse_pass_fail if pass_fail else parse_score
        parsed = self._ask(built, [[q, r or "", a] for q, r, a in items], parser)
        grades = []
        for result, raw in parsed:
            if result is None:
                grades.append(Grade(math.nan, f"unparsable: {_clip(raw)}", False))
            else:
                grades.append(Grade(float(result.value), result.reason, True))
        return grades

    def compare(self, items: Sequence[PairItem]) -> list[PairVerdict]:
        """Judge each pair in both orders (x as A, then y as A)."""
        built, untrusted = [], []
        for item in items:
            built.append(p.pair_prompt(item.question, item.reference, item.answer_x, item.answer_y))
            built.append(p.pair_prompt(item.question, item.reference, item.answer_y, item.answer_x))
            untrusted += [[item.question, item.reference or "", item.answer_x, item.answer_y]] * 2
        parsed = self._ask(built, untrusted, parse_pair)
        verdicts = []
        for i in range(len(items)):
            (first, _), (second, _) = parsed[2 * i], parsed[2 * i + 1]
            verdicts.append(_combine(first, second))
        return verdicts

    def _ask(
        self,
        built: Sequence[tuple[str, str, str]],
        untrusted: Sequence[Sequence[str]],
        parser: Callable[[str], Parsed | None],
    ) -> list[tuple[Parsed | None, str]]:
        """Ask every prompt; ask again once, with a format reminder, where unreadable.

        Each reply is read only after what it copied from the prompt's untrusted texts
        (question, reference, candidates) is cut out (parse.clean)."""
        prompts = [Prompt(user, system, chat=True) for system, user, _ in built]
        replies = [g.text for g in self.model.generate(prompts, self.params)]
        results = [
            (parser(clean(r, b[2], u)), r)
            for r, b, u in zip(replies, built, untrusted, strict=True)
        ]
        again = [i for i, (parsed, _) in enumerate(results) if parsed is None]
        if again:
            retry = [
                Prompt(f"{prompts[i].content}\n\n{p.RETRY_NOTE}", prompts[i].system) for i in again
            ]
            for i, generation in zip(again, self.model.generate(retry, self.params), strict=True):
                reply = generation.text
                results[i] = (parser(clean(reply, built[i][2], untrusted[i])), reply)
        self.unparsable += sum(parsed is None for parsed, _ in results)
        return results


def _combine(first: Parsed | None, second: Parsed | None) -> PairVerdict:
    one = _in_xy(first, swapped=False)
    two = _in_xy(second, swapped=True)
    reasons = (first.reason if first else "", second.reason if second else "")
    if "unparsable" in (one, two):
        return PairVerdict("unparsable", False, one, two, reasons)
    if one == two:
        return PairVerdict(one, True, one, two, reasons)
    return PairVerdict("tie", False, one, two, reasons)


def _in_xy(parsed: Parsed | None, *, swapped: bool) -> str:
    if parsed is None:
        return "unparsable"
    if parsed.value == "tie":
        return "tie"
    shown_first = parsed.value == "A"
    return "x" if shown_first != swapped else "y"


def _clip(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"

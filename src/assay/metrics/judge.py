"""The `judge` metric: a judge model grades each prediction against the question and reference."""

from __future__ import annotations

from collections.abc import Sequence

from assay.exceptions import MetricError
from assay.metrics.base import MetricFn, Score, ScoreInput
from assay.metrics.registry import register_metric

JUDGE_MODES = ("score", "pass_fail")


@register_metric("judge", threshold=6.0)
def judge(
    judge: str = "smollm2-135m-instruct",
    rubric: str | None = None,
    mode: str = "score",
    max_new_tokens: int = 96,
    concurrency: int | None = None,
    base_url: str | None = None,
) -> MetricFn:
    """An LLM judge's grade: 1-10 by a rubric (or 1/0 pass/fail), with its reason; NaN if unparsable.

    The detail of each score is the judge's short reason followed by the judge's
    identity (model, prompt version and a fingerprint over model, rubric and
    parameters), so stored grades say who gave them.

    Args:
        judge: The judge model's spec (default: the bundled 135M model, a demonstration).
        rubric: A rubric file (.txt/.md) or text; default correctness and helpfulness, 1-10.
        mode: "score" (1-10) or "pass_fail".
        max_new_tokens: Longest judge reply.
        concurrency: Concurrent requests to a remote judge.
        base_url: Base URL for an openai: judge spec without one.
    """
    if mode not in JUDGE_MODES:
        raise MetricError(f"judge mode '{mode}' is not one of {', '.join(JUDGE_MODES)}")
    from assay.judge import Judge

    grader = Judge.load(
        judge,
        rubric=rubric,
        mode=mode,  # type: ignore[arg-type]
        max_new_tokens=max_new_tokens,
        concurrency=concurrency,
        base_url=base_url,
    )

    def score(items: Sequence[ScoreInput]) -> list[Score]:
        grades = grader.grade(
            [(i.example.input, i.reference, i.prediction) for i in items],
            conversations=[i.example.dialogue is not None for i in items],
        )
        return [Score(g.value, f"{g.reason} [judge {grader.name}]") for g in grades]

    return score

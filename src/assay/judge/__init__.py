"""LLM-as-judge: grade answers with a rubric, or compare two answers in both orders.

The bundled default judge (a 135M local model) is a demonstration that works
offline; real grading wants a strong model (``openai:gpt-4o-mini`` or a large
local model behind ``assay serve`` / vLLM).
"""

from __future__ import annotations

from assay.judge.judge import DEFAULT_JUDGE, Grade, Judge, PairItem, PairVerdict
from assay.judge.prompts import DEFAULT_RUBRIC, PROMPT_VERSION

__all__ = [
    "DEFAULT_JUDGE",
    "DEFAULT_RUBRIC",
    "PROMPT_VERSION",
    "Grade",
    "Judge",
    "PairItem",
    "PairVerdict",
]

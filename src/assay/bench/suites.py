"""Suites: named sets of (task, shots, metric) reported together with their average."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SuiteEntry:
    """One task of a suite: its name (a task or a group), shots, and the metric it reports."""

    task: str
    shots: int
    metric: str


SUITES: dict[str, tuple[SuiteEntry, ...]] = {
    "leaderboard": (
        SuiteEntry("arc_challenge", 25, "acc_norm"),
        SuiteEntry("hellaswag", 10, "acc_norm"),
        SuiteEntry("mmlu", 5, "acc"),
        SuiteEntry("truthfulqa_mc2", 0, "mc2"),
    ),
}
"""The Open LLM Leaderboard (v1): ARC-Challenge, HellaSwag, MMLU, TruthfulQA, and their average."""

"""Scores from log-likelihoods: acc, acc_norm, mc2 per question; means with the harness's stderr."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from assay.bench.fewshot import Question


def question_scores(question: Question, logliks: Sequence[float]) -> dict[str, float]:
    """Every metric the harness computes for one multiple-choice question.

    acc: the most likely choice is the gold one. acc_norm: the same after
    dividing each choice's log-likelihood by its length in characters. mc2
    (questions with true/false labels): the probability mass on the true
    choices, normalised over all choices.
    """
    lls = np.asarray(logliks, dtype=np.float64)
    lengths = np.asarray([float(len(c)) for c in question.choices])
    scores = {
        "acc": float(int(np.argmax(lls)) == question.gold),
        "acc_norm": float(int(np.argmax(lls / lengths)) == question.gold),
    }
    if question.labels is not None:
        probs = np.exp(lls)
        probs = probs / probs.sum()
        scores["mc2"] = float(probs[np.asarray(question.labels) == 1].sum())
    return scores


def predicted_choice(choices: Sequence[str], logliks: Sequence[float], metric: str) -> int:
    """The choice a metric picks: length-normalised for acc_norm, the most likely otherwise."""
    lls = np.asarray(logliks, dtype=np.float64)
    if metric == "acc_norm":
        lls = lls / np.asarray([float(len(c)) for c in choices])
    return int(np.argmax(lls))


def mean_stderr(values: Sequence[float]) -> tuple[float, float]:
    """The mean and the harness's standard error (sample standard deviation / sqrt(n))."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan
    mean = float(np.mean(values))
    if n == 1:
        return mean, math.nan
    return mean, float(np.std(values, ddof=1) / math.sqrt(n))


def pooled_stderr(stderrs: Sequence[float], sizes: Sequence[int]) -> float:
    """The harness's stderr of a size-weighted group mean, pooled from its parts' stderrs."""
    if len(sizes) < 2 or sum(sizes) <= len(sizes):
        return math.nan
    pooled_var = sum((n - 1) * s**2 * n for n, s in zip(sizes, stderrs, strict=True)) / (
        sum(sizes) - len(sizes)
    )
    return math.sqrt(pooled_var / sum(sizes))

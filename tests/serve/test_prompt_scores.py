"""Prompt log-probabilities through the prefix tree (what `echo` with `logprobs` returns)
equal a plain forward pass over each prompt, on the real bundled model."""

from __future__ import annotations

import pytest
import torch

from assay.models.base import LoglikelihoodStats
from assay.models.hf import HFModel
from assay.serve import prompt_scores
from assay.serve.prompt_scores import PromptScores, score_prompts

pytestmark = pytest.mark.slow  # the real model


def prompts_of(model: HFModel) -> list[list[int]]:
    """Prompts sharing a long header, branching at several depths; one is a prefix of
    another, one is a single token, one comes twice."""
    tokenizer = model.tokenizer
    header = (
        "The following are multiple choice questions about astronomy, with answers.\n\n"
        "Question: How many planets orbit the Sun?\nAnswer: eight\n\n"
    )
    texts = [
        header + "Question: What is the Sun?\nAnswer: a star",
        header + "Question: What is the Sun?\nAnswer: a planet",
        header + "Question: What is the Sun?\nAnswer:",
        header + "Question: What orbits the Earth?\nAnswer: the Moon",
        "Hello",
        "An unrelated prompt about bread and butter.",
        "An unrelated prompt about bread and butter.",
    ]
    return [list(tokenizer(t).input_ids) for t in texts]


def reference(model: HFModel, prompt: list[int], top: int) -> PromptScores:
    """One plain forward pass: every position's log-probabilities."""
    with torch.inference_mode():
        logits = model.model(input_ids=torch.tensor([prompt])).logits[0].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    values, ids = logprobs.topk(top, dim=-1)
    tops = [
        tuple(zip(i.tolist(), v.tolist(), strict=True)) for i, v in zip(ids, values, strict=True)
    ]
    chosen = [None, *(float(logprobs[i - 1, t]) for i, t in enumerate(prompt) if i > 0)]
    return PromptScores(tuple(prompt), tuple(chosen), ((), *tops[:-1]), tops[-1])


def assert_close(got: PromptScores, want: PromptScores) -> None:
    assert got.tokens == want.tokens
    assert got.logprobs[0] is None and len(got.logprobs) == len(want.logprobs)
    for a, b in zip(got.logprobs[1:], want.logprobs[1:], strict=True):
        assert a == pytest.approx(b, abs=1e-4)
    for a_top, b_top in zip(
        [*got.top[1:], got.next_top], [*want.top[1:], want.next_top], strict=True
    ):
        assert a_top[0][0] == b_top[0][0]  # the likeliest token
        assert [v for _, v in a_top] == pytest.approx([v for _, v in b_top], abs=1e-4)


def test_prefix_tree_scores_equal_a_plain_forward_pass(smol: HFModel) -> None:
    prompts = prompts_of(smol)
    stats = LoglikelihoodStats()
    scored = score_prompts(smol.model, prompts, top=3, batch_size=4, stats=stats)
    for got, prompt in zip(scored, prompts, strict=True):
        assert_close(got, reference(smol, prompt, 3))
    # Shared tokens run once as scored tokens and again as the context of what follows
    # them, not once per prompt: fewer tokens than one plain pass per prompt.
    assert stats.computed_tokens < sum(len(p) for p in prompts)


def test_a_wide_fan_out_is_split_over_passes_with_the_same_scores(
    smol: HFModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts = prompts_of(smol)
    wide = score_prompts(smol.model, prompts, top=2, batch_size=8)
    monkeypatch.setattr(prompt_scores, "SIBLING_BUDGET", 4)
    narrow = score_prompts(smol.model, prompts, top=2, batch_size=8)
    for a, b in zip(wide, narrow, strict=True):
        assert_close(a, b)

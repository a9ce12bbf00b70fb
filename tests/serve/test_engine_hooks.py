"""What the engine exposes for `assay serve`, on the real bundled model: each token as it is
chosen (streaming), with its log-probabilities; a sequence stopped when its client goes;
per-token scores from the prefix tree; large seeds."""

from __future__ import annotations

import pytest
import torch

from assay.data.prompts import Prompt
from assay.models.base import GenerationParams
from assay.models.continuous_batching import TokenLogprobs
from assay.models.hf import HFModel
from assay.models.loglikelihood import score_continuations, score_tokens, split_request

pytestmark = pytest.mark.slow  # the real model

PROMPTS = [Prompt("Name a fruit."), Prompt("Count to five.", "Be brief.")]


def test_each_token_is_reported_as_chosen_with_its_logprobs(smol: HFModel) -> None:
    seen: dict[int, list[tuple[int, TokenLogprobs | None]]] = {0: [], 1: []}
    generations = smol.generate(
        PROMPTS,
        GenerationParams(max_new_tokens=12),
        on_token=lambda index, token, detail: seen[index].append((token, detail)),
        logprobs=2,
    )
    for index, prompt in enumerate(PROMPTS):
        tokens = [token for token, _ in seen[index]]
        assert len(tokens) == generations[index].completion_tokens
        assert smol._decode(tokens) == generations[index].text
        ids = smol.encode(prompt)
        with torch.inference_mode():
            logits = smol.model(input_ids=torch.tensor([ids + tokens])).logits[0].float()
        expected = torch.log_softmax(logits, -1)[len(ids) - 1 : -1]
        for position, (token, detail) in enumerate(seen[index]):
            assert detail is not None and len(detail.top) == 2
            assert detail.logprob == pytest.approx(float(expected[position, token]), abs=1e-4)
            assert detail.top[0] == (token, pytest.approx(detail.logprob, abs=1e-6))  # greedy


def test_a_sequence_whose_listener_says_stop_stops(smol: HFModel) -> None:
    counts = {0: 0, 1: 0}

    def on_token(index: int, token: int, detail: TokenLogprobs | None) -> bool:
        counts[index] += 1
        return not (index == 0 and counts[0] >= 3)  # the first client leaves after 3 tokens

    prompts = [Prompt("1, 2, 3,", chat=False), Prompt("1, 2, 3,", chat=False)]
    stopped, full = smol.generate(prompts, GenerationParams(max_new_tokens=20), on_token=on_token)
    assert stopped.completion_tokens == 3 and full.completion_tokens == 20


def test_large_seeds_sample_reproducibly(smol: HFModel) -> None:
    for seed in (2**62, 2**63 - 1):  # the engine's per-prompt seeds stay within 64 bits
        params = GenerationParams(max_new_tokens=6, temperature=1.0, seed=seed)
        first = smol.generate(PROMPTS, params)
        again = smol.generate(PROMPTS, params)
        assert [g.text for g in first] == [g.text for g in again]


def test_per_token_scores_add_up_to_the_continuation_scores(smol: HFModel) -> None:
    requests = [
        ("Question: What is the capital of France?\nAnswer:", " Paris"),
        ("Question: What is the capital of France?\nAnswer:", " Lyon and Marseille"),
        ("The sky is", " blue"),
    ]
    pairs = [split_request(smol.tokenizer, c, x) for c, x in requests]
    detailed = score_tokens(smol.model, pairs, batch_size=4, top=3)
    summed = score_continuations(smol.model, smol.tokenizer, requests, batch_size=4)
    for (_, continuation), scores, (total, greedy) in zip(pairs, detailed, summed, strict=True):
        assert len(scores.logprobs) == len(continuation) == len(scores.top)
        assert sum(scores.logprobs) == pytest.approx(total, abs=1e-5)
        assert greedy == all(
            top[0][0] == t for top, t in zip(scores.top, continuation, strict=True)
        )
        assert all(len(top) == 3 for top in scores.top)

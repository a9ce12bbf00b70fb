"""Log-likelihood of continuations: what multiple-choice benchmarks need.

The context/continuation split follows lm-evaluation-harness: trailing spaces
of the context move to the continuation, the context tokens are `tok(context)`
and the continuation tokens are the rest of `tok(context + continuation)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


def split_request(tokenizer: Any, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """Token ids of the context and of the continuation, the harness's way."""
    spaces = len(context) - len(context.rstrip(" "))
    if spaces:
        continuation = context[-spaces:] + continuation
        context = context[:-spaces]
    whole = list(tokenizer(context + continuation).input_ids)
    context_ids = list(tokenizer(context).input_ids)
    return whole[: len(context_ids)], whole[len(context_ids) :]


def score_continuations(
    model: Any, tokenizer: Any, requests: Sequence[tuple[str, str]], *, batch_size: int
) -> list[tuple[float, bool]]:
    """Summed log-probability of each continuation and whether greedy decoding would produce it."""
    pairs = [split_request(tokenizer, context, continuation) for context, continuation in requests]
    order = sorted(range(len(pairs)), key=lambda i: -len(pairs[i][0]) - len(pairs[i][1]))
    results: list[tuple[float, bool]] = [(0.0, False)] * len(pairs)
    device = next(model.parameters()).device
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            sequences = [
                (pairs[i][0] + pairs[i][1])[-model.config.max_position_embeddings :] for i in batch
            ]
            width = max(len(s) for s in sequences)
            input_ids = torch.zeros((len(batch), width), dtype=torch.long)
            for row, ids in enumerate(sequences):
                input_ids[row, : len(ids)] = torch.tensor(ids)
            logprobs = torch.log_softmax(
                model(input_ids=input_ids.to(device)).logits.float(), dim=-1
            )
            for row, index in enumerate(batch):
                continuation = pairs[index][1]
                end = len(sequences[row])
                target = torch.tensor(continuation, device=device)
                span = logprobs[row, end - len(continuation) - 1 : end - 1]
                total = float(span.gather(-1, target[:, None]).sum())
                greedy = bool((span.argmax(dim=-1) == target).all())
                results[index] = (total, greedy)
    return results

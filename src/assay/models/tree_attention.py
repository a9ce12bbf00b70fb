"""Attention for prefix-tree scoring: a plainly causal head runs on SDPA's causal fast path.

The log-likelihood engine (models/loglikelihood.py) lays each row out as a
context followed by the tree of its continuations, and hands the model an
explicit mask. Attention under an explicit mask computes every (query, key)
block; under ``is_causal`` the CPU flash kernel skips the blocks above the
diagonal, and for a 1,000-token few-shot context that is most of the
attention time. So, while :func:`causal_head` is active, the first ``length``
queries of every row (the context, whose mask is exactly causal) attend with
``is_causal``, and only the continuation queries behind them use the mask.

Layers with a sliding window, and passes with cached keys in front (a shared
prefix), keep the plain masked path.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward

IMPLEMENTATION = "assay_tree"
"""The name the attention function is registered under in transformers."""

_causal_length: ContextVar[int | None] = ContextVar("assay_causal_head", default=None)


def tree_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """SDPA, with the causal head (see module docstring) computed on the causal fast path."""
    length = _causal_length.get()
    queries = query.shape[2]
    if (
        length is None
        or attention_mask is None
        or kwargs.get("sliding_window") is not None
        or key.shape[2] != queries
    ):
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    head, _ = sdpa_attention_forward(
        module,
        query[:, :, :length],
        key[:, :, :length],
        value[:, :, :length],
        None,
        is_causal=True,
        **kwargs,
    )
    if length == queries:
        return head, None
    tail, _ = sdpa_attention_forward(
        module, query[:, :, length:], key, value, attention_mask[:, :, length:], **kwargs
    )
    return torch.cat([head, tail], dim=1), None


AttentionInterface.register(IMPLEMENTATION, tree_attention)


@contextmanager
def causal_head(length: int | None) -> Iterator[None]:
    """Within the block, the first `length` queries of every row are known to be plainly causal."""
    token = _causal_length.set(length)
    try:
        yield
    finally:
        _causal_length.reset(token)


@contextmanager
def tree_attention_on(model: Any) -> Iterator[bool]:
    """Route the model's SDPA attention through :func:`tree_attention` within the block.

    Yields whether it did: models on another implementation (eager) are left as they are.
    """
    config = model.config
    previous = getattr(config, "_attn_implementation", None)
    if previous != "sdpa":
        yield False
        return
    config._attn_implementation = IMPLEMENTATION
    try:
        yield True
    finally:
        config._attn_implementation = previous

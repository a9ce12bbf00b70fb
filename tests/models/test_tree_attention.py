"""The causal fast path for the context part of a row gives what the explicit mask gives."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from assay.models import tree_attention
from assay.models.allocator import keep_freed_memory
from assay.models.tree_attention import causal_head, tree_attention_on


class Attention(nn.Module):
    """What transformers' attention functions read from the module: grouped key/value heads."""

    num_key_value_groups = 3
    is_causal = True


def tree_row_mask(rows: int, head: int, width: int) -> torch.Tensor:
    """Causal over the first `head` columns; behind them, each query sees the head and itself."""
    allowed = torch.zeros(rows, 1, width, width, dtype=torch.bool)
    allowed[:, :, :head, :head] = torch.ones(head, head, dtype=torch.bool).tril()
    allowed[:, :, head:, :head] = True
    allowed[:, :, head:, head:] = torch.eye(width - head, dtype=torch.bool)
    return torch.zeros(allowed.shape).masked_fill_(~allowed, torch.finfo(torch.float32).min)


@pytest.fixture
def qkv() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    query = torch.randn(2, 9, 40, 16, generator=generator)
    key = torch.randn(2, 3, 40, 16, generator=generator)
    value = torch.randn(2, 3, 40, 16, generator=generator)
    return query, key, value


@pytest.fixture
def sdpa_calls(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each SDPA call that tree_attention makes from now on asks for is_causal."""
    calls: list[bool] = []
    sdpa = tree_attention.sdpa_attention_forward

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(bool(kwargs.get("is_causal")))
        return sdpa(*args, **kwargs)

    monkeypatch.setattr(tree_attention, "sdpa_attention_forward", spy)
    return calls


def test_the_causal_head_equals_the_masked_attention(
    qkv: tuple[torch.Tensor, torch.Tensor, torch.Tensor], sdpa_calls: list[bool]
) -> None:
    query, key, value = qkv
    mask = tree_row_mask(2, 30, 40)
    plain, _ = tree_attention.tree_attention(Attention(), query, key, value, mask, scaling=0.25)
    assert sdpa_calls == [False]  # without the hint: one masked call
    sdpa_calls.clear()
    with causal_head(30):
        split, _ = tree_attention.tree_attention(Attention(), query, key, value, mask, scaling=0.25)
    assert sdpa_calls == [True, False]  # the head on the causal path, the tail under the mask
    assert split.shape == plain.shape == (2, 40, 9, 16)
    torch.testing.assert_close(split, plain, atol=1e-5, rtol=1e-5)


def test_sliding_window_layers_and_cached_prefixes_keep_the_mask(
    qkv: tuple[torch.Tensor, torch.Tensor, torch.Tensor], sdpa_calls: list[bool]
) -> None:
    query, key, value = qkv
    mask = tree_row_mask(2, 30, 40)
    with causal_head(30):
        tree_attention.tree_attention(Attention(), query, key, value, mask, sliding_window=8)
        prefixed = torch.cat([key, key], dim=2)
        wide_mask = torch.cat([torch.zeros(2, 1, 40, 40), mask], dim=3)
        tree_attention.tree_attention(Attention(), query, prefixed, prefixed, wide_mask)
    assert sdpa_calls == [False, False]


def test_only_sdpa_models_are_rerouted_and_are_restored_afterwards() -> None:
    class Config:
        _attn_implementation = "sdpa"

    class Model:
        config = Config()

    model = Model()
    with tree_attention_on(model) as rerouted:
        assert rerouted and model.config._attn_implementation == tree_attention.IMPLEMENTATION
    assert model.config._attn_implementation == "sdpa"
    model.config._attn_implementation = "eager"
    with tree_attention_on(model) as rerouted:
        assert not rerouted and model.config._attn_implementation == "eager"


def test_freed_memory_is_kept_on_glibc() -> None:
    assert keep_freed_memory() is True  # this machine runs glibc; mallopt accepted every option

"""Sibling projections fused into one matrix multiply (models/fusion.py).

Each part gets exactly its columns of the group's product, whatever the order of the
calls, their inputs or repeats; and the real bundled model, packed for oneDNN as the
engine runs it, gives the logits fused that it gives apart.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import assay
from assay.models.fusion import FusedLinears, FusedPart, fuse_sibling_linears
from assay.models.hf import HFModel
from assay.models.packing import pack_linear_layers


class Block(nn.Module):
    """An attention's projections and an MLP's, as transformers' Llama lays them out."""

    def __init__(self, bias: bool = False) -> None:
        super().__init__()
        self.q_proj = nn.Linear(16, 16, bias=bias)
        self.k_proj = nn.Linear(16, 8, bias=bias)
        self.v_proj = nn.Linear(16, 8, bias=bias)
        self.gate_proj = nn.Linear(16, 32, bias=bias)
        self.up_proj = nn.Linear(16, 32, bias=bias)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [self.q_proj(x), self.k_proj(x), self.v_proj(x), self.gate_proj(x), self.up_proj(x)]


@pytest.mark.parametrize("bias", [False, True])
def test_fused_siblings_give_each_layer_its_own_columns(bias: bool) -> None:
    torch.manual_seed(0)
    block = Block(bias)
    fused = copy.deepcopy(block)
    assert fuse_sibling_linears(fused) == 2
    assert isinstance(fused.qkv_proj, FusedLinears) and isinstance(fused.k_proj, FusedPart)
    assert fused.qkv_proj.linear.weight.shape == (32, 16)
    x, y = torch.randn(3, 16), torch.randn(2, 5, 16)

    def columns(layer: str, group: FusedLinears, inputs: torch.Tensor) -> torch.Tensor:
        """The layer's columns of the whole group's product, computed here."""
        index = {"q_proj": 0, "k_proj": 1, "v_proj": 2, "gate_proj": 0, "up_proj": 1}[layer]
        return group.linear(inputs).split(group.sizes, dim=-1)[index]

    names = ["q_proj", "k_proj", "v_proj", "gate_proj", "up_proj"]
    groups = [fused.qkv_proj] * 3 + [fused.gate_up_proj] * 2
    for name, group, out, apart in zip(names, groups, fused(x), block(x), strict=True):
        assert torch.equal(out, columns(name, group, x))
        # Apart, the same dot products; tiny shapes like these can take another
        # sgemm kernel apart, so equal only up to rounding in transformers' kernels.
        assert torch.allclose(out, apart, atol=1e-6)
    # Another input, another order, a part asked twice: each still gets its own columns.
    calls = [("v_proj", y), ("q_proj", x), ("q_proj", x), ("k_proj", y), ("up_proj", x)]
    for name, inputs in calls:
        group = fused.qkv_proj if name[0] in "qkv" else fused.gate_up_proj
        assert torch.equal(getattr(fused, name)(inputs), columns(name, group, inputs))
    assert fused.k_proj(x).is_contiguous()


def test_layers_that_do_not_share_an_input_shape_are_left_apart() -> None:
    block = Block()
    block.v_proj = nn.Linear(12, 8)  # another input size
    block.up_proj = nn.Linear(16, 32, bias=True)  # a bias where its sibling has none
    assert fuse_sibling_linears(block) == 0
    assert type(block.q_proj) is nn.Linear and not hasattr(block, "qkv_proj")


def test_only_whole_groups_of_plain_linear_layers_fuse() -> None:
    class Scaled(nn.Linear):  # a subclass (a LoRA or quantised layer) has its own forward
        pass

    block = Block()
    block.k_proj = Scaled(16, 8)
    del block.gate_proj
    assert fuse_sibling_linears(block) == 0


@pytest.fixture(scope="module")
def plain_model() -> nn.Module:
    """The bundled model as transformers loads it: float32, its own kernels, nothing fused."""
    model = assay.load_model(
        "smollm2-135m-instruct", assay.ModelOptions(dtype="float32", pack_weights=False)
    )
    assert isinstance(model, HFModel)
    return model.model


def test_the_real_model_fused_and_packed_gives_the_same_logits(plain_model: nn.Module) -> None:
    """What the engine runs (packed for oneDNN) against the same layers packed apart:
    bit for bit on the AVX2 CPU this was written on; within float32 rounding is what
    any CPU's kernels must give (the fingerprint names the fusion either way)."""
    apart, fused = copy.deepcopy(plain_model), copy.deepcopy(plain_model)
    assert fuse_sibling_linears(fused) == 2 * 30  # q/k/v and gate/up of every layer
    pack_linear_layers(apart)
    pack_linear_layers(fused)
    torch.manual_seed(0)
    for rows, length in [(1, 1), (1, 40), (32, 1), (5, 17)]:
        ids = torch.randint(0, 49152, (rows, length))
        with torch.inference_mode():
            mine, theirs = fused(ids).logits, apart(ids).logits
        assert torch.allclose(mine, theirs, rtol=0, atol=1e-4), (rows, length)


def test_the_engine_loads_the_model_fused() -> None:
    model = assay.load_model("smollm2-135m-instruct", assay.ModelOptions(dtype="float32"))
    assert isinstance(model, HFModel)
    modules = dict(model.model.named_modules())
    assert sum(isinstance(m, FusedLinears) for m in modules.values()) == 2 * 30
    assert "model.layers.0.self_attn.qkv_proj.linear" in modules
    assert model.info.details["kernels"] == "onednn-packed-fused"

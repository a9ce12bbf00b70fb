"""Sibling linear layers that read the same input, multiplied as one matrix.

Why: an attention layer projects its input three times (q, k, v) and an MLP twice
(gate, up), each its own matrix multiply. On a CPU every call has a fixed cost
(dispatch, the kernel's setup, its threads woken) and the narrow key and value
projections use the kernels poorly, so one multiply by the stacked weights does the
same arithmetic in less time: on the bundled SmolLM2, 2 threads, the q/k/v
projections of 32 rows took 0.31 ms fused against 0.45 ms apart (float32 packed)
and 0.27 against 0.51 (int8); of one row, 0.10 against 0.23.

Each output column is the same dot product over the same inputs; packed for oneDNN,
the bundled model's logits fused were bit for bit those apart on an AVX2 CPU
(tests/models/test_fusion.py holds any CPU to float32 rounding). A kernel could
still block a wider matrix differently, so the model fingerprint names the fusion,
as it names every kernel choice: cached outputs of the two never mix.

The model's own code still calls `q_proj`, `k_proj` and `v_proj`: each becomes a
FusedPart that asks its group for its columns. The first call multiplies the input
by all the group's weights; its siblings take their columns of that product when
they are called with the same input tensor, once each. Any other call (another
input, a part asked twice) multiplies afresh, so a model that calls the layers in
another order or on other inputs gets the right numbers, only without the saving.
The layer changing its input in place between the calls would defeat this (the
input is matched by identity); no supported model's attention or MLP does.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

SIBLINGS = {"qkv_proj": ("q_proj", "k_proj", "v_proj"), "gate_up_proj": ("gate_proj", "up_proj")}
"""The fused layer's name, and the sibling layers it replaces (by their names in a
transformers model: Llama, Mistral, Qwen, Gemma, OLMo 2, Granite)."""


class FusedLinears(nn.Module):
    """Linear layers on one input, their weights stacked into `linear` (which packing
    or quantisation then replaces like any other linear layer)."""

    def __init__(self, layers: Sequence[nn.Linear]) -> None:
        super().__init__()
        first = layers[0]
        self.sizes = [layer.out_features for layer in layers]
        has_bias = first.bias is not None
        self.linear = nn.Linear(first.in_features, sum(self.sizes), bias=has_bias, device="meta")
        self.linear.weight = nn.Parameter(
            torch.cat([layer.weight.detach() for layer in layers]), requires_grad=False
        )
        if has_bias:
            self.linear.bias = nn.Parameter(
                torch.cat([layer.bias.detach() for layer in layers if layer.bias is not None]),
                requires_grad=False,
            )
        # The last product: (its input, its parts, the parts taken). One tuple, swapped
        # whole, so a part always comes from the product of the input it is matched on,
        # even if two threads run the model at once (they then only lose the saving).
        self._product: tuple[torch.Tensor, list[torch.Tensor], set[int]] | None = None

    def part(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """Sibling `index`'s output for input `x` (see the module docstring)."""
        product = self._product
        if product is None or product[0] is not x or index in product[2]:
            product = (x, list(self.linear(x).split(self.sizes, dim=-1)), set())
            self._product = product
        taken = product[2]
        taken.add(index)
        if len(taken) == len(self.sizes):  # every sibling served: let the tensors go
            self._product = None
        return product[1][index].contiguous()


class FusedPart(nn.Module):
    """Where a sibling layer was: its columns of the group's product."""

    def __init__(self, group: FusedLinears, index: int, layer: nn.Linear) -> None:
        super().__init__()
        self.in_features = layer.in_features
        self.out_features = layer.out_features
        self.index = index
        # Not a child module: the group is the parent's child, registered once.
        object.__setattr__(self, "group", group)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        group: FusedLinears = self.__dict__["group"]
        return group.part(self.index, x)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, part={self.index}"
        )


def fuse_sibling_linears(module: nn.Module) -> int:
    """Fuse every group of SIBLINGS below `module` whose layers are all plain linear
    layers on the same inputs (same input size, dtype and device; biases on all or
    none), in place; returns how many groups were fused."""
    count = 0
    for child in list(module.children()):
        count += fuse_sibling_linears(child)
    for fused_name, names in SIBLINGS.items():
        linears = _fusable([getattr(module, name, None) for name in names])
        if hasattr(module, fused_name) or linears is None:
            continue
        group = FusedLinears(linears)
        module.add_module(fused_name, group)
        for index, (name, layer) in enumerate(zip(names, linears, strict=True)):
            setattr(module, name, FusedPart(group, index, layer))
        count += 1
    return count


def _fusable(layers: Sequence[object]) -> list[nn.Linear] | None:
    """The layers, if all are plain linear layers that can share one input; else None."""
    linears = [layer for layer in layers if type(layer) is nn.Linear]
    if len(linears) != len(layers):
        return None
    first = linears[0]
    same = all(
        layer.in_features == first.in_features
        and layer.weight.dtype == first.weight.dtype
        and layer.weight.device == first.weight.device
        and (layer.bias is None) == (first.bias is None)
        for layer in linears
    )
    return linears if same else None

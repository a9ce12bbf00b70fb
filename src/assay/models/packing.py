"""Linear layers with weights prepacked for oneDNN, for float32 inference on a CPU.

Why: while generating, each step multiplies a few dozen rows by every weight
matrix. For that shape PyTorch's default CPU path (MKL sgemm on the plain
row-major weight) reaches a fraction of the machine's throughput; oneDNN with
the weight reordered once into its blocked layout runs the same float32
arithmetic about four times faster on small batches (measured on the bundled
SmolLM2, see perf/bench_generate.py). The summation order inside a dot
product differs from MKL's, so results can differ in the last bits; the
model fingerprint records the kernels, so cached outputs never mix the two.
In bfloat16 (where the CPU multiplies bfloat16 natively, avx512_bf16 or AMX)
the same packing halves the bytes read per token and doubles the arithmetic
rate again; bfloat16 is opt-in (ModelOptions.dtype) since its outputs differ.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

KERNELS = "onednn-packed-fused"
"""oneDNN-packed linear layers, sibling projections fused (models/fusion.py)."""


class PackedLinear(nn.Module):
    """An `nn.Linear` whose weight lives in oneDNN's blocked layout (inference only).

    Args:
        linear: The layer to pack.
        weight_dtype: Keep the weight in this dtype instead of the layer's (bfloat16 in a
            float32 model, where int8 quantisation keeps a layer out); inputs are cast to
            it and outputs back. None: the layer's own dtype, and no casts.
    """

    def __init__(self, linear: nn.Linear, weight_dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.in_features = linear.in_features
        self.out_features = linear.out_features
        self.weight_dtype = weight_dtype
        weight: torch.Tensor = linear.weight.detach()
        bias: torch.Tensor | None = linear.bias
        if weight_dtype is not None:
            weight = weight.to(weight_dtype)
            bias = None if bias is None else bias.to(weight_dtype)
        self.packed = torch.ops.mkldnn._reorder_linear_weight(weight, None)
        self.bias = None if bias is None else bias.detach()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, self.in_features)
        if self.weight_dtype is not None:
            rows = rows.to(self.weight_dtype)
        out = torch.ops.mkldnn._linear_pointwise(
            rows.contiguous(), self.packed, self.bias, "none", [], ""
        )
        return out.to(x.dtype).reshape(*x.shape[:-1], self.out_features)


def can_pack(model: Any) -> bool:
    """Packing applies to float32 or bfloat16 models on a CPU where PyTorch has oneDNN."""
    parameter = next(model.parameters())
    return (
        parameter.device.type == "cpu"
        and packable_dtype(parameter.dtype)
        and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
    )


def packable_dtype(dtype: torch.dtype) -> bool:
    """float32 wherever oneDNN is; bfloat16 only where the CPU has native bfloat16 math
    (elsewhere oneDNN would emulate it, slower than float32)."""
    if not torch.backends.mkldnn.is_available():
        return False
    if dtype == torch.bfloat16:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return dtype == torch.float32


def pack_linear_layers(module: nn.Module) -> int:
    """Replace every `nn.Linear` below `module` by a PackedLinear; returns how many."""
    return replace_linear_layers(module, PackedLinear)


def replace_linear_layers(
    module: nn.Module,
    make: Callable[[nn.Linear], nn.Module],
    fits: Callable[[nn.Linear], bool] = lambda _: True,
) -> int:
    """Replace every `nn.Linear` below `module` that `fits` by `make(layer)`, in place;
    returns how many (the one walk packing and quantisation share). A layer that appears
    twice is replaced once, by one new module in both places."""
    return _replace(module, make, fits, {})


def _replace(
    module: nn.Module,
    make: Callable[[nn.Linear], nn.Module],
    fits: Callable[[nn.Linear], bool],
    made: dict[int, nn.Module],
) -> int:
    count = 0
    for name, child in list(module.named_children()):
        if isinstance(child, nn.Linear) and fits(child):
            if id(child) not in made:
                made[id(child)] = make(child)
                count += 1
            setattr(module, name, made[id(child)])
        else:
            count += _replace(child, make, fits, made)
    return count

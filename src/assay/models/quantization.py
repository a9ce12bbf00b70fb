"""Quantised linear layers for CPU generation: int8 (PyTorch's dynamic int8 linear) and
int4 (PyTorch's weight-only int4 CPU kernel).

Why: decoding one sequence at a time reads every weight once per token, so its
speed is the speed of reading the weights.

**int8.** PyTorch's dynamic quantisation keeps each linear weight in int8 (per output
channel) and quantises the activations to int8 at every call, then multiplies in int8
with fbgemm's VNNI kernels. On an AVX-512 CPU (measured on the bundled SmolLM2's layer
shapes) its linear layers ran as fast as bfloat16's at batch 1 and faster at batch 32,
where weight-only int8 (`torch._weight_int8pack_mm`) was slower than float32; torchao's
int8 configurations are built for `torch.compile` and ran slower than this in eager
mode. The MLPs' down projections stay out of int8 (see quantize_linear_layers). Because
an activation is quantised with one scale over the whole batch, an output can depend on
which other sequences were in flight.

**int4.** Weights only: every group of 32 input channels of a row keeps a scale and a
minimum (the scheme of GGUF's Q4_1, what llama.cpp runs on the bundled model), and
`torch._weight_int4pack_mm_for_cpu` multiplies activations cast to bfloat16 by them
(given float32 it takes a path a hundred times slower). Activations are never
quantised, so no layer is kept out and an output does not depend on the batch. It reads an eighth of float32's bytes: made for single-stream decoding (`assay
serve`, small sets); at batch 32 its kernel is slower than int8's, which is the mode
for batched runs (perf/bench_generate.py measures both).

What either costs: the outputs are not float32's (perf/bench_generate.py counts how
many of its greedy outputs differ). Both are opt-in (ModelOptions.quantize) and part of
the model fingerprint, so their cached outputs never mix with float32's.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import nn

from assay.models.packing import PackedLinear, packable_dtype, replace_linear_layers

KERNELS = {"int8": "fbgemm-int8-dynamic-fused", "int4": "torch-int4-weight-g32-fused"}
"""The kernels of each quantisation mode, as the model fingerprint names them."""
KEEP_FLOAT = frozenset({"down_proj"})
"""Linear layers left out of int8, by their last name (see quantize_int8)."""
INT4_GROUP = 32
"""Input channels per int4 scale and minimum (GGUF's Q4_1 block)."""


def can_quantize(mode: str) -> bool:
    """Whether this torch has the mode's CPU kernels (x86 builds have both)."""
    if mode == "int4":
        return hasattr(torch, "_weight_int4pack_mm_for_cpu")
    return "fbgemm" in torch.backends.quantized.supported_engines


def quantize_linear_layers(model: Any, mode: str) -> int:
    """Quantise the model's linear layers in place (see the module docstring); returns
    how many were."""
    return quantize_int4(model) if mode == "int4" else quantize_int8(model)


def quantize_int4(module: nn.Module) -> int:
    """Replace each `nn.Linear` the int4 kernel takes by an Int4Linear; returns how many
    (a layer of other sizes stays as it was)."""
    return replace_linear_layers(module, Int4Linear, int4_fits)


def int4_fits(linear: nn.Linear) -> bool:
    """The kernel's shapes: inputs in whole groups, outputs a multiple of 16."""
    return linear.in_features % INT4_GROUP == 0 and linear.out_features % 16 == 0


class Int4Linear(nn.Module):
    """An `nn.Linear` with int4 weights: per row, every INT4_GROUP input channels share a
    scale and a minimum (weight = minimum + q * scale, q in 0..15), multiplied by
    PyTorch's weight-only int4 CPU kernel (inference only).

    Rounding to the nearest of 16 levels between a group's minimum and maximum recovers
    weights that were already in that form (the bundled model's, dequantised from its
    Q4_1 GGUF) up to bfloat16's rounding of each scale and minimum.
    """

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.in_features = linear.in_features
        self.out_features = linear.out_features
        weight = linear.weight.detach().float()
        groups = weight.reshape(-1, INT4_GROUP)
        low = groups.amin(dim=1, keepdim=True)
        scale = (groups.amax(dim=1, keepdim=True) - low) / 15
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # a constant group
        # The kernel's form: weight = (q - 8) * scale + zero, scale and zero in bfloat16.
        # Levels are rounded against the scale and zero as the kernel will read them, so
        # bfloat16's rounding of the zero does not shift a whole group.
        scale = scale.bfloat16().float()
        zero = (low + 8 * scale).bfloat16().float()
        levels = groups.sub(zero - 8 * scale).div(scale).round().clamp(0, 15).to(torch.int32)
        rows = self.out_features
        self.scales_and_zeros = (
            torch.cat([scale.reshape(rows, -1, 1), zero.reshape(rows, -1, 1)], dim=2)
            .transpose(0, 1)
            .contiguous()
            .to(torch.bfloat16)
        )
        self.packed = torch._convert_weight_to_int4pack_for_cpu(
            levels.reshape(rows, self.in_features), 2
        )
        self.bias = None if linear.bias is None else linear.bias.detach()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, self.in_features).to(torch.bfloat16).contiguous()
        out = torch._weight_int4pack_mm_for_cpu(
            rows, self.packed, INT4_GROUP, self.scales_and_zeros
        ).to(x.dtype)
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*x.shape[:-1], self.out_features)


def quantize_int8(model: Any) -> int:
    """Replace the float32 `nn.Linear` layers by int8 dynamic ones, in place; returns how many.

    The MLPs' down projections stay out of int8 (bfloat16 weights prepacked for oneDNN
    where the CPU has native bfloat16, float32 elsewhere): their inputs carry the
    activation outliers of small models, which one int8 scale per call cannot hold.
    Quantised too, SmolLM2-135M answered "I'm ready to assist." to every question;
    kept out, its answers read as float32's do.
    """
    torch.backends.quantized.engine = "fbgemm"
    layers = {
        name: PER_CHANNEL
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and name.rsplit(".", 1)[-1] not in KEEP_FLOAT
    }
    with warnings.catch_warnings():
        # torch.ao.quantization warns that it moves to torchao; its kernels are still torch's.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        from torch.ao.quantization import quantize_dynamic

        quantize_dynamic(model, layers, dtype=torch.qint8, inplace=True)
    _pack_kept_layers(model)
    return len(layers)


def _pack_kept_layers(module: nn.Module) -> None:
    """The layers left out of int8 packed for oneDNN: their weights in bfloat16 where the CPU
    multiplies it natively (half float32's bytes: at batch 1 bytes are time), else float32."""
    weight_dtype = torch.bfloat16 if packable_dtype(torch.bfloat16) else None
    replace_linear_layers(module, lambda layer: PackedLinear(layer, weight_dtype), can_pack_linear)


def can_pack_linear(linear: nn.Linear) -> bool:
    return linear.weight.device.type == "cpu" and packable_dtype(linear.weight.dtype)


def _per_channel() -> Any:
    """One int8 scale per output channel of a weight (one per tensor loses far more)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from torch.ao.quantization import per_channel_dynamic_qconfig

        return per_channel_dynamic_qconfig


PER_CHANNEL = _per_channel()

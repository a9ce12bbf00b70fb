"""Int8 linear layers for CPU generation: PyTorch's own dynamically quantised linear.

Why: decoding one sequence at a time reads every weight once per token, so its
speed is the speed of reading the weights; int8 weights are a quarter of the
float32 bytes. PyTorch's dynamic quantisation keeps each linear weight in int8
(per output channel) and quantises the activations to int8 at every call, then
multiplies in int8 with fbgemm's VNNI kernels. On an AVX-512 CPU (measured on the
bundled SmolLM2's layer shapes) its linear layers ran as fast as bfloat16's at batch 1
and faster at batch 32, where weight-only int8 (`torch._weight_int8pack_mm`) was
slower than float32; torchao's int8 configurations are built for `torch.compile`
and ran slower than this in eager mode. The MLPs' down projections stay out of
int8 (see quantize_linear_layers).

What it costs: the outputs are not float32's (perf/bench_generate.py counts how
many of its greedy outputs differ), and because an activation is quantised with
one scale over the whole batch, an output can depend on which other sequences
were in flight. It is opt-in (ModelOptions.quantize) and part of the model
fingerprint, so its cached outputs never mix with float32's.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import nn

from assay.models.packing import PackedLinear, packable_dtype

KERNELS = "fbgemm-int8-dynamic"
KEEP_FLOAT = frozenset({"down_proj"})
"""Linear layers left out of int8, by their last name (see quantize_linear_layers)."""


def can_quantize() -> bool:
    """Whether this torch has the fbgemm quantised engine (x86 builds do)."""
    return "fbgemm" in torch.backends.quantized.supported_engines


def quantize_linear_layers(model: Any) -> int:
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
    for name, child in list(module.named_children()):
        if isinstance(child, nn.Linear) and can_pack_linear(child):
            setattr(module, name, PackedLinear(child, weight_dtype))
        else:
            _pack_kept_layers(child)


def can_pack_linear(linear: nn.Linear) -> bool:
    return linear.weight.device.type == "cpu" and packable_dtype(linear.weight.dtype)


def _per_channel() -> Any:
    """One int8 scale per output channel of a weight (one per tensor loses far more)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from torch.ao.quantization import per_channel_dynamic_qconfig

        return per_channel_dynamic_qconfig


PER_CHANNEL = _per_channel()

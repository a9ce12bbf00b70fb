"""Int8 linear layers for CPU generation: PyTorch's own dynamically quantised linear.

Why: decoding one sequence at a time reads every weight once per token, so its
speed is the speed of reading the weights; int8 weights are a quarter of the
float32 bytes. PyTorch's dynamic quantisation keeps each linear weight in int8
(per output channel) and quantises the activations to int8 at every call, then
multiplies in int8 with fbgemm's VNNI kernels. Measured on the bundled SmolLM2
(perf/bench_generate.py) it beat bfloat16 and weight-only int8 both single-stream
and batched on this kind of CPU; torchao's int8 configurations are built for
`torch.compile` and ran slower than this in eager mode.

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

KERNELS = "fbgemm-int8-dynamic"


def can_quantize() -> bool:
    """Whether this torch has the fbgemm quantised engine (x86 builds do)."""
    return "fbgemm" in torch.backends.quantized.supported_engines


def quantize_linear_layers(model: Any) -> Any:
    """Replace every float32 `nn.Linear` in the model by an int8 dynamic one, in place."""
    torch.backends.quantized.engine = "fbgemm"
    with warnings.catch_warnings():
        # torch.ao.quantization warns that it moves to torchao; its kernels are still torch's.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8, inplace=True)

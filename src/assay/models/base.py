"""The model protocol every backend implements, and the records it trades in."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from assay.data.prompts import Prompt
from assay.exceptions import OptionError, at_least

FinishReason = Literal["stop", "length", "error"]


@dataclass(frozen=True)
class GenerationParams:
    """How to generate. Greedy (temperature 0) unless asked otherwise.

    Attributes:
        max_new_tokens: Most tokens to generate per example.
        temperature: 0 for greedy decoding; above 0 samples.
        top_p: Nucleus sampling mass (only when sampling).
        stop: Strings that end a generation; the stop string is not kept in the text.
        seed: Seed for sampling, so sampled runs repeat.
        truncate: Cut prompts longer than the context from the left (True) or fail (False).
    """

    max_new_tokens: int = 128
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int = 0
    truncate: bool = True

    def __post_init__(self) -> None:
        at_least("max_new_tokens", self.max_new_tokens, 1)
        if not math.isfinite(self.temperature) or self.temperature < 0:
            raise OptionError("temperature", f"must be 0 (greedy) or more, got {self.temperature}")
        if not math.isfinite(self.top_p) or not 0 < self.top_p <= 1:
            raise OptionError("top_p", f"must be above 0 and at most 1, got {self.top_p}")
        if any(not s for s in self.stop):
            raise OptionError("stop", "must not be an empty string")
        if not 0 <= self.seed < 2**63:
            raise OptionError("seed", f"must be between 0 and 2**63 - 1, got {self.seed}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stop"] = list(self.stop)
        return data


@dataclass(frozen=True)
class Generation:
    """One model output with its accounting.

    Attributes:
        text: The generated text (special tokens and the stop string removed).
        prompt_tokens: Tokens in the prompt actually sent (after truncation).
        completion_tokens: Tokens generated.
        finish_reason: "stop" (end of sequence or stop string), "length" (hit
            max_new_tokens), or "error" (the backend failed on this example).
        seconds: Wall time attributed to this example.
        truncated_tokens: Prompt tokens cut from the left to fit the context.
        error: The error message when finish_reason is "error".
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason
    seconds: float = 0.0
    truncated_tokens: int = 0
    error: str | None = None


@dataclass(frozen=True)
class ModelOptions:
    """How to load and run a model, whatever the backend.

    Attributes:
        dtype: "auto" (float32 on CPU, bfloat16 on GPU), "float32", "bfloat16" or "float16".
        adapter: A LoRA adapter folder (peft) applied on top of the weights.
        batch_size: Most sequences in flight at once.
        device: "cpu", "cuda", or "auto".
        pack_weights: On a CPU in float32 or bfloat16, prepack linear weights for oneDNN
            (several times faster generation; see models/packing.py).
        quantize: None; "int8": the linear layers' weights in int8 with activations
            quantised per step (the fastest for batches); "int4": weights only, in groups
            of 32 (the fastest for one sequence at a time). A CPU in float32 only; see
            models/quantization.py. Faster, and the outputs differ from float32's: opt-in,
            and part of the fingerprint.
        compile: Compile the decode step of one sequence at a time (batch_size 1) with
            torch.compile (Inductor), at load: about a minute on a CPU (Inductor's cache
            on disk shortens it later), then less Python per step, which is most of a
            step at batch 1 (perf/bench_generate.py). Fused kernels round differently,
            so it is part of the fingerprint. Inductor cannot compile oneDNN's packed
            layers: on a CPU, with quantize "int4" only.
    """

    dtype: str = "auto"
    adapter: Path | None = None
    batch_size: int = 32
    device: str = "auto"
    pack_weights: bool = True
    quantize: str | None = None
    compile: bool = False

    def __post_init__(self) -> None:
        at_least("batch_size", self.batch_size, 1)
        if self.dtype not in DTYPE_NAMES:
            raise OptionError("dtype", f"{self.dtype!r} is not one of: {', '.join(DTYPE_NAMES)}")
        if self.quantize is not None and self.quantize not in QUANTIZE_NAMES:
            raise OptionError(
                "quantize", f"{self.quantize!r} is not one of: {', '.join(QUANTIZE_NAMES)}"
            )
        if self.quantize is not None and self.dtype not in ("auto", "float32"):
            raise OptionError(
                "quantize", f"{self.quantize} runs on float32 weights; drop dtype {self.dtype}"
            )
        if not DEVICE.fullmatch(self.device):
            raise OptionError(
                "device", f"{self.device!r} is not one of: auto, cpu, cuda, cuda:N, mps"
            )


DTYPE_NAMES = ("auto", "float32", "bfloat16", "float16")
QUANTIZE_NAMES = ("int8", "int4")
DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")

ResultCallback = Callable[[int, Generation], None]
"""Called with (index into the prompts, generation) as soon as one example is done."""

LoglikelihoodCallback = Callable[[int, float, bool], None]
"""Called with (index into the requests, log-probability, is greedy) as soon as one is scored."""


@dataclass
class LoglikelihoodStats:
    """What a log-likelihood pass did: tokens requested (as the harness would run them) and tokens run.

    Attributes:
        requests: (context, continuation) pairs scored.
        contexts: Distinct contexts.
        pair_tokens: Tokens per-pair scoring runs (each pair's full sequence, minus its last token).
        tree_tokens: Distinct tokens: the size of the prefix tree over all requests.
        tree_attended: Keys the prefix tree's tokens attend to, summed (each token attends to
            itself and everything before it): what its attention costs.
        scored_positions: Distinct positions whose next-token distribution is needed: those
            the output layer must run on.
        computed_tokens: Tokens actually run through the model, without padding.
        padded_tokens: Tokens run including padding.
        forwards: Forward passes.
    """

    requests: int = 0
    contexts: int = 0
    pair_tokens: int = 0
    tree_tokens: int = 0
    tree_attended: int = 0
    scored_positions: int = 0
    computed_tokens: int = 0
    padded_tokens: int = 0
    forwards: int = 0


@dataclass(frozen=True)
class ModelInfo:
    """What identifies a model's outputs: two models with equal fingerprints generate alike.

    Attributes:
        spec: The spec string the user gave ("smollm2-135m-instruct", "hf:./ft", ...).
        fingerprint: Hash over the identity fields below.
        details: The identity fields (weights hash or hub revision, dtype,
            adapter hash, tokenizer and chat template hash, ...).
    """

    spec: str
    fingerprint: str
    details: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Model(Protocol):
    """A backend: anything that can generate text for prompts, in batches.

    Backends load lazily where they can: `info`, `has_chat_template` and
    `render` must not need the weights, so that a fully cached run never loads them.
    """

    @property
    def info(self) -> ModelInfo: ...

    @property
    def has_chat_template(self) -> bool: ...

    def load(self) -> None:
        """Load whatever generation needs (weights) now, so timing starts after it."""
        ...

    def render(self, prompt: Prompt) -> str:
        """The exact text sent to the model for this prompt (chat template applied)."""
        ...

    def generate(
        self,
        prompts: Sequence[Prompt],
        params: GenerationParams,
        on_result: ResultCallback | None = None,
    ) -> list[Generation]:
        """Generate for every prompt; call on_result as each one finishes."""
        ...

    def loglikelihood(
        self,
        requests: Sequence[tuple[str, str]],
        *,
        on_result: LoglikelihoodCallback | None = None,
        stats: LoglikelihoodStats | None = None,
    ) -> list[tuple[float, bool]]:
        """Log-probability of each continuation given its context, and whether it is greedy.

        Calls on_result as each request is scored, and counts the work in ``stats``
        (a record the caller passes and reads, also while the pass runs).
        """
        ...

"""Evaluation during training: a transformers TrainerCallback that runs an assay eval of
the model being trained, in process, every N steps (or at each Trainer evaluation).

    from assay.integrations.transformers import AssayCallback

    trainer = Trainer(..., callbacks=[AssayCallback("examples/qa/test.jsonl", group="ft-v1",
                                                    every=20)])

TRL's trainers (SFTTrainer, DPOTrainer, ...) subclass Trainer and take the same callback.
Each checkpoint is an ordinary eval run in the store, named "<group> step <N>" and
tagged ``group:<group>`` and ``step:<N>`` (RunInfo.group, RunInfo.step); `assay runs
--group NAME` lists them and `assay curve NAME` plots every metric against the step.

**The live model, not a saved one.** Nothing is saved or reloaded. On a CPU in float32
(where assay generates with oneDNN-packed weights, several times faster) the pass
runs on an inference twin: the module tree is copied but every tensor is shared,
each LoRA layer's weight is merged (W + its delta) into a fresh packed weight and every
other linear layer is packed; the training model is not touched at all. Elsewhere
(GPU, bfloat16, or an adapter of a LoRA variant such as DoRA, which merges by its
own rule) the live model itself runs, put in eval mode for the pass and back to
train mode after. Either way the pass is under ``torch.inference_mode`` and greedy, so
it takes no gradients and draws no random numbers: the training that follows is the
same as without the callback. The twin's merge is the arithmetic `assay eval
--adapter` does after loading a saved adapter, so a live checkpoint and the same
checkpoint saved and evaluated separately give the same answers.

**The fingerprint of a live model** (what keys its runs and its generation cache) is a
content hash of every parameter and buffer (name, shape, dtype, bytes), plus the
kernels, dtype and tokenizer. Trainable tensors (a LoRA's few megabytes) are hashed
at every evaluation; frozen ones (the base weights under a LoRA) once per training,
their hash remembered until torch's in-place version counter of the tensor says it
was written. Two checkpoints with the same weights (an evaluation repeated without a
step between, or a first step taken at a warm-up learning rate of 0) share a
fingerprint, so the second one is read from the generation cache; any change of a
weight gives a new one, so outputs are never reused across different weights.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from assay.data.example import Dataset
from assay.data.loaders import load_dataset
from assay.data.prompts import Prompt
from assay.evaluation.evaluate import EvalOptions, evaluate
from assay.exceptions import ModelError, OptionError, at_least
from assay.metrics.base import MetricSummary
from assay.models.base import Generation, GenerationParams, ModelInfo, ModelOptions, ResultCallback
from assay.models.fingerprint import text_digest
from assay.models.fusion import fuse_sibling_linears
from assay.models.hf import HFModel
from assay.models.packing import KERNELS, can_pack, pack_linear_layers
from assay.runs.records import Run, checkpoint_tags
from assay.store import Store, open_store

log = logging.getLogger("assay")

__all__ = ["AssayCallback", "Checkpoint", "LiveModel", "ParameterDigests", "evaluate_live"]


class ParameterDigests:
    """Content hashes of a model's parameters: trainable ones read at every call, frozen
    ones remembered until their tensor changes.

    A frozen tensor's memo is keyed on its storage, shape and torch's in-place version
    counter (any in-place write bumps it), so the base weights under a LoRA are read
    once per training; trainable tensors are read every time, so no optimizer's way of
    writing them can leave a stale hash.
    """

    def __init__(self) -> None:
        self._memo: dict[str, tuple[tuple[int, int, tuple[int, ...]], str]] = {}

    def fingerprint(self, model: nn.Module) -> str:
        """One digest over every parameter and buffer of the model, by name."""
        parts = []
        for name, tensor in _named_tensors(model):
            if tensor.requires_grad:  # trained: read every time, whatever the optimizer did
                parts.append(f"{name}={_tensor_digest(tensor)}")
                continue
            key = (tensor.data_ptr(), tensor._version, tuple(tensor.shape))
            known = self._memo.get(name)
            if known is None or known[0] != key:
                known = (key, _tensor_digest(tensor))
                self._memo[name] = known
            parts.append(f"{name}={known[1]}")
        return text_digest(*parts)


def _named_tensors(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    named: dict[str, torch.Tensor] = dict(model.named_parameters(remove_duplicate=False))
    named.update(model.named_buffers(remove_duplicate=False))
    return sorted(named.items())


def _tensor_digest(tensor: torch.Tensor) -> str:
    """sha256 of the tensor's shape, dtype and bytes (read in place: no copy on a CPU)."""
    data = tensor.detach().to("cpu").contiguous().reshape(-1)
    digest = hashlib.sha256(f"{tuple(tensor.shape)}:{tensor.dtype}".encode())
    if data.numel():
        digest.update(data.view(torch.uint8).numpy().data)
    return digest.hexdigest()[:32]


def unwrap(model: nn.Module) -> nn.Module:
    """The causal LM inside a Trainer's model: without DDP/accelerate wrappers, and for a
    peft model the base model with its LoRA layers in place (what the engine runs)."""
    while isinstance(inner := getattr(model, "module", None), nn.Module):
        model = inner
    get_base = getattr(model, "get_base_model", None)
    if callable(get_base):
        base = get_base()
        if isinstance(base, nn.Module):
            model = base
    return model


def inference_twin(model: nn.Module) -> nn.Module:
    """A copy of the module tree that shares every tensor, with LoRA layers merged and
    every linear layer packed for oneDNN (float32 on a CPU).

    Only the packed weights are new memory; the training model is not changed.
    """
    twin = _structure(model, {})
    _pack(twin)
    twin.eval()
    return twin


def _structure(module: nn.Module, made: dict[int, nn.Module]) -> nn.Module:
    """A copy of the module tree in which every module is a new object but every tensor
    and every other attribute (config, hooks) is the original's.

    Replacing a child or switching the mode of the copy leaves the original as it was,
    and nothing is copied but the modules' own dictionaries: a deepcopy that shares the
    tensors took most of the twin's time, copying configs and peft's bookkeeping.
    A module that appears twice in the tree is copied once (``made``, by id).
    """
    known = made.get(id(module))
    if known is not None:
        return known
    twin = copy.copy(module)
    made[id(module)] = twin
    twin._parameters = dict(module._parameters)
    twin._buffers = dict(module._buffers)
    twin._modules = {
        name: None if child is None else _structure(child, made)
        for name, child in module._modules.items()
    }
    return twin


def _pack(model: nn.Module) -> None:
    """Replace each LoRA layer below `model` by its merged linear layer, fuse sibling
    projections (models/fusion.py) and pack every linear layer, as HFModel loads a model
    for a CPU; a layer that appears twice is merged once.

    One layer after another: oneDNN's reorder and the merge's product already use
    torch's threads, and a thread pool over the layers measured no faster and far less
    steady (0.34 to 0.72 s against 0.34 to 0.36 s on the bundled model)."""
    merged: dict[int, nn.Linear] = {}
    for parent, name, child in _linear_places(model):
        if id(child) not in merged:
            merged[id(child)] = _merged_linear(child)
        setattr(parent, name, merged[id(child)])
    fuse_sibling_linears(model)
    pack_linear_layers(model)


def _linear_places(module: nn.Module) -> list[tuple[nn.Module, str, nn.Module]]:
    """(parent, name, layer) of every linear or LoRA layer below `module`."""
    places = []
    for name, child in module.named_children():
        if isinstance(child, nn.Linear) or _is_lora(child):
            places.append((module, name, child))
        else:
            places += _linear_places(child)
    return places


def _merged_linear(layer: nn.Module) -> nn.Linear:
    """A new linear layer with the layer's weights (a LoRA layer's merged)."""
    weight, bias = _merged(layer)
    base = _base_linear(layer)
    linear = nn.Linear(base.in_features, base.out_features, bias=False, device="meta")
    linear.weight = nn.Parameter(weight, requires_grad=False)
    if bias is not None:
        linear.bias = nn.Parameter(bias, requires_grad=False)
    return linear


def _base_linear(layer: nn.Module) -> nn.Linear:
    get_base = getattr(layer, "get_base_layer", None)
    base = get_base() if callable(get_base) else layer
    if not isinstance(base, nn.Linear):
        raise ModelError(f"cannot pack a {type(base).__name__} layer")
    return base


def _is_lora(layer: nn.Module) -> bool:
    """A peft LoRA layer over a linear one."""
    get_base = getattr(layer, "get_base_layer", None)
    return (
        callable(getattr(layer, "get_delta_weight", None))
        and callable(get_base)
        and isinstance(get_base(), nn.Linear)
    )


def _plain_lora(model: nn.Module) -> bool:
    """Whether no LoRA layer below `model` holds an adapter of a LoRA variant (DoRA...)."""
    return not any(getattr(m, "lora_variant", None) for m in model.modules() if _is_lora(m))


def _merged(layer: nn.Module) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The layer's effective weight and bias: a plain linear one's own; a LoRA layer's
    base ones plus, for each active adapter not merged already, its delta (and its
    bias times the scaling where the adapter trains one), as peft's merge computes them.

    An adapter of a LoRA variant (DoRA and its kin) merges by its own rule, which this
    does not reproduce: it is refused rather than evaluated as if it were plain LoRA."""
    base = _base_linear(layer)
    weight = base.weight.detach()
    bias = None if base.bias is None else base.bias.detach()
    if isinstance(layer, nn.Linear) or getattr(layer, "disable_adapters", False):
        return weight, bias
    merged = set(getattr(layer, "merged_adapters", ()))
    variants = getattr(layer, "lora_variant", {})
    with_bias = getattr(layer, "lora_bias", {})
    get_delta = layer.get_delta_weight
    assert callable(get_delta)  # a LoRA layer (_is_lora)
    with torch.no_grad():
        for adapter in getattr(layer, "active_adapters", ()):
            if adapter in merged or adapter not in getattr(layer, "lora_A", {}):
                continue
            if adapter in variants:
                raise ModelError(
                    f"adapter {adapter!r} is a LoRA variant "
                    f"({type(variants[adapter]).__name__}), which the inference twin "
                    "cannot merge: evaluate the live model itself (twin=False)"
                )
            # In place on the fresh delta: the same sum as weight + delta, one
            # weight-sized allocation fewer.
            weight = get_delta(adapter).add_(weight)
            if with_bias.get(adapter, False):
                lora_bias = layer.lora_B[adapter].bias.detach() * layer.scaling[adapter]
                bias = lora_bias if bias is None else bias + lora_bias
    return weight, bias


class LiveModel(HFModel):
    """A model held in memory (being trained) behind the assay Model protocol.

    It reuses the transformers backend's engine (continuous batching, its stop rules and
    accounting); only identity and the eval-mode bracket differ. Make one per evaluation:
    its fingerprint is the weights' at the time it is made.

    Args:
        model: The model (a transformers causal LM, a peft model, or one wrapped by a
            Trainer).
        tokenizer: Its tokenizer (a chat template for chat prompts).
        spec: How runs show the model ("live:ft-v1@step-20").
        digests: Parameter hashes kept between evaluations of the same training.
        batch_size: Most sequences in flight at once.
        twin: Run on an inference twin (see the module docstring); None: when packing
            applies (float32 on a CPU) and every adapter is plain LoRA (a variant such
            as DoRA merges by its own rule), else on the live model in eval mode.

    Attributes:
        fingerprint_seconds: What hashing the weights took when it was made.
        twin_seconds: What building the inference twin took (0 until it is built).
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer: Any,
        *,
        spec: str,
        digests: ParameterDigests | None = None,
        batch_size: int = 32,
        twin: bool | None = None,
    ) -> None:
        if tokenizer is None:
            raise OptionError("tokenizer", "is needed to render prompts for a live model")
        self.spec = spec
        self.source = str(getattr(getattr(model, "config", None), "name_or_path", "") or spec)
        self.gguf_file = None
        self.options = ModelOptions(batch_size=batch_size, pack_weights=False)
        self.tokenizer = tokenizer
        self.live = unwrap(model)
        self.use_twin = can_pack(self.live) and _plain_lora(self.live) if twin is None else twin
        self._model = None
        self._digests = digests or ParameterDigests()
        began = time.perf_counter()
        self._info = self._identity()
        self.fingerprint_seconds = time.perf_counter() - began
        self.twin_seconds = 0.0

    @property
    def dtype(self) -> torch.dtype:
        return next(self.live.parameters()).dtype

    @property
    def device(self) -> torch.device:
        return next(self.live.parameters()).device

    @property
    def kernels(self) -> str:
        return KERNELS if self.use_twin else "default"

    @property
    def info(self) -> ModelInfo:
        assert self._info is not None  # set in __init__
        return self._info

    def _identity(self) -> ModelInfo:
        details = {
            "backend": "live",
            "base": self.source,
            "weights": f"params:{self._digests.fingerprint(self.live)}",
            "dtype": str(self.dtype).removeprefix("torch."),
            "kernels": self.kernels,
            "tokenizer": text_digest(
                getattr(self.tokenizer, "chat_template", None) or "",
                str(len(self.tokenizer)),
                str(self.tokenizer.bos_token),
                str(self.tokenizer.eos_token),
            ),
        }
        fingerprint = text_digest(json.dumps(details, sort_keys=True))
        return ModelInfo(spec=self.spec, fingerprint=fingerprint, details=details)

    def load(self) -> None:
        _ = self.model

    @property
    def model(self) -> Any:
        if self._model is None:
            began = time.perf_counter()
            self._model = inference_twin(self.live) if self.use_twin else self.live
            self.twin_seconds = time.perf_counter() - began
        return self._model

    def generate(  # type: ignore[override]  # the protocol's signature; serve's extras not offered
        self,
        prompts: Sequence[Prompt],
        params: GenerationParams,
        on_result: ResultCallback | None = None,
    ) -> list[Generation]:
        """Generate with the live weights: the twin, or the live model in eval mode."""
        if self.use_twin:
            return super().generate(prompts, params, on_result)
        training = self.live.training
        self.live.eval()
        try:
            return super().generate(prompts, params, on_result)
        finally:
            self.live.train(training)

    def release(self) -> None:
        """Drop the twin (its packed weights) once the evaluation is over."""
        self._model = None


@dataclass(frozen=True)
class Checkpoint:
    """One in-training evaluation.

    Attributes:
        step: The training step (Trainer's global_step).
        run_id: The stored run.
        summary: Metric name -> mean with its interval.
        seconds: Wall time of the evaluation, everything included.
        twin_seconds: Of which building the inference twin (0 when the live model ran).
    """

    step: int
    run_id: str
    summary: dict[str, MetricSummary]
    seconds: float
    twin_seconds: float


def evaluate_live(
    model: nn.Module,
    tokenizer: Any,
    data: str | Path | Dataset,
    *,
    group: str,
    step: int,
    options: EvalOptions | None = None,
    store: Store | str | None = None,
    digests: ParameterDigests | None = None,
    twin: bool | None = None,
) -> tuple[Run, LiveModel]:
    """Evaluate a model held in memory, as a checkpoint of a training run.

    The run is named "<group> step <step>" and tagged with both (see the module
    docstring); any loop can call this, the callback calls it for the Trainer.

    Returns:
        The stored run and the live model it was made with (its fingerprint and
        how long its twin took).
    """
    options = options or EvalOptions()
    live = LiveModel(
        model,
        tokenizer,
        spec=f"live:{group}@step-{step}",
        digests=digests,
        batch_size=options.model.batch_size,
        twin=twin,
    )
    checkpoint = replace(
        options,
        name=f"{group} step {step}",
        tags=(*options.tags, *checkpoint_tags(group, step)),
    )
    try:
        run = evaluate(live, data, options=checkpoint, store=store)
    finally:
        live.release()
    return run, live


class AssayCallback(TrainerCallback):
    """Evaluate the model being trained on a test set, in process, storing each
    checkpoint as a run (see the module docstring).

    Args:
        data: The test set: a file, hub id, DataFrame or loaded Dataset.
        group: The training run's name: every checkpoint's run is tagged with it.
        every: Evaluate every N optimizer steps; None: at each Trainer evaluation
            (``eval_strategy``) instead.
        metrics: Metric names (default exact_match and f1).
        options: Prompt, generation and data options, as for ``assay.evaluate``.
        store: A Store, a database URL/path, or None for the default store.
        at_start: Also evaluate before the first step (the curve's origin).
        at_end: Also evaluate after the last step, unless it was just evaluated.
        twin: See LiveModel; None chooses.

    Attributes:
        checkpoints: Every evaluation done, in order.
    """

    def __init__(
        self,
        data: Any,
        *,
        group: str,
        every: int | None = None,
        metrics: Sequence[str] | None = None,
        options: EvalOptions | None = None,
        store: Store | str | None = None,
        at_start: bool = True,
        at_end: bool = True,
        twin: bool | None = None,
    ) -> None:
        if not group.strip():
            raise OptionError("group", "must not be empty")
        if every is not None:
            at_least("every", every, 1)
        options = options or EvalOptions(progress=False)
        if metrics is not None:
            options = replace(options, metrics=tuple(metrics))
        self.options = options
        self.dataset = load_dataset(data, **vars(options.data))
        self.group = group
        self.every = every
        self.at_start = at_start
        self.at_end = at_end
        self.twin = twin
        self._store_arg = store
        self._store: Store | None = store if isinstance(store, Store) else None
        self._digests = ParameterDigests()
        self._tokenizer: Any = None
        self.checkpoints: list[Checkpoint] = []

    # -- Trainer events ---------------------------------------------------------------------

    def on_train_begin(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> None:
        self._tokenizer = kwargs.get("processing_class") or kwargs.get("tokenizer")
        if self.at_start and state.global_step == 0:
            self._evaluate(kwargs.get("model"), 0)

    def on_step_end(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> None:
        if self.every is not None and state.global_step % self.every == 0:
            self._evaluate(kwargs.get("model"), state.global_step)

    def on_evaluate(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> None:
        if self.every is None:
            self._evaluate(kwargs.get("model"), state.global_step)

    def on_train_end(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> None:
        try:
            if self.at_end:
                self._evaluate(kwargs.get("model"), state.global_step)
        finally:
            if self._store is not None and not isinstance(self._store_arg, Store):
                self._store.close()
                self._store = None

    # -- the evaluation ---------------------------------------------------------------------

    def _evaluate(self, model: Any, step: int) -> None:
        if model is None:
            raise ModelError("the Trainer passed no model to the assay callback")
        if any(c.step == step for c in self.checkpoints):
            return
        if self._store is None:
            self._store = open_store(
                None if isinstance(self._store_arg, Store) else self._store_arg
            )
        began = time.perf_counter()
        run, live = evaluate_live(
            model,
            self._tokenizer,
            self.dataset,
            group=self.group,
            step=step,
            options=self.options,
            store=self._store,
            digests=self._digests,
            twin=self.twin,
        )
        checkpoint = Checkpoint(
            step=step,
            run_id=run.id,
            summary=dict(run.info.summary),
            seconds=time.perf_counter() - began,
            twin_seconds=live.twin_seconds,
        )
        self.checkpoints.append(checkpoint)
        scores = ", ".join(
            f"{name} {s.mean:.3f} [{s.ci_low:.3f}, {s.ci_high:.3f}]"
            for name, s in checkpoint.summary.items()
        )
        log.info(
            "assay: step %d of %s: %s (run %s, %.1f s)",
            step,
            self.group,
            scores,
            run.id,
            checkpoint.seconds,
        )

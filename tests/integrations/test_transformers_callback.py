"""Evaluation during training: the callback on a real few-step LoRA training of the
bundled model (transformers' Trainer and TRL's SFTTrainer), each checkpoint a run; the
live model's fingerprint; a live checkpoint answers as the same adapter saved and
evaluated separately."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from assay.exceptions import ModelError
from assay.integrations.transformers import LiveModel, ParameterDigests, inference_twin
from assay.models.packing import PackedLinear

REPO = Path(__file__).resolve().parents[2]
TRAIN = REPO / "examples" / "qa" / "train.jsonl"
TEST = REPO / "examples" / "qa" / "test.jsonl"


def test_the_fingerprint_follows_the_weights_and_frozen_ones_are_read_once() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
    model[0].weight.requires_grad_(False)
    digests = ParameterDigests()
    first = digests.fingerprint(model)
    assert digests.fingerprint(model) == first  # same weights, same fingerprint
    before = model[1].weight.detach().clone()
    with torch.no_grad():
        model[1].weight.add_(1e-3)  # a trainable weight, as an optimizer step changes it
    assert digests.fingerprint(model) != first
    with torch.no_grad():
        model[1].weight.copy_(before)  # (subtracting 1e-3 again need not round back)
    assert digests.fingerprint(model) == first  # back to the same values
    memo = dict(digests._memo)
    assert set(memo) == {"0.weight"}  # only the frozen tensor is remembered
    with torch.no_grad():
        model[0].weight.mul_(2.0)  # a frozen tensor written in place: its version moved
    assert digests.fingerprint(model) != first and digests._memo != memo


def test_the_twin_shares_every_tensor_and_leaves_the_model_as_it_was() -> None:
    inner = nn.Linear(4, 4)
    model = nn.Sequential(inner, nn.ReLU(), nn.Sequential(inner, nn.Linear(4, 2)))
    model.train()
    twin = inference_twin(model)

    assert isinstance(model[0], nn.Linear) and isinstance(model[2][1], nn.Linear)  # untouched
    assert model.training and model[2].training  # still training
    assert isinstance(twin[0], PackedLinear) and isinstance(twin[2][1], PackedLinear)
    assert twin[0] is twin[2][0]  # a module used twice is one module in the twin too
    assert not twin.training and not twin[2].training
    assert twin[2][1].bias.data_ptr() == model[2][1].bias.data_ptr()  # shared, not copied
    x = torch.randn(3, 4)
    with torch.inference_mode():
        assert torch.allclose(twin(x), model(x), atol=1e-6)


def _small_lora(config: Any) -> nn.Module:
    """A small stack of linear layers under a peft LoRA with trained (non-zero) weights."""
    from peft import get_peft_model

    torch.manual_seed(0)
    model = get_peft_model(nn.Sequential(nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 8)), config)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_" in name:
                parameter.normal_(std=0.1)  # as after some steps (lora_B starts at zero)
    return model


def test_the_twin_merges_each_adapter_as_its_forward_applies_it() -> None:
    from peft import LoraConfig

    model = _small_lora(LoraConfig(r=4, target_modules=["0", "2"], lora_bias=True))
    base = model.get_base_model()
    twin = inference_twin(base)
    assert isinstance(twin[0], PackedLinear) and isinstance(twin[2], PackedLinear)
    x = torch.randn(5, 32)
    with torch.inference_mode():  # the adapter's bias included, as peft's merge adds it
        assert torch.allclose(twin(x), model(x), atol=1e-5)


def test_a_lora_variant_the_twin_cannot_merge_is_refused(base: tuple[Any, Any]) -> None:
    from peft import LoraConfig

    model = _small_lora(LoraConfig(r=4, target_modules=["0"], use_dora=True))
    with pytest.raises(ModelError, match=r"adapter 'default' is a LoRA variant.*twin=False"):
        inference_twin(model.get_base_model())
    # Left to choose, an evaluation runs the live model itself (peft's DoRA forward).
    assert not LiveModel(model, base[1], spec="live:dora").use_twin


def _script() -> Any:
    spec = importlib.util.spec_from_file_location(
        "train_lora", REPO / "examples" / "finetune" / "train_lora.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def base() -> Iterator[tuple[Any, Any]]:
    """The bundled model's weights (float32, not packed) and tokenizer, once per module."""
    from assay.models.base import ModelOptions
    from assay.models.registry import load_model

    hf = load_model("smollm2-135m-instruct", ModelOptions(pack_weights=False))
    hf.load()  # type: ignore[attr-defined]
    yield hf.model, hf.tokenizer  # type: ignore[attr-defined]


def _lora(model: Any) -> Any:
    import copy

    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    config = LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM")
    return get_peft_model(copy.deepcopy(model), config)


def _trainer(model: Any, tokenizer: Any, out: Path, callbacks: list[Any]) -> Any:
    from transformers import Trainer, TrainingArguments

    script = _script()
    rows = [
        encode for encode in (script.encode(tokenizer, m) for m in script.read_rows([TRAIN], 4))
    ]
    args = TrainingArguments(
        output_dir=str(out),
        max_steps=2,
        per_device_train_batch_size=2,
        learning_rate=5e-3,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        seed=0,
        data_seed=0,
        remove_unused_columns=False,
        disable_tqdm=True,
    )
    return Trainer(
        model=model,
        args=args,
        train_dataset=rows,
        data_collator=script.collate,
        processing_class=tokenizer,
        callbacks=callbacks,
    )


def _callback(db: Path, group: str) -> Any:
    from assay import DataOptions, EvalOptions, GenerationParams
    from assay.integrations.transformers import AssayCallback

    return AssayCallback(
        TEST,
        group=group,
        every=1,
        options=EvalOptions(
            metrics=("exact_match", "f1"),
            data=DataOptions(limit=3),
            generation=GenerationParams(max_new_tokens=12),
            progress=False,
        ),
        store=str(db),
    )


class ModeProbe:
    """Records whether the model is in train mode when the step's callbacks are done."""

    def __init__(self) -> None:
        self.training: list[bool] = []

    def __getattr__(self, name: str) -> Any:
        if name.startswith("on_"):
            return lambda *args, **kwargs: None
        raise AttributeError(name)

    def on_step_end(
        self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any
    ) -> None:
        self.training.append(bool(model.training))


@pytest.mark.slow
def test_each_step_is_a_run_and_the_live_checkpoint_answers_as_the_saved_one(
    base: tuple[Any, Any], tmp_path: Path
) -> None:
    from assay import evaluate
    from assay.card.build import curve
    from assay.models.base import GenerationParams, ModelOptions
    from assay.models.registry import load_model
    from assay.store import open_store

    model, tokenizer = base
    db = tmp_path / "train.db"
    callback = _callback(db, "tiny")
    probe = ModeProbe()
    trainer = _trainer(_lora(model), tokenizer, tmp_path / "out", [callback, probe])
    trainer.train()

    assert [c.step for c in callback.checkpoints] == [0, 1, 2]
    assert probe.training == [True, True]  # back in train mode after every evaluation
    assert all(c.twin_seconds > 0 for c in callback.checkpoints)  # CPU float32: the twin ran
    with open_store(str(db)) as store:
        made = curve(store, "tiny")
        assert made is not None and [p.step for p in made.points] == [0, 1, 2]
        infos = {i.step: i for i in store.list_runs()}
        assert infos[2].name == "tiny step 2" and infos[2].group == "tiny"
        assert infos[2].model_details["backend"] == "live"
        assert len({i.model_fingerprint for i in infos.values()}) == 3  # weights changed
        live = store.load_run(callback.checkpoints[-1].run_id)

    adapter = tmp_path / "adapter"
    trainer.model.save_pretrained(adapter)
    saved = evaluate(
        load_model("smollm2-135m-instruct", ModelOptions(adapter=adapter)),
        TEST,
        ["exact_match", "f1"],
        limit=3,
        max_new_tokens=12,
        progress=False,
        store=str(tmp_path / "separate.db"),
    )
    assert [r.prediction for r in saved.results] == [r.prediction for r in live.results]
    assert GenerationParams(max_new_tokens=12) == saved.info.eval_config.generation


@pytest.mark.slow
def test_the_callback_does_not_change_the_training(base: tuple[Any, Any], tmp_path: Path) -> None:
    model, tokenizer = base
    with_it = _trainer(_lora(model), tokenizer, tmp_path / "a", [_callback(tmp_path / "a.db", "a")])
    with_it.train()
    without = _trainer(_lora(model), tokenizer, tmp_path / "b", [])
    without.train()
    losses = [[e["loss"] for e in t.state.log_history if "loss" in e] for t in (with_it, without)]
    assert losses[0] == losses[1] and len(losses[0]) == 2


@pytest.mark.slow
def test_it_works_with_trl(base: tuple[Any, Any], tmp_path: Path) -> None:
    import trl  # a test dependency: TRL's trainers subclass Trainer and take the callback
    from datasets import Dataset

    model, tokenizer = base
    rows = [json.loads(line) for line in TRAIN.read_text().splitlines()[:4]]
    data = Dataset.from_list(
        [
            {
                "messages": [
                    {"role": "user", "content": r["question"]},
                    {"role": "assistant", "content": r["answer"]},
                ]
            }
            for r in rows
        ]
    )
    callback = _callback(tmp_path / "trl.db", "trl-run")
    config = trl.SFTConfig(
        output_dir=str(tmp_path / "trl"),
        max_steps=1,
        per_device_train_batch_size=2,
        report_to="none",
        save_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
    )
    trainer = trl.SFTTrainer(
        model=_lora(model),
        args=config,
        train_dataset=data,
        processing_class=tokenizer,
        callbacks=[callback],
    )
    trainer.train()
    assert [c.step for c in callback.checkpoints] == [0, 1]
    assert all("exact_match" in c.summary for c in callback.checkpoints)

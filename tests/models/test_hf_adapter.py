"""A LoRA adapter (peft) applied on top of the bundled model, as most fine-tunes ship."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import assay
from assay.data.prompts import Prompt
from assay.exceptions import OptionError
from assay.models.base import GenerationParams, ModelOptions
from assay.models.hf import HFModel
from assay.models.packing import pack_linear_layers

pytestmark = pytest.mark.slow

PROMPTS = [Prompt("What is the capital of France?"), Prompt("Name a primary colour.")]


@pytest.fixture(scope="module")
def adapter_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real LoRA adapter with non-zero weights, saved the way peft saves fine-tunes."""
    from peft import LoraConfig, get_peft_model

    base = assay.load_model(
        "smollm2-135m-instruct", ModelOptions(dtype="float32", pack_weights=False)
    )
    assert isinstance(base, HFModel)
    torch.manual_seed(0)
    config = LoraConfig(
        r=4, lora_alpha=32, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    peft_model = get_peft_model(base.model, config)
    folder = tmp_path_factory.mktemp("adapter")
    peft_model.save_pretrained(folder)
    return folder


def test_adapter_changes_outputs_and_fingerprint(adapter_dir: Path) -> None:
    params = GenerationParams(max_new_tokens=12)
    base = assay.load_model("smollm2-135m-instruct", ModelOptions(dtype="float32"))
    tuned = assay.load_model(
        "smollm2-135m-instruct", ModelOptions(dtype="float32", adapter=adapter_dir)
    )
    assert base.info.fingerprint != tuned.info.fingerprint
    assert tuned.info.details["adapter"]

    base_texts = [g.text for g in base.generate(PROMPTS, params)]
    tuned_texts = [g.text for g in tuned.generate(PROMPTS, params)]
    assert base_texts != tuned_texts


def test_adapter_outputs_match_peft_merged_model(adapter_dir: Path) -> None:
    """The engine with --adapter generates what the merged peft model generates, token for token."""
    from peft import PeftModel

    tuned = assay.load_model(
        "smollm2-135m-instruct", ModelOptions(dtype="float32", adapter=adapter_dir)
    )
    assert isinstance(tuned, HFModel)
    texts = [g.text for g in tuned.generate(PROMPTS, GenerationParams(max_new_tokens=12))]

    reference = assay.load_model(
        "smollm2-135m-instruct", ModelOptions(dtype="float32", pack_weights=False)
    )
    assert isinstance(reference, HFModel)
    merged = PeftModel.from_pretrained(reference.model, str(adapter_dir)).merge_and_unload()
    pack_linear_layers(merged)  # the same kernels assay runs the merged model with
    with torch.inference_mode():
        for prompt, text in zip(PROMPTS, texts, strict=True):
            ids = torch.tensor([tuned.encode(prompt)])
            out = merged.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=12,
                do_sample=False,
            )
            expected = reference.tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)
            assert text == expected


def test_missing_adapter_config_is_a_clear_error(tmp_path: Path) -> None:
    model = assay.load_model("smollm2-135m-instruct", ModelOptions(adapter=tmp_path))
    with pytest.raises(OptionError, match=r"no adapter_config\.json in that folder") as raised:
        model.load()
    assert raised.value.option == "adapter"

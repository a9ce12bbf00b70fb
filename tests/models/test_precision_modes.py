"""Precision modes of the transformers backend: float32 (the default), bfloat16, int8, int4.

The faster modes are opt-in, validated like every other option, and part of the
model fingerprint, so cached outputs of two modes never mix. Float32 stays what it
was: its fingerprint has no new field, and test_hf_generation.py holds its outputs
to transformers' own `generate`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

import assay
from assay import GenerationParams, Prompt
from assay.cli import app
from assay.exceptions import OptionError
from assay.models.continuous_batching import TokenLogprobs
from assay.models.hf import DTYPES, HFModel
from assay.models.packing import packable_dtype
from assay.models.quantization import Int4Linear, int4_fits

ALIAS = "smollm2-135m-instruct"
MODES = {
    "float32": assay.ModelOptions(dtype="float32"),
    "bfloat16": assay.ModelOptions(dtype="bfloat16"),
    "int8": assay.ModelOptions(dtype="float32", quantize="int8"),
    "int4": assay.ModelOptions(dtype="float32", quantize="int4"),
}


def hf(options: assay.ModelOptions) -> HFModel:
    model = assay.load_model(ALIAS, options)
    assert isinstance(model, HFModel)
    return model


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"quantize": "int3"}, "quantize 'int3' is not one of: int8, int4"),
        ({"quantize": ""}, "quantize '' is not one of: int8, int4"),
        ({"quantize": "int4", "dtype": "bfloat16"}, "quantize int4 runs on float32 weights"),
        ({"quantize": "int8", "dtype": "bfloat16"}, "quantize int8 runs on float32 weights"),
        ({"quantize": "int8", "dtype": "float16"}, "quantize int8 runs on float32 weights"),
    ],
)
def test_bad_quantize_is_an_option_error(options: dict[str, str], problem: str) -> None:
    with pytest.raises(OptionError) as caught:
        assay.ModelOptions(**options)  # type: ignore[arg-type]
    assert caught.value.option == "quantize"
    assert str(caught.value).startswith(problem)


def test_cli_names_the_quantize_flag(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"id": "q1", "question": "Q?", "answer": "A"}\n')
    args = ["eval", "--model", ALIAS, "--data", str(data), "--quantize", "int3"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "--quantize 'int3' is not one of: int8, int4" in result.output
    assert "Traceback" not in result.output


def test_each_mode_has_its_own_fingerprint() -> None:
    infos = {name: hf(options).info for name, options in MODES.items()}
    assert len({info.fingerprint for info in infos.values()}) == len(MODES)
    assert infos["bfloat16"].details["dtype"] == "bfloat16"
    assert infos["int8"].details["quantize"] == "int8"
    assert infos["int8"].details["kernels"] == "fbgemm-int8-dynamic-fused"
    assert infos["int4"].details["kernels"] == "torch-int4-weight-g32-fused"
    # float32's identity fields are the ones it always had, so its cached runs still match.
    assert set(infos["float32"].details) == {
        "backend", "weights", "dtype", "adapter", "kernels", "tokenizer"
    }  # fmt: skip
    assert infos["float32"].details["kernels"] == "onednn-packed-fused"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["bfloat16", "int8", "int4"])
def test_fast_modes_generate_on_the_real_model(mode: str) -> None:
    model = hf(MODES[mode])
    prompts = [Prompt(content="What is the capital of France?", chat=True)] * 3
    generations = model.generate(prompts, GenerationParams(max_new_tokens=16))
    assert [g.text for g in generations] == [generations[0].text] * 3
    # On topic; the words depend on the CPU's kernels: int4 on an AVX2 CPU answers
    # "L'Étoile, the capital of France." where AVX-512's kernel names Paris.
    assert "Paris" in generations[0].text or "France" in generations[0].text
    for generation in generations:
        assert 0 < generation.completion_tokens <= 16
        assert generation.finish_reason in {"stop", "length"}
    weights = {p.dtype for p in model.model.parameters()}
    modules = dict(model.model.named_modules())
    if mode == "bfloat16":
        assert weights == {torch.bfloat16}
    elif mode == "int4":  # every projection and the head, down projections too
        quantized = [n for n, m in modules.items() if isinstance(m, Int4Linear)]
        assert len(quantized) == 30 * 4 + 1  # q/k/v fused, o, gate/up fused, down
    else:  # int8 weights live outside parameters; embeddings and down projections stay float32
        quantized = [n for n, m in modules.items() if m._get_name() == "DynamicQuantizedLinear"]
        assert len(quantized) == 30 * 3 + 1  # q/k/v fused, o, gate/up fused; the head
        assert not any(name.endswith("down_proj") for name in quantized)


def test_int4_recovers_weights_already_in_its_form_and_keeps_odd_layers() -> None:
    torch.manual_seed(0)
    linear = torch.nn.Linear(64, 32)
    with torch.no_grad():  # every group of 32 inputs on 16 levels: what Q4_1 dequantises to
        levels = torch.randint(0, 16, (32, 64)).float()
        levels[:, ::32], levels[:, 1::32] = 0, 15  # each group spans its whole range
        low, step = torch.randn(32, 2, 1) * 0.1, torch.rand(32, 2, 1) * 0.01 + 1e-3
        linear.weight.copy_((low + levels.reshape(32, 2, 32) * step).reshape(32, 64))
    x = torch.randn(5, 64)
    # Exact but for bfloat16: the kernel takes bfloat16 activations, scales and minima.
    reference = torch.nn.functional.linear(
        x.bfloat16().float(), linear.weight.bfloat16().float(), linear.bias
    )
    assert torch.allclose(Int4Linear(linear)(x), reference, rtol=2e-2, atol=2e-2)
    assert not int4_fits(torch.nn.Linear(48, 32))  # inputs not in whole groups of 32
    assert not int4_fits(torch.nn.Linear(64, 24))  # outputs not a multiple of 16


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_a_dtype_this_cpu_only_emulates_is_warned_of(
    dtype: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Emulated bfloat16 or float16 matrix kernels run slower than float32: said at load."""
    model = hf(assay.ModelOptions(dtype=dtype))  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="assay"):
        model.load()
    emulated = not packable_dtype(DTYPES[dtype])
    assert (f"no native {dtype} matrix kernels" in caplog.text) == emulated
    assert dtype == "bfloat16" or emulated  # float16 is never native to oneDNN's CPU path


INT4_ONLY = "on a CPU with quantize int4 only"


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"dtype": "float32", "batch_size": 1}, INT4_ONLY),
        ({"dtype": "bfloat16", "batch_size": 1}, INT4_ONLY),
        ({"quantize": "int8", "batch_size": 1}, INT4_ONLY),
        ({"quantize": "int4", "batch_size": 8}, "one sequence at a time: set batch size 1"),
    ],
    ids=["float32", "bfloat16", "int8", "batch-8"],
)
def test_compile_refuses_what_it_cannot_compile(options: dict[str, Any], problem: str) -> None:
    if options.get("dtype") == "bfloat16" and not packable_dtype(torch.bfloat16):
        # Unpacked (the CPU has no native bfloat16): Inductor compiles it like any model.
        assert hf(assay.ModelOptions(compile=True, **options)).info.details["compiled"]
        return
    with pytest.raises(OptionError) as caught:  # before any weight loads
        hf(assay.ModelOptions(compile=True, **options))
    assert caught.value.option == "compile"
    assert problem in str(caught.value)


def _steps(model: HFModel, prompt: Prompt, tokens: int) -> list[tuple[int, TokenLogprobs]]:
    """Each generated token, its log-probability and the two likeliest tokens."""
    steps: list[tuple[int, TokenLogprobs]] = []

    def told(index: int, token: int, detail: TokenLogprobs | None) -> None:
        assert detail is not None
        steps.append((token, detail))

    model.generate([prompt], GenerationParams(max_new_tokens=tokens), on_token=told, logprobs=2)
    return steps


@pytest.mark.slow
def test_a_compiled_decode_step_compiles_once_at_load_and_follows_the_eager_one() -> None:
    """The real compile (about a minute on this CPU), at load; then prompts of other
    lengths decode without compiling again, and each step's token and log-probability
    are the eager int4 step's, up to the fused kernels' rounding, which the int4
    kernel's bfloat16 activations magnify (on the bundled model within 0.04 on an
    AVX-512 CPU, 0.11 on an AVX2 one; where eager's two likeliest tokens tied, the
    compiled step took the other)."""
    import torch._dynamo

    eager = hf(MODES["int4"])
    compiled = hf(assay.ModelOptions(dtype="float32", quantize="int4", compile=True, batch_size=1))
    assert compiled.info.details["compiled"] == "inductor"
    assert compiled.info.fingerprint != eager.info.fingerprint
    compiled.load()
    questions = [
        "What is the capital of France?",
        "Name the largest ocean on Earth.",
        "Which planet is known as the red planet, and why is it that colour?",
    ]
    with torch._dynamo.config.patch(error_on_recompile=True):
        for question in questions:
            prompt = Prompt(content=question, chat=True)
            steps = zip(_steps(compiled, prompt, 6), _steps(eager, prompt, 6), strict=False)
            for (token, mine), (their_token, theirs) in steps:
                if token != their_token:  # only a near tie may fall the other way
                    (_, best), (_, runner_up) = theirs.top
                    assert token in dict(theirs.top) and best - runner_up < 0.25
                    break
                assert abs(mine.logprob - theirs.logprob) < 0.25

"""Generation with the real bundled model (SmolLM2-135M-Instruct, float32, CPU).

Greedy decoding is compared against transformers' own `model.generate`, and
against itself at other batch sizes, so the continuous-batching engine is held
to "same tokens as the reference implementation, whatever the batching".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import torch

import assay
from assay import GenerationParams, Prompt, PromptConfig
from assay.data import build_prompts, load_dataset
from assay.exceptions import ModelError
from assay.models.hf import HFModel

ModelWithBatch = Callable[[int], HFModel]

REPO = Path(__file__).parents[2]
QA = REPO / "examples" / "qa" / "test.jsonl"
LAMINI = REPO / "tests" / "files" / "lamini_docs_test_head3.jsonl"  # first rows of lamini_docs


def qa_prompts(limit: int | None = None) -> list[Prompt]:
    """The chat prompts of examples/qa/test.jsonl, as the runner builds them."""
    dataset = load_dataset(QA, limit=limit)
    return build_prompts(PromptConfig(), dataset.examples, model_has_chat_template=True)


def texts(model: HFModel, prompts: Sequence[Prompt], params: GenerationParams) -> list[str]:
    return [g.text for g in model.generate(prompts, params)]


def differences(ids: Sequence[str], a: Sequence[str], b: Sequence[str]) -> str:
    return "\n".join(f"{i}:\n  {x!r}\n  {y!r}" for i, x, y in zip(ids, a, b, strict=True) if x != y)


# -- specs that do not load (fast) -------------------------------------------------------


def test_unknown_alias_lists_the_bundled_ones() -> None:
    with pytest.raises(ModelError) as caught:
        assay.load_model("smollm3-135m-instruct")
    message = str(caught.value)
    assert "unknown model 'smollm3-135m-instruct'" in message
    assert "smollm2-135m-instruct" in message and "gemma3-270m" in message


def test_missing_gguf_file() -> None:
    with pytest.raises(ModelError, match=re.escape("no such GGUF file '/no/such/file.gguf'")):
        assay.load_model("gguf:/no/such/file.gguf")


# -- the real model ----------------------------------------------------------------------


@pytest.mark.slow
def test_evaluate_end_to_end(smollm2: HFModel, tmp_path: Path) -> None:
    run = assay.evaluate(
        smollm2,
        QA,
        ["exact_match", "f1"],
        store=str(tmp_path / "a.db"),
        limit=4,
        max_new_tokens=24,
        progress=False,
    )
    assert len(run.results) == 4
    assert run.info.stats.generated == 4
    assert run.info.model_details["dtype"] == "float32"
    assert list(run.summary().index) == ["exact_match", "f1"]
    for result in run.results:
        assert result.prediction.strip()
        assert result.prompt.startswith("<|im_start|>")  # the chat template was applied
        assert result.prompt_tokens > 0
        assert 0 < result.completion_tokens <= 24
        assert result.finish_reason in {"stop", "length"}
        assert result.error is None


@pytest.mark.slow
def test_engine_matches_transformers_generate(smollm2: HFModel) -> None:
    prompts = qa_prompts(limit=6)
    engine = smollm2.generate(prompts, GenerationParams(max_new_tokens=32))
    end_of_turn = smollm2.tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert end_of_turn == smollm2.tokenizer.eos_token_id

    for prompt, generation in zip(prompts, engine, strict=True):
        ids = smollm2.encode(prompt)
        with torch.inference_mode():
            out = smollm2.model.generate(
                input_ids=torch.tensor([ids]),
                attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                max_new_tokens=32,
                do_sample=False,
                eos_token_id=end_of_turn,
                pad_token_id=end_of_turn,
            )
        tokens = out[0, len(ids) :].tolist()
        expected = smollm2.tokenizer.decode(tokens, skip_special_tokens=True)
        assert generation.text == expected, f"{prompt.content!r}"
        assert generation.completion_tokens == len(tokens)
        assert generation.prompt_tokens == len(ids)
        finished = tokens[-1] == end_of_turn
        assert generation.finish_reason == ("stop" if finished else "length")


@pytest.mark.slow
def test_greedy_outputs_do_not_depend_on_batch_size(model_with_batch: ModelWithBatch) -> None:
    prompts = qa_prompts()
    assert len(prompts) == 48
    ids = [p.example.id if p.example else "?" for p in prompts]
    params = GenerationParams(max_new_tokens=24)
    outputs = {size: texts(model_with_batch(size), prompts, params) for size in (1, 5, 16)}
    for size in (5, 16):
        assert outputs[size] == outputs[1], (
            f"batch size {size} differs from batch size 1 on:\n"
            + differences(ids, outputs[1], outputs[size])
        )


@pytest.mark.slow
def test_stop_string_ends_the_text(smollm2: HFModel) -> None:
    prompts = [
        Prompt("Write a numbered list of five fruits."),
        Prompt("List three colours, one per line."),
    ]
    full = smollm2.generate(prompts, GenerationParams(max_new_tokens=32))
    stopped = smollm2.generate(prompts, GenerationParams(max_new_tokens=32, stop=("\n",)))
    for whole, cut in zip(full, stopped, strict=True):
        assert "\n" in whole.text  # the lists do run over several lines
        assert "\n" not in cut.text
        assert cut.finish_reason == "stop"
        assert cut.text == whole.text.split("\n")[0]
        assert cut.completion_tokens < whole.completion_tokens


@pytest.mark.slow
def test_too_long_prompt_is_refused_without_truncation(smollm2: HFModel) -> None:
    long = Prompt(" ".join(["lorem"] * 9000), chat=False)
    assert len(smollm2.encode(long)) > smollm2.context_length == 8192
    with pytest.raises(ModelError) as caught:
        smollm2.generate([long], GenerationParams(max_new_tokens=4, truncate=False))
    message = str(caught.value)
    assert "prompt 0 has" in message and "8192" in message and "--no-truncate" in message


@pytest.mark.slow
def test_too_long_prompt_is_cut_from_the_left() -> None:
    # A full 8k-token prefill takes ~45 s on a 2-core CPU, so this model declares a
    # 256-token context: the same cut, on the real weights, tokenizer and engine.
    model = assay.load_model("smollm2-135m-instruct", assay.ModelOptions(dtype="float32"))
    assert isinstance(model, HFModel)
    model.model.config.max_position_embeddings = 256
    assert model.context_length == 256
    long = Prompt(" ".join(["lorem"] * 500), chat=False)
    total = len(model.encode(long))
    short = Prompt("What is the capital of France?", chat=False)

    cut, untouched = model.generate([long, short], GenerationParams(max_new_tokens=8))
    assert cut.prompt_tokens == 256 - 8
    assert cut.truncated_tokens == total - (256 - 8) > 0
    assert cut.finish_reason in {"stop", "length"} and cut.completion_tokens > 0
    assert untouched.truncated_tokens == 0
    assert untouched.prompt_tokens == len(model.encode(short))


@pytest.mark.slow
def test_open_ended_answers_score_zero_exact_match(smollm2: HFModel, tmp_path: Path) -> None:
    run = assay.evaluate(
        smollm2,
        LAMINI,
        ["exact_match", "f1", "embedding"],
        store=str(tmp_path / "a.db"),
        max_new_tokens=48,
        progress=False,
    )
    summary = run.summary()
    assert summary["n"].tolist() == [3, 3, 3]
    # Paragraph-long references are never matched word for word, but overlap in words
    # and meaning: exact match says nothing, f1 and embedding similarity do.
    assert summary.loc["exact_match", "mean"] == 0.0
    assert summary.loc["f1", "mean"] > 0.05
    assert summary.loc["embedding", "mean"] > 0.2


@pytest.mark.slow
def test_sampling_is_reproducible_across_runs_and_batch_sizes(
    model_with_batch: ModelWithBatch,
) -> None:
    prompts = qa_prompts(limit=6)
    sampled = GenerationParams(max_new_tokens=16, temperature=0.8, seed=7)
    first = texts(model_with_batch(1), prompts, sampled)
    assert texts(model_with_batch(1), prompts, sampled) == first
    assert texts(model_with_batch(4), prompts, sampled) == first

    # And sampling does sample: another seed, or greedy decoding, gives other texts.
    reseeded = GenerationParams(max_new_tokens=16, temperature=0.8, seed=8)
    assert texts(model_with_batch(4), prompts, reseeded) != first
    assert texts(model_with_batch(4), prompts, GenerationParams(max_new_tokens=16)) != first

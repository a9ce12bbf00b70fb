"""Generation throughput: a per-example loop, the batched HF pipeline, and assay eval.

Runs the same prompts through the bundled SmolLM2-135M-Instruct (float32,
greedy) in one process, four ways:

1. loop      — `model.generate` one example at a time (what a notebook does);
2. pipeline  — `transformers.pipeline("text-generation", batch_size=B)`;
3. sorted    — length-sorted, left-padded batches of B through `model.generate`
               (for context: what batching alone buys);
4. assay     — `assay.evaluate` (continuous batching over a slot cache, linear
               weights prepacked for oneDNN, results stored in SQLite).

The three baselines run the model as transformers loads it (default CPU kernels).

Prints examples/s and generated tokens/s for each, the ratios against the loop
and the pipeline, and every example whose output differs from the loop's.

    python perf/bench_generate.py                 # 64 prompts, 128 new tokens
    python perf/bench_generate.py --n 16 --max-new-tokens 32   # quick look
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

import assay
from assay.data import PromptConfig, build_prompts, load_dataset
from assay.models.base import ModelOptions
from assay.models.hf import HFModel

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT / "examples/qa/train.jsonl"))
    parser.add_argument("--n", type=int, default=64, help="prompts to run")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--output", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()

    torch.manual_seed(0)
    dataset = load_dataset(args.data, limit=args.n)
    model = assay.load_model(
        "smollm2-135m-instruct", ModelOptions(dtype="float32", batch_size=args.batch_size)
    )
    # The baselines get the model as transformers loads it, with its default CPU kernels.
    plain = assay.load_model(
        "smollm2-135m-instruct",
        ModelOptions(dtype="float32", batch_size=args.batch_size, pack_weights=False),
    )
    assert isinstance(model, HFModel) and isinstance(plain, HFModel)
    model.load()
    plain.load()
    prompts = build_prompts(PromptConfig(), dataset.examples, model_has_chat_template=True)
    encoded = [model.encode(p) for p in prompts]
    eos = model.tokenizer.eos_token_id
    print(
        f"{len(prompts)} prompts from {args.data}, max_new_tokens={args.max_new_tokens}, "
        f"batch size {args.batch_size}, {torch.get_num_threads()} threads, float32 greedy; "
        f"assay's kernels: {model.kernels}, the baselines': {plain.kernels}"
    )

    methods: dict[str, Callable[[], list[list[int]] | list[str]]] = {
        "loop": lambda: per_example_loop(plain, encoded, args.max_new_tokens, eos),
        "pipeline": lambda: hf_pipeline(plain, prompts, args.max_new_tokens, args.batch_size),
        "sorted": lambda: sorted_batches(plain, encoded, args.max_new_tokens, eos, args.batch_size),
        "assay": lambda: assay_eval(model, dataset, args.max_new_tokens),
    }
    outputs: dict[str, list[str]] = {}
    seconds: dict[str, float] = {}
    tokens = 0
    for name, method in methods.items():
        began = time.perf_counter()
        produced = method()
        seconds[name] = time.perf_counter() - began
        if name == "loop":
            tokens = sum(len(t) for t in produced)
        outputs[name] = [t if isinstance(t, str) else model._decode(t) for t in produced]
        print(f"  {name:9s} {seconds[name]:8.1f} s")

    reference = outputs["loop"]
    report = {}
    print(
        f"\n{'method':10s} {'ex/s':>8s} {'tok/s':>8s} {'vs loop':>8s} {'vs pipeline':>12s} {'differ':>7s}"
    )
    for name in methods:
        differ = [
            i for i, (a, b) in enumerate(zip(reference, outputs[name], strict=True)) if a != b
        ]
        report[name] = {
            "seconds": round(seconds[name], 2),
            "examples_per_second": round(len(prompts) / seconds[name], 3),
            "tokens_per_second": round(tokens / seconds[name], 1),
            "speedup_vs_loop": round(seconds["loop"] / seconds[name], 2),
            "speedup_vs_pipeline": round(seconds["pipeline"] / seconds[name], 2),
            "outputs_differing_from_loop": len(differ),
        }
        row = report[name]
        print(
            f"{name:10s} {row['examples_per_second']:8.2f} {row['tokens_per_second']:8.1f} "
            f"{row['speedup_vs_loop']:7.2f}x {row['speedup_vs_pipeline']:11.2f}x {len(differ):7d}"
        )
        for i in differ:
            print(f"    example {dataset.examples[i].id} differs from the loop:")
            print(f"      loop : {reference[i]!r}")
            print(f"      {name:5s}: {outputs[name][i]!r}")
    print(f"\n{tokens} tokens generated per method (the loop's count, eos included)")
    if args.output:
        args.output.write_text(json.dumps(report, indent=2))


def per_example_loop(
    model: HFModel, encoded: list[list[int]], max_new: int, eos: int
) -> list[list[int]]:
    outputs = []
    with torch.inference_mode():
        for ids in encoded:
            input_ids = torch.tensor([ids])
            out = model.model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                max_new_tokens=max_new,
                do_sample=False,
                eos_token_id=eos,
                pad_token_id=eos,
            )
            outputs.append(_trim(out[0, len(ids) :].tolist(), eos))
    return outputs


def hf_pipeline(model: HFModel, prompts: list, max_new: int, batch_size: int) -> list[str]:
    from transformers import pipeline

    tokenizer = model.tokenizer
    tokenizer.padding_side = "left"
    generator = pipeline("text-generation", model=model.model, tokenizer=tokenizer)
    texts = [model.render(p) for p in prompts]
    results = generator(
        texts,
        batch_size=batch_size,
        max_new_tokens=max_new,
        do_sample=False,
        return_full_text=False,
        add_special_tokens=False,
    )
    return [r[0]["generated_text"] for r in results]


def sorted_batches(
    model: HFModel, encoded: list[list[int]], max_new: int, eos: int, batch_size: int
) -> list[list[int]]:
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    outputs: list[list[int]] = [[] for _ in encoded]
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            width = max(len(encoded[i]) for i in batch)
            input_ids = torch.full((len(batch), width), eos, dtype=torch.long)
            mask = torch.zeros_like(input_ids)
            for row, i in enumerate(batch):
                input_ids[row, width - len(encoded[i]) :] = torch.tensor(encoded[i])
                mask[row, width - len(encoded[i]) :] = 1
            out = model.model.generate(
                input_ids=input_ids,
                attention_mask=mask,
                max_new_tokens=max_new,
                do_sample=False,
                eos_token_id=eos,
                pad_token_id=eos,
            )
            for row, i in enumerate(batch):
                outputs[i] = _trim(out[row, width:].tolist(), eos)
    return outputs


def assay_eval(model: HFModel, dataset: assay.Dataset, max_new: int) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        run = assay.evaluate(
            model,
            dataset,
            metrics=[],
            store=str(Path(folder) / "bench.db"),
            max_new_tokens=max_new,
            use_cache=False,
            progress=False,
        )
    return [result.prediction for result in run.results]


def _trim(tokens: list[int], eos: int) -> list[int]:
    """Tokens up to and including the first end-of-sequence; padding after it dropped."""
    return tokens[: tokens.index(eos) + 1] if eos in tokens else tokens


if __name__ == "__main__":
    main()

"""Generation throughput: assay's precision modes against llama.cpp and the HF pipeline.

Runs the same prompts (the chat prompts of examples/qa/train.jsonl, greedy) in one
process, side by side, so the ratios hold even on a busy machine:

- llama.cpp  — its server in process through the `xllamacpp` wheel, on the GGUF the
               bundled SmolLM2-135M-Instruct ships as (Q4_1), with 32 slots and with 1;
               the prompts are sent as assay's token ids, so both see the same tokens;
- pipeline   — `transformers.pipeline("text-generation", batch_size=32)`, float32,
               the model as transformers loads it (its default CPU kernels);
- assay      — `HFModel.generate` (continuous batching) in float32, bfloat16, int8 and
               int4 (ModelOptions.dtype / .quantize), at batch 32 and at batch 1, and
               int4 with its decode step compiled (ModelOptions.compile, one sequence
               at a time: batch 1 only; the compile at load is timed apart, as
               loading is for every engine).

The batch-1 rows run the first --n-single prompts only (single-stream decoding of all
64 would take most of the run); tokens/s is comparable across rows, seconds is not.

Prints one table: tokens/s, the ratio to llama.cpp at the same parallelism and to the
pipeline, how many outputs differ from assay float32's at the same batch size, and
the token-F1 against the references; then, per assay mode, one decode step's time
split into linear layers, attention and everything else (torch.profiler; the
profiler's own cost lands in "rest"); and the load average before and after.

    pip install xllamacpp        # the benchmark's only extra; not a dependency of assay
    python perf/bench_generate.py                       # 64 prompts, 128 new tokens
    python perf/bench_generate.py --n 16 --n-single 4 --max-new-tokens 32   # quick look
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile

import assay
from assay.data import PromptConfig, build_prompts, load_dataset
from assay.data.prompts import Prompt
from assay.metrics.f1 import token_f1
from assay.models.base import GenerationParams, ModelOptions
from assay.models.bundled import BUNDLED_MODELS
from assay.models.hf import HFModel
from assay.models.packing import packable_dtype

ROOT = Path(__file__).resolve().parent.parent
ALIAS = "smollm2-135m-instruct"
MODES = {
    "fp32": ModelOptions(dtype="float32"),
    "bf16": ModelOptions(dtype="bfloat16"),
    "int8": ModelOptions(dtype="float32", quantize="int8"),
    "int4": ModelOptions(dtype="float32", quantize="int4"),
    "int4+compile": ModelOptions(dtype="float32", quantize="int4", compile=True),
}
LINEAR_OPS = ("_linear_pointwise", "linear_dynamic", "int4pack_mm", "aten::addmm", "aten::mm")
ATTENTION_OPS = ("scaled_dot_product",)


@dataclass
class Row:
    """One engine at one parallelism."""

    engine: str
    batch: int
    prompts: int
    tokens: int
    seconds: float
    texts: list[str]
    load: float

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds


@dataclass
class StepSplit:
    """Milliseconds of one decode step, by where they go."""

    mode: str
    batch: int
    linear_ms: float
    attention_ms: float
    rest_ms: float


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT / "examples/qa/train.jsonl"))
    parser.add_argument("--n", type=int, default=64, help="prompts for the batch-32 rows")
    parser.add_argument("--n-single", type=int, default=16, help="prompts for the batch-1 rows")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="for torch and llama.cpp")
    parser.add_argument("--skip", nargs="*", default=[], help="engines to leave out")
    parser.add_argument("--output", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if "bf16" not in args.skip and not packable_dtype(torch.bfloat16):
        print("bf16 left out: this CPU has no native bfloat16 (PyTorch would emulate it)")
        args.skip.append("bf16")
    dataset = load_dataset(args.data, limit=args.n)
    references = [str(e.reference) for e in dataset.examples]
    models = {  # float32 always: llama.cpp's rows are given its token ids
        name: load(options, 1 if options.compile else args.batch_size)
        for name, options in MODES.items()
        if name == "fp32" or name not in args.skip
    }
    first = models["fp32"]
    prompts = build_prompts(PromptConfig(), dataset.examples, model_has_chat_template=True)
    single = prompts[: args.n_single]
    params = GenerationParams(max_new_tokens=args.max_new_tokens)
    began_load = os.getloadavg()
    print(
        f"{len(prompts)} prompts ({len(single)} at batch 1) from {args.data}, "
        f"max_new_tokens={args.max_new_tokens}, {args.threads} threads, greedy; "
        f"kernels: " + ", ".join(f"{n} {m.kernels}" for n, m in models.items())
    )
    print(f"CPU: {cpu_features()}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in began_load)}")

    runs: list[tuple[str, int, Callable[[], tuple[list[str], int]]]] = []
    wide, narrow = args.batch_size, 1
    if "llama.cpp" not in args.skip and importlib.util.find_spec("xllamacpp") is not None:
        runs.append(
            ("llama.cpp", wide, lambda: llama_cpp(first, prompts, params, wide, args.threads))
        )
    if "pipeline" not in args.skip:
        runs.append(("pipeline", wide, lambda: hf_pipeline(prompts, params, wide)))
    for name, model in models.items():
        if name not in args.skip and not model.options.compile:  # compiled: one at a time
            runs.append((f"assay {name}", wide, bind(assay_generate, model, prompts, params)))
    if "llama.cpp" not in args.skip and importlib.util.find_spec("xllamacpp") is not None:
        runs.append(
            ("llama.cpp", narrow, lambda: llama_cpp(first, single, params, 1, args.threads))
        )
    for name, model in models.items():
        if name not in args.skip:
            runs.append((f"assay {name}", narrow, bind(assay_generate, model, single, params, 1)))

    rows: list[Row] = []
    for engine, batch, method in runs:
        count = len(prompts) if batch > 1 else len(single)
        began = time.perf_counter()
        texts, tokens = method()
        seconds = time.perf_counter() - began
        rows.append(Row(engine, batch, count, tokens, seconds, texts, os.getloadavg()[0]))
        print(f"  {engine:11s} batch {batch:2d}: {tokens:6d} tokens {seconds:7.1f} s")

    splits = [
        step_split(name, model, prompts[:batch], batch)
        for batch in (wide, narrow)
        for name, model in models.items()
        if name not in args.skip and (batch == narrow or not model.options.compile)
    ]
    ended_load = os.getloadavg()
    print_table(rows, references)
    print_splits(splits)
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in ended_load)}")
    if args.output:
        figures = {
            "load_before": began_load,
            "load_after": ended_load,
            "rows": [
                {**{k: v for k, v in asdict(r).items() if k != "texts"}, "tps": r.tokens_per_second}
                for r in rows
            ],
            "steps": [asdict(s) for s in splits],
        }
        args.output.write_text(json.dumps(figures, indent=2))


def cpu_features() -> str:
    """The CPU's name and the matrix features that decide which modes pay."""
    capabilities = torch.cpu.get_capabilities()
    features = ("avx2", "avx512_f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
    present = [name for name in features if capabilities.get(name)]
    return f"{capabilities.get('cpu_name', '?')}, {', '.join(present) or 'no AVX2'}"


def load(options: ModelOptions, batch_size: int) -> HFModel:
    """The model loaded (and compiled, in a compiled mode: the time is printed apart)."""
    model = assay.load_model(ALIAS, replace(options, batch_size=batch_size))
    assert isinstance(model, HFModel)
    began = time.perf_counter()
    model.load()
    if options.compile:
        print(f"  compiled at load: {time.perf_counter() - began:.0f} s", flush=True)
    return model


def bind(
    function: Callable[..., tuple[list[str], int]], *arguments: Any
) -> Callable[[], tuple[list[str], int]]:
    return lambda: function(*arguments)


def assay_generate(
    model: HFModel, prompts: Sequence[Prompt], params: GenerationParams, batch: int | None = None
) -> tuple[list[str], int]:
    """assay's engine at the model's batch size, or at `batch`."""
    saved = model.options
    if batch is not None:
        model.options = replace(saved, batch_size=batch)
    try:
        generations = model.generate(prompts, params)
    finally:
        model.options = saved
    return [g.text for g in generations], sum(g.completion_tokens for g in generations)


def llama_cpp(
    model: HFModel, prompts: Sequence[Prompt], params: GenerationParams, slots: int, threads: int
) -> tuple[list[str], int]:
    """llama.cpp's server in process, `slots` requests in flight, on the bundled GGUF."""
    import xllamacpp

    encoded = [model.encode(p) for p in prompts]
    server_params = xllamacpp.CommonParams()
    server_params.model.path = str(BUNDLED_MODELS[ALIAS].gguf_path())
    server_params.n_parallel = slots
    per_slot = max(len(ids) for ids in encoded) + params.max_new_tokens + 16
    server_params.n_ctx = slots * per_slot
    server_params.cpuparams.n_threads = threads
    server_params.cpuparams_batch.n_threads = threads
    server_params.verbosity = 0
    server = xllamacpp.Server(server_params)
    server.handle_completions({"prompt": encoded[0], "max_tokens": 4, "temperature": 0})

    def one(ids: list[int]) -> dict[str, Any]:
        request = {"prompt": ids, "max_tokens": params.max_new_tokens, "temperature": 0}
        return dict(server.handle_completions(request))

    with ThreadPoolExecutor(max_workers=slots) as pool:
        results = list(pool.map(one, encoded))
    texts = [r["choices"][0]["text"] for r in results]
    return texts, sum(int(r["usage"]["completion_tokens"]) for r in results)


def hf_pipeline(
    prompts: Sequence[Prompt], params: GenerationParams, batch_size: int
) -> tuple[list[str], int]:
    """transformers' text-generation pipeline on the model as transformers loads it."""
    from transformers import pipeline

    plain = assay.load_model(ALIAS, ModelOptions(dtype="float32", pack_weights=False))
    assert isinstance(plain, HFModel)
    tokenizer = plain.tokenizer
    tokenizer.padding_side = "left"
    generator = pipeline("text-generation", model=plain.model, tokenizer=tokenizer)
    texts = [plain.render(p) for p in prompts]
    results = generator(
        texts,
        batch_size=batch_size,
        max_new_tokens=params.max_new_tokens,
        do_sample=False,
        return_full_text=False,
        add_special_tokens=False,
    )
    outputs = [r[0]["generated_text"] for r in results]
    tokens = sum(len(tokenizer(t, add_special_tokens=False).input_ids) + 1 for t in outputs)
    return outputs, tokens


def step_split(mode: str, model: HFModel, prompts: Sequence[Prompt], batch: int) -> StepSplit:
    """One decode step's milliseconds: 17 tokens profiled minus 1 (the prefill), over 16."""
    figures = []
    for new_tokens in (1, 17):
        with profile(activities=[ProfilerActivity.CPU]) as run:
            assay_generate(model, prompts, GenerationParams(max_new_tokens=new_tokens), batch)
        averages = run.key_averages()
        total = sum(e.self_cpu_time_total for e in averages)
        linear = sum(e.self_cpu_time_total for e in averages if any(o in e.key for o in LINEAR_OPS))
        attention = sum(
            e.self_cpu_time_total for e in averages if any(o in e.key for o in ATTENTION_OPS)
        )
        figures.append((linear, attention, total - linear - attention))
    (l1, a1, r1), (l2, a2, r2) = figures
    steps = 16 * 1000
    return StepSplit(mode, batch, (l2 - l1) / steps, (a2 - a1) / steps, (r2 - r1) / steps)


def print_table(rows: list[Row], references: list[str]) -> None:
    fp32 = {r.batch: r.texts for r in rows if r.engine == "assay fp32"}
    llama = {r.batch: r.tokens_per_second for r in rows if r.engine == "llama.cpp"}
    pipe = next((r.tokens_per_second for r in rows if r.engine == "pipeline"), None)
    print(
        "\n| engine | batch / slots | prompts | tokens/s | vs llama.cpp | vs pipeline "
        "| differ from fp32 | token F1 | load |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        base = fp32.get(row.batch)
        differ = (
            str(sum(a.strip() != b.strip() for a, b in zip(base, row.texts, strict=True)))
            if base is not None
            else "-"
        )
        f1 = sum(token_f1(t, r).value for t, r in zip(row.texts, references, strict=False)) / len(
            row.texts
        )
        versus_llama = (
            f"{row.tokens_per_second / llama[row.batch]:.2f}x" if row.batch in llama else "-"
        )
        versus_pipe = f"{row.tokens_per_second / pipe:.2f}x" if pipe and row.batch > 1 else "-"
        print(
            f"| {row.engine} | {row.batch} | {row.prompts} | {row.tokens_per_second:.1f} "
            f"| {versus_llama} | {versus_pipe} | {differ} | {f1:.3f} | {row.load:.1f} |"
        )


def print_splits(splits: list[StepSplit]) -> None:
    print("\n| assay mode | batch | ms per decode step | linear layers | attention | rest |")
    print("| --- | --- | --- | --- | --- | --- |")
    for s in splits:
        total = s.linear_ms + s.attention_ms + s.rest_ms
        print(
            f"| {s.mode} | {s.batch} | {total:.1f} | {s.linear_ms:.1f} ({s.linear_ms / total:.0%}) "
            f"| {s.attention_ms:.1f} | {s.rest_ms:.1f} ({s.rest_ms / total:.0%}) |"
        )


if __name__ == "__main__":
    main()

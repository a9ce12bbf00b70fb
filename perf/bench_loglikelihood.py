"""Log-likelihood throughput: lm-evaluation-harness's per-pair scoring against assay's prefix tree.

For each workload the same (context, continuation) requests (built by assay,
prompts identical to the harness's, see tests/bench_suite/cases) are scored by
the harness's `HFLM.loglikelihood` and by assay's `HFModel.loglikelihood`, on
one float32 model object, one after the other in this process. Reported per
workload: wall time, tokens run (the harness: every pair's full sequence;
assay: each prefix-tree node once, plus its sharing overhead), the speed-up
(each measured twice, alternating, best kept: the machine is shared and its
load varies), and two floors, each a count of FLOPs divided by the fastest
matrix-multiply throughput measured here:

- weights: the prefix tree's size (distinct tokens) times the decoder layers'
  matrix FLOPs per token (2 x their weights);
- model: all the FLOPs the model cannot skip for that tree: the layers' matrices
  on every distinct token, plus attention (each distinct token against itself
  and every token before it: 4 x layers x heads x head size per key, as in
  Kaplan et al. 2020's forward-pass count), plus the output layer on every
  distinct position whose next-token distribution is scored.

Workloads (SmolLM2-135M-Instruct by default): ARC-Challenge 25-shot, HellaSwag
9-shot built from the 10 sample rows (10 shots would need 11 rows: the
harness draws shots + 1 and drops the question), TruthfulQA mc2 (its fixed
6-shot prompt), MMLU 5-shot on a few subjects.

Setup: see perf/harness_tasks.py (SETUP). Run:

    .venv-bench/bin/python perf/bench_loglikelihood.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness_tasks import SETUP, bench_data_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--arc-limit", type=int, default=2)
    parser.add_argument("--hellaswag-limit", type=int, default=2)
    parser.add_argument("--truthfulqa-limit", type=int, default=4)
    parser.add_argument("--mmlu-subjects", default="abstract_algebra,high_school_mathematics")
    parser.add_argument("--mmlu-limit", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2, help="runs of each; the best counts")
    parser.add_argument(
        "--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    args = parser.parse_args()
    try:
        from lm_eval.models.huggingface import HFLM
    except ModuleNotFoundError:
        raise SystemExit(
            f"lm-eval is not installed here. Set up the benchmark environment:\n  {SETUP}"
        ) from None
    import torch

    from assay.models.base import LoglikelihoodStats, ModelOptions
    from assay.models.registry import load_model

    data = bench_data_dir(args.data_dir)
    model = load_model(
        args.model, ModelOptions(dtype="float32", device="cpu", batch_size=args.batch_size)
    )
    model.load()
    harness = HFLM(pretrained=model.model, tokenizer=model.tokenizer, batch_size=args.batch_size)
    flops_per_token = 2 * _layer_parameters(model.model)
    attention_flops_per_key, output_flops = _attention_and_output_flops(model.model)
    print(f"torch threads {torch.get_num_threads()}; {flops_per_token / 1e9:.3f} GFLOP per token")

    workloads = [
        ("arc_challenge 25-shot", [("arc_challenge", 25, args.arc_limit)]),
        ("hellaswag 9-shot (sample rows)", [("hellaswag", 9, args.hellaswag_limit)]),
        ("truthfulqa_mc2 0-shot", [("truthfulqa_mc2", 0, args.truthfulqa_limit)]),
        (
            "mmlu 5-shot",
            [(f"mmlu_{s}", 5, args.mmlu_limit) for s in args.mmlu_subjects.split(",")],
        ),
    ]
    header = (
        f"{'workload':<32}{'req':>5}{'harness s':>11}{'assay s':>9}{'speed-up':>10}"
        f"{'harness tok':>13}{'assay tok':>11}{'tree tok':>10}"
        f"{'floor s: weights':>18}{'model':>7}{'assay/floor: weights':>22}{'model':>7}"
    )
    lines = [header, "-" * len(header)]
    warm = _requests([("arc_easy", 1, 1)], data)
    _harness_loglikelihood(harness, warm)
    model.loglikelihood(warm)
    for label, parts in workloads:
        requests = _requests(parts, data)
        harness_times, assay_times, gflops = [], [], []
        for _ in range(args.repeats):  # alternate, keep the best: the machine's load varies
            gflops.append(_matmul_gflops())
            began = time.perf_counter()
            theirs = _harness_loglikelihood(harness, requests)
            harness_times.append(time.perf_counter() - began)
            stats = LoglikelihoodStats()
            began = time.perf_counter()
            ours = model.loglikelihood(requests, stats=stats)
            assay_times.append(time.perf_counter() - began)
        harness_seconds, assay_seconds, best = min(harness_times), min(assay_times), max(gflops)
        worst = max(abs(a[0] - b[0]) for a, b in zip(theirs, ours, strict=True))
        weights_flops = stats.tree_tokens * flops_per_token
        model_flops = (
            weights_flops
            + stats.tree_attended * attention_flops_per_key
            + stats.scored_positions * output_flops
        )
        floor, model_floor = weights_flops / (best * 1e9), model_flops / (best * 1e9)
        lines.append(
            f"{label:<32}{len(requests):>5}{harness_seconds:>11.1f}{assay_seconds:>9.1f}"
            f"{harness_seconds / assay_seconds:>9.1f}x{stats.pair_tokens:>13}"
            f"{stats.computed_tokens:>11}{stats.tree_tokens:>10}"
            f"{floor:>18.2f}{model_floor:>7.2f}"
            f"{assay_seconds / floor:>21.2f}x{assay_seconds / model_floor:>6.2f}x"
        )
        print(
            lines[-1],
            f"  (matmul {best:.0f} GFLOP/s, max |dLL| {worst:.1e}, "
            f"harness {harness_times}, assay {assay_times})",
            flush=True,
        )
    print("\n" + "\n".join(lines))


def _requests(parts: list[tuple[str, int, int]], data: Path) -> list[tuple[str, str]]:
    from assay.bench import DataSource, build_questions, get_task

    source = DataSource(data)
    out: list[tuple[str, str]] = []
    for name, shots, limit in parts:
        task = get_task(name)
        docs = [task.process(d) for d in source.load(task.eval_data())][:limit]
        spec = task.fewshot_data()
        pool = [task.process(d) for d in source.load(spec)] if shots and spec else []
        for question in build_questions(task, docs, pool, shots):
            out += question.requests
    return out


def _harness_loglikelihood(
    harness: Any, requests: list[tuple[str, str]]
) -> list[tuple[float, bool]]:
    from lm_eval.api.instance import Instance

    instances = [
        Instance(request_type="loglikelihood", doc={}, arguments=pair, idx=i)
        for i, pair in enumerate(requests)
    ]
    return [(float(ll), bool(g)) for ll, g in harness.loglikelihood(instances, disable_tqdm=True)]


def _layer_parameters(model: Any) -> int:
    """Weights every token passes through: the decoder layers' matrices (embeddings are a
    lookup). Counted from the layers' shapes, so packed layers (models/packing.py) count too."""
    return sum(
        m.in_features * m.out_features
        for m in model.get_decoder().layers.modules()
        if hasattr(m, "in_features") and hasattr(m, "out_features")
    )


def _attention_and_output_flops(model: Any) -> tuple[int, int]:
    """FLOPs of attention per (query, key) pair over all layers (scores and weighted sum,
    every query head), and of the output layer per scored position."""
    config = model.config
    head_size = (
        getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    )
    per_key = 4 * config.num_hidden_layers * config.num_attention_heads * head_size
    return per_key, 2 * config.hidden_size * config.vocab_size


def _matmul_gflops(rows: int = 2048, inner: int = 576, outer: int = 1536, trials: int = 5) -> float:
    """Measured float32 matrix-multiply throughput at the model's MLP shape: the best of
    plain `torch.mm` and the oneDNN-packed linear assay runs with, so the floor is the
    fastest this machine was seen to multiply."""
    import torch

    from assay.models.packing import PackedLinear

    a = torch.randn(rows, inner)
    linear = torch.nn.Linear(inner, outer, bias=False)
    packed = PackedLinear(linear)
    kernels = [lambda: a @ linear.weight.T, lambda: packed(a)]
    best = 0.0
    with torch.inference_mode():
        for kernel in kernels:
            kernel()
            for _ in range(trials):
                began = time.perf_counter()
                kernel()
                best = max(best, 2 * rows * inner * outer / (time.perf_counter() - began) / 1e9)
    return best


if __name__ == "__main__":
    main()

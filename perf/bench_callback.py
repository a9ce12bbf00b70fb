"""What evaluation during training costs: one in-training evaluation of the 48-example
test set (assay.integrations.transformers, on the live model) against a separate eval
of the same checkpoint saved to disk, in one run.

Steps: a LoRA on the bundled SmolLM2 is trained a few steps (examples/finetune's
script's encoding), then

- in training: `evaluate_live` on the live peft model, in this process: fingerprint of
  the live weights, inference twin (LoRA merged, weights packed), generation,
  scoring, store, everything included. As in the callback, one ParameterDigests serves
  the whole training, so the frozen base weights are hashed once (reported apart: a
  training's first evaluation pays it) and the LoRA at every evaluation;
- separately: the adapter saved, then (a) `assay eval --adapter` as its own process,
  wall time from start to exit, and (b) the same through the API in this process with
  the phases apart: the load (`load_model(...).load()`: weights, adapter merged,
  packed) and the eval without it.

The target: the in-training evaluation takes at most the separate eval's time
without the load: the `assay eval` process's wall time less the load (a), the way a
user stopping to evaluate a checkpoint pays it. The stricter comparison (b) leaves
out the process's start and imports too, which training has paid already: there the
two do the same work but for the twin, so they can only tie. Neither reads the
generation cache (both generate every answer), and both generate the same tokens
(the twin's merge is the one a saved adapter gets).

    python perf/bench_callback.py [--steps 3] [--limit N] [--rounds 1]

With --rounds above 1 the three measures (in training, the process, in process)
take turns, which of them goes first rotating, and each figure is the median over
the rounds (a shared machine's load moves from minute to minute). On a CPU shared
with other work, OMP_NUM_THREADS=1 keeps torch's threads from waiting on each other.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
TEST = ROOT / "examples" / "qa" / "test.jsonl"
TRAIN = ROOT / "examples" / "qa" / "train.jsonl"


def _script() -> Any:
    spec = importlib.util.spec_from_file_location(
        "train_lora", ROOT / "examples" / "finetune" / "train_lora.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _trained(steps: int, folder: Path) -> tuple[Any, Any]:
    from peft import LoraConfig, get_peft_model
    from transformers import Trainer, TrainingArguments

    from assay.models.base import ModelOptions
    from assay.models.registry import load_model

    hf: Any = load_model("smollm2-135m-instruct", ModelOptions(pack_weights=False))
    hf.load()
    torch.manual_seed(0)
    model = get_peft_model(
        copy.deepcopy(hf.model),
        LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM"),
    )
    script = _script()
    rows = [script.encode(hf.tokenizer, m) for m in script.read_rows([TRAIN], 32)]
    trainer = Trainer(
        model=model,
        args=TrainingArguments(
            output_dir=str(folder / "out"),
            max_steps=steps,
            per_device_train_batch_size=8,
            learning_rate=1e-3,
            save_strategy="no",
            report_to="none",
            use_cpu=True,
            disable_tqdm=True,
            remove_unused_columns=False,
        ),
        train_dataset=rows,
        data_collator=script.collate,
        processing_class=hf.tokenizer,
    )
    trainer.train()
    return model, hf.tokenizer


LOADS: list[str] = []
"""The load average when each figure was taken (a shared machine's load moves)."""


def _say(line: str) -> None:
    """A figure as soon as it is taken, with the load average: a long run cut short
    still leaves what it measured."""
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    LOADS.append(load)
    print(f"{line}  (load {load})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="first N test rows only")
    parser.add_argument("--rounds", type=int, default=1, help="alternate this many times")
    args = parser.parse_args()

    from assay import DataOptions, EvalOptions, evaluate
    from assay.integrations.transformers import ParameterDigests, evaluate_live, unwrap
    from assay.models.base import ModelOptions
    from assay.models.registry import load_model

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        model, tokenizer = _trained(args.steps, folder)
        options = EvalOptions(
            metrics=("exact_match", "f1"),
            data=DataOptions(limit=args.limit),
            use_cache=False,
            progress=False,
        )
        model.train()  # as the Trainer leaves it between steps

        adapter = folder / "adapter"
        model.save_pretrained(adapter)
        command = [
            sys.executable, "-m", "assay", "eval", "--model", "smollm2-135m-instruct",
            "--adapter", str(adapter), "--data", str(TEST), "--metrics", "exact_match,f1",
            "--no-cache", "--no-progress",
        ]  # fmt: skip
        if args.limit:
            command += ["--limit", str(args.limit)]
        began = time.perf_counter()
        separate = load_model("smollm2-135m-instruct", ModelOptions(adapter=adapter))
        separate.load()
        load = time.perf_counter() - began
        _say(f"separate load: {load:.2f} s")

        timings: dict[str, list[float]] = {
            "live": [],
            "hash": [],
            "twin": [],
            "live_gen": [],
            "sep": [],
            "sep_gen": [],
            "process": [],
        }
        # The callback keeps one ParameterDigests for the whole training: the frozen base
        # weights are hashed at its first evaluation only, the LoRA at every one.
        digests = ParameterDigests()
        began = time.perf_counter()
        digests.fingerprint(unwrap(model))
        first_hash = time.perf_counter() - began
        _say(f"frozen weights hashed (once per training): {first_hash:.2f} s")
        runs: dict[str, Any] = {}

        def in_training(round_: int) -> None:
            began = time.perf_counter()
            run, live = evaluate_live(
                model,
                tokenizer,
                TEST,
                group="bench",
                step=args.steps,
                options=options,
                store=str(folder / f"live{round_}.db"),
                digests=digests,
            )
            timings["live"].append(time.perf_counter() - began)
            timings["twin"].append(live.twin_seconds)
            timings["hash"].append(live.fingerprint_seconds)
            timings["live_gen"].append(run.info.stats.seconds)
            runs["live"] = run

        def apart(round_: int) -> None:
            began = time.perf_counter()
            run = evaluate(
                separate, TEST, options=options, store=str(folder / f"separate{round_}.db")
            )
            timings["sep"].append(time.perf_counter() - began)
            timings["sep_gen"].append(run.info.stats.seconds)
            runs["separate"] = run

        def process(round_: int) -> None:
            began = time.perf_counter()
            # A store of its own each time: in one store the run would be found done.
            db = ["--db", str(folder / f"cli{round_}.db")]
            subprocess.run(command + db, check=True, capture_output=True)
            timings["process"].append(time.perf_counter() - began)

        measures = [in_training, apart, process]
        for round_ in range(args.rounds):
            # Which goes first rotates, so none always runs on a warmer machine.
            turn = round_ % len(measures)
            for measure in measures[turn:] + measures[:turn]:
                measure(round_)
            _say(
                f"round {round_ + 1}: in training {timings['live'][-1]:.2f} s, "
                f"assay eval process {timings['process'][-1]:.2f} s, "
                f"in process without the load {timings['sep'][-1]:.2f} s"
            )
        live_run, separate_run = runs["live"], runs["separate"]
        in_training_s = statistics.median(timings["live"])
        in_process = statistics.median(timings["sep"])
        process_s = statistics.median(timings["process"])
        twin = statistics.median(timings["twin"])

        same = [r.prediction for r in live_run.results] == [
            r.prediction for r in separate_run.results
        ]
        tokens = sum(r.completion_tokens for r in live_run.results)
        print(
            f"{len(live_run.results)} examples, {tokens} tokens generated, {args.steps} steps, "
            f"median of {args.rounds} round(s)"
        )
        print(
            f"in training (evaluate_live):       {in_training_s:7.2f} s  "
            f"(weights hashed {statistics.median(timings['hash']):.2f} s, twin {twin:.2f} s, "
            f"generation {statistics.median(timings['live_gen']):.2f} s)"
        )
        print(
            f"frozen weights hashed, once:       {first_hash:7.2f} s  (a training's first evaluation)"
        )
        print(f"separate assay eval process:       {process_s:7.2f} s  (start, imports, load)")
        print(f"separate, in process: load        {load:7.2f} s")
        print(
            f"separate, in process: eval        {in_process:7.2f} s  "
            f"(generation {statistics.median(timings['sep_gen']):.2f} s)"
        )
        print("rounds:", {k: [round(v, 1) for v in vs] for k, vs in timings.items()})
        print("load average (1, 5, 15 min) at each step:", "; ".join(LOADS))
        print(f"same answers: {same}")
        for label, separate_s in (
            ("(a) the assay eval process less the load", process_s - load),
            ("(b) in process, without start and imports", in_process),
        ):
            verdict = "met" if in_training_s <= separate_s else "missed"
            print(
                f"target, in training <= {label}: {verdict} "
                f"({in_training_s:.2f} / {separate_s:.2f} s = {in_training_s / separate_s:.2f}x)"
            )


if __name__ == "__main__":
    main()

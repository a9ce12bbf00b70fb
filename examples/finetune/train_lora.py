"""LoRA fine-tune of SmolLM2-135M-Instruct on the docs Q&A set, on a CPU in a few minutes.

This is the script any user would write with peft and transformers; assay is not a
training library. The point is what comes after it (README, "The fine-tuner's loop"):

    python examples/finetune/train_lora.py --out runs/ft-v1
    assay eval --model smollm2-135m-instruct --adapter runs/ft-v1 --data examples/qa/test.jsonl

Training rows are question/answer pairs (examples/qa/train.jsonl) or chat rows
({"messages": [...]}, what `assay errors RUN --export CATEGORY` writes); `--extra`
adds more files of either kind. Each row becomes the model's own chat template with
the answer as the assistant turn, and the loss is taken on the answer only, so the
prompt the model learns from is exactly the one `assay eval` sends.

With `--eval-data`, assay evaluates the live model every `--eval-steps` steps
(assay.integrations.transformers.AssayCallback): each checkpoint is a run in the
store, tagged with its step and `--name`; `assay runs --group NAME` lists them and
`assay curve NAME -o curve.html` plots them.

The adapter is written to --out (adapter_config.json, adapter_model.safetensors) with
training.json: the arguments, the loss per logged step and the time taken.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import torch

BUNDLED = "smollm2-135m-instruct"
HERE = Path(__file__).resolve().parent
DEFAULT_TRAIN = HERE.parent / "qa" / "train.jsonl"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the adapter")
    parser.add_argument(
        "--base", default=BUNDLED, help="hub id, local folder, or the bundled alias"
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_TRAIN, help="training rows (JSONL)")
    parser.add_argument(
        "--extra", type=Path, action="append", default=[], help="more training rows (JSONL)"
    )
    parser.add_argument("--epochs", type=float, default=6.0)
    parser.add_argument("--max-steps", type=int, default=-1, help="stop after N steps")
    parser.add_argument("--limit", type=int, default=None, help="use the first N rows only")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--alpha", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default=None, help="the training run's name (default: --out)")
    parser.add_argument("--eval-data", default=None, help="evaluate with assay on this test set")
    parser.add_argument("--eval-steps", type=int, default=10, help="evaluate every N steps")
    parser.add_argument("--eval-metrics", default="exact_match,f1")
    parser.add_argument("--eval-limit", type=int, default=None, help="first N test rows only")
    parser.add_argument("--eval-max-new-tokens", type=int, default=128)
    parser.add_argument("--db", default=None, help="assay store for the in-training runs")
    return parser.parse_args(argv)


def load_base(base: str) -> tuple[Any, Any]:
    """The base model and tokenizer; the bundled alias is a GGUF file in an installed package."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if base == BUNDLED:
        from assay.models.bundled import BUNDLED_MODELS

        gguf = BUNDLED_MODELS[BUNDLED].gguf_path()
        source, extra = str(gguf.parent), {"gguf_file": gguf.name}
    else:
        source, extra = base, {}
    tokenizer = AutoTokenizer.from_pretrained(source, **extra)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32, **extra)
    if getattr(model, "hf_quantizer", None) is not None:
        # transformers dequantises GGUF weights to plain float32 tensors as it loads them,
        # but keeps the file's quantisation marks, which Trainer refuses to train.
        model.hf_quantizer.remove_quantization_config(model)
    return model, tokenizer


def read_rows(paths: list[Path], limit: int | None) -> list[list[dict[str, str]]]:
    """Every row as chat messages ending with the assistant's answer."""
    conversations = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if "messages" in row:
                messages = [{"role": m["role"], "content": m["content"]} for m in row["messages"]]
            elif "question" in row and "answer" in row:
                messages = [
                    {"role": "user", "content": row["question"]},
                    {"role": "assistant", "content": row["answer"]},
                ]
            else:
                sys.exit(f"{path}:{number}: a row needs messages, or question and answer")
            if messages[-1]["role"] != "assistant":
                sys.exit(f"{path}:{number}: the last message must be the assistant's")
            conversations.append(messages)
    return conversations[:limit] if limit else conversations


def encode(tokenizer: Any, messages: list[dict[str, str]]) -> dict[str, list[int]]:
    """Prompt tokens exactly as assay renders them, then the answer; loss on the answer only."""
    prompt = tokenizer.apply_chat_template(
        messages[:-1], tokenize=False, add_generation_prompt=True
    )
    prompt_ids = tokenizer(prompt, add_special_tokens=False).input_ids
    answer_ids = tokenizer(
        messages[-1]["content"] + "<|im_end|>\n", add_special_tokens=False
    ).input_ids
    return {
        "input_ids": prompt_ids + answer_ids,
        "labels": [-100] * len(prompt_ids) + answer_ids,
    }


def collate(rows: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
    """Right-padded batch; padding is masked out of attention and loss."""
    width = max(len(r["input_ids"]) for r in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        n = len(row["input_ids"])
        ids[i, :n] = torch.tensor(row["input_ids"])
        labels[i, :n] = torch.tensor(row["labels"])
        mask[i, :n] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from peft import LoraConfig, get_peft_model
    from transformers import Trainer, TrainingArguments, set_seed

    set_seed(args.seed)
    began = time.perf_counter()
    model, tokenizer = load_base(args.base)
    model = get_peft_model(
        model,
        LoraConfig(
            r=args.rank,
            lora_alpha=args.alpha,
            lora_dropout=0.05,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        ),
    )
    rows = [encode(tokenizer, m) for m in read_rows([args.data, *args.extra], args.limit)]
    name = args.name or args.out.name
    callbacks = []
    if args.eval_data:
        from assay import DataOptions, EvalOptions, GenerationParams
        from assay.integrations.transformers import AssayCallback

        log = logging.getLogger("assay")  # the callback says one line per checkpoint
        log.addHandler(logging.StreamHandler(sys.stderr))
        log.setLevel(logging.INFO)
        callbacks.append(
            AssayCallback(
                args.eval_data,
                group=name,
                every=args.eval_steps,
                options=EvalOptions(
                    metrics=tuple(args.eval_metrics.split(",")),
                    data=DataOptions(limit=args.eval_limit),
                    generation=GenerationParams(max_new_tokens=args.eval_max_new_tokens),
                    progress=False,
                ),
                store=args.db,
            )
        )
    training = TrainingArguments(
        output_dir=str(args.out / "checkpoints"),
        num_train_epochs=args.epochs,
        max_steps=args.max_steps,
        per_device_train_batch_size=args.batch_size,
        learning_rate=args.lr,
        lr_scheduler_type="cosine",
        warmup_steps=5,
        logging_steps=5,
        save_strategy="no",
        report_to="none",
        use_cpu=not torch.cuda.is_available(),
        seed=args.seed,
        remove_unused_columns=False,
        disable_tqdm=not sys.stderr.isatty(),
    )
    trainer = Trainer(
        model=model,
        args=training,
        train_dataset=rows,  # type: ignore[arg-type]  # a list of dicts is a map-style dataset
        data_collator=collate,
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    result = trainer.train()
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out)
    losses = [
        {"step": entry["step"], "loss": entry["loss"]}
        for entry in trainer.state.log_history
        if "loss" in entry
    ]
    summary = {
        "base": args.base,
        "rows": len(rows),
        "files": [str(p) for p in [args.data, *args.extra]],
        "steps": trainer.state.global_step,
        "epochs": args.epochs,
        "lr": args.lr,
        "rank": args.rank,
        "alpha": args.alpha,
        "seed": args.seed,
        "train_loss": result.training_loss,
        "losses": losses,
        "seconds": round(time.perf_counter() - began, 1),
    }
    (args.out / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"trained {summary['steps']} steps on {len(rows)} rows in {summary['seconds']} s "
        f"(final loss {losses[-1]['loss'] if losses else float('nan'):.3f}); "
        f"adapter in {args.out}"
    )


if __name__ == "__main__":
    main()

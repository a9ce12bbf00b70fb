"""Running benchmark tasks on a model: prompts, one log-likelihood pass, scores, a stored run.

The steps, in order: resolve the requested names (suites, groups, tasks) into
tasks with their shots; load each task's rows and build its few-shot prompts;
claim the run (runs/recorder.py: resume, or wait for another process doing it);
take what the log-likelihood cache knows; score every other (context, choice)
pair in one call to the model's `loglikelihood` (so contexts shared across tasks
and questions are computed once), committing each question as soon as all its
choices are scored; aggregate per task, group and suite; finish the run (kind
"bench"). A bench killed at any point resumes where it stopped, and an identical
re-run reads every log-likelihood from the cache without loading the weights.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay import __version__
from assay.bench.aggregate import aggregate, summaries
from assay.bench.choice_scoring import score_choice_questions
from assay.bench.choices import predicted_choice
from assay.bench.data import DataSource
from assay.bench.fewshot import FEWSHOT_SEED, Question, build_questions
from assay.bench.generate import GenerationJob, answer_questions
from assay.bench.results import BenchResult
from assay.bench.suites import SUITES, SuiteEntry
from assay.bench.taskfiles import is_task_file, load_task_file
from assay.bench.tasks import get_group, get_task
from assay.exceptions import OptionError, at_least
from assay.executors import RayOptions, open_executor
from assay.metrics.base import Score
from assay.models.base import Model, ModelOptions
from assay.runs.recorder import RunRecorder
from assay.runs.records import BenchConfig, ExampleResult, Run, RunInfo, RunStats, new_run_id
from assay.store import Store
from assay.store.store import using_store


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
        tags: Labels for the stored run.
        fewshot_seed: The harness's few-shot seed.
        progress: Show a progress bar.
        wait: When another process is doing the same run, wait for it (else raise).
        executor: Score on replicas on a Ray cluster (RayOptions); None scores in this
            process. Either way this process alone writes the store.
    """

    tasks: tuple[str, ...] = ("leaderboard",)
    num_fewshot: int | None = None
    limit: int | None = None
    data_dir: Path | str | None = None
    model: ModelOptions = field(default_factory=ModelOptions)
    name: str | None = None
    tags: tuple[str, ...] = ()
    fewshot_seed: int = FEWSHOT_SEED
    progress: bool = True
    wait: bool = True
    executor: RayOptions | None = None

    def __post_init__(self) -> None:
        if self.limit is not None:
            at_least("limit", self.limit, 1)
        if self.num_fewshot is not None:
            at_least("num_fewshot", self.num_fewshot, 0)


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
    if num_fewshot is not None:
        at_least("num_fewshot", num_fewshot, 0)
    selections: list[Selection] = []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if is_task_file(name):
            name = load_task_file(name)
        entries = SUITES.get(name)
        if entries is not None:
            selections += [_select(e.task, num_fewshot, e, name) for e in entries]
        else:
            selections.append(_select(name, num_fewshot, None, None))
    if not selections:
        raise OptionError("tasks", "names no task")
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
    # The tasks, their data and the model first: a bad task name, data folder, model
    # spec or cluster address is refused before a store is created.
    bench = _Bench(model, options)
    try:
        with using_store(store) as active:
            return bench.run(active)
    finally:
        bench.executor.close()


class _Bench:
    """One benchmark run, as the named steps of `run_bench`."""

    def __init__(self, model: str | Model, options: BenchOptions) -> None:
        self.options = options
        self.selections = resolve_tasks(options.tasks, options.num_fewshot)
        self.source = DataSource(options.data_dir)
        self.questions, self.sizes = self._build_questions()
        self.executor = open_executor(model, options.model, options.executor)
        self.model = self.executor.model

    def run(self, store: Store) -> BenchResult:
        started = time.perf_counter()
        recorder = RunRecorder.claim(
            store,
            self.run_key,
            self._new_info,
            wait=self.options.wait,
        )
        if recorder.owned:
            with recorder:
                stats = RunStats(resumed=recorder.resumed)
                self._score(recorder, stats)
                self._answer(recorder, stats)
                run = store.load_run(recorder.run_id)
                rows, averages = aggregate(self.selections, list(self.questions), run.results)
                store.save_summary(run.id, summaries(rows, averages))
                store.set_metrics(run.id, _metric_names(run.results))
                recorder.finish(stats, time.perf_counter() - started)
        return self._result(store.load_run(recorder.run_id))

    # -- steps ------------------------------------------------------------------------------

    def _build_questions(
        self,
    ) -> tuple[dict[tuple[str, int], list[Question]], dict[str, tuple[int, int]]]:
        questions: dict[tuple[str, int], list[Question]] = {}
        sizes: dict[str, tuple[int, int]] = {}
        limit = self.options.limit
        for selection in self.selections:
            for name in selection.tasks:
                key = (name, selection.shots)
                if key in questions:
                    continue
                if any(t == name for t, _ in questions):
                    raise OptionError("tasks", f"ask for '{name}' twice with different shots")
                task = get_task(name)
                docs = task.eval_docs(self.source)
                used = docs[:limit] if limit is not None else docs
                pool: list[dict[str, Any]] = []
                if selection.shots > 0:
                    pool = task.fewshot_pool(self.source)
                    if not pool:
                        raise OptionError(
                            "num_fewshot", f"must be 0 for task '{name}': it has no few-shot split"
                        )
                    if len(pool) < selection.shots + int(task.fewshot_from_eval_split):
                        raise OptionError(
                            "num_fewshot",
                            f"is {selection.shots} for task '{name}', but its few-shot "
                            f"examples are {len(pool)}",
                        )
                questions[key] = build_questions(
                    task, used, pool, selection.shots, seed=self.options.fewshot_seed
                )
                sizes[name] = (len(docs), len(used))
        return questions, sizes

    def _score(self, recorder: RunRecorder, stats: RunStats) -> None:
        """Score every question not stored yet: from the log-likelihood cache where it
        knows the answers, then with the model; commit results (and cache entries) as
        questions complete."""
        pending = [
            q
            for q in self._all_questions()
            if q.kind == "multiple_choice" and _example_id(q) not in recorder.stored
        ]
        score_choice_questions(
            pending,
            every=self._all_questions(),
            make=self._question_result,
            recorder=recorder,
            executor=self.executor,
            fingerprint=self.model.info.fingerprint,
            progress=self.options.progress,
            unit="q",
            stats=stats,
        )

    def _answer(self, recorder: RunRecorder, stats: RunStats) -> None:
        """Answer every generative question not stored yet, or stored as failed (generate.py)."""
        pending = [
            q
            for q in self._all_questions()
            if q.kind == "generate_until" and recorder.stored.get(_example_id(q), True)
        ]
        job = GenerationJob(
            pending,
            self._positions,
            self._shots,
            progress=self.options.progress,
            flush_every=self.options.model.batch_size,
        )
        answer_questions(self.executor, recorder.store, recorder, job, stats)

    def _all_questions(self) -> list[Question]:
        return [q for items in self.questions.values() for q in items]

    def _question_result(self, question: Question, lls: list[float]) -> ExampleResult:
        task = get_task(question.task)
        all_scores = task.choice_scores(question, lls)
        chosen = predicted_choice(question.choices, lls, task.main_metric)
        gold_text = question.choices[question.gold]
        shots = self._shots[question.task]
        return ExampleResult(
            example_id=_example_id(question),
            position=self._positions[_example_id(question)],
            input=question.text,
            reference=gold_text,
            prompt=question.context
            if question.labels
            else question.context + question.delimiter + gold_text,
            prediction=question.choices[chosen],
            metadata={
                "task": question.task,
                "shots": shots,
                "choices": list(question.choices),
                "gold": question.gold,
                "logliks": lls,
                **({"labels": list(question.labels)} if question.labels else {}),
            },
            scores={m: Score(all_scores[m]) for m in task.metrics},
        )

    @functools.cached_property
    def _positions(self) -> dict[str, int]:
        return {_example_id(q): i for i, q in enumerate(self._all_questions())}

    @functools.cached_property
    def _shots(self) -> dict[str, int]:
        return {task: shots for task, shots in self.questions}

    @functools.cached_property
    def run_key(self) -> str:
        identity: dict[str, Any] = {
            "model": self.model.info.fingerprint,
            "data": self._fingerprint,
            "shots": [[t, s] for t, s in self.questions],
        }
        settings = {t: get_task(t).fingerprint() for t, _ in self.questions}
        if any(settings.values()):  # generative and file tasks; built-in choice tasks have none
            identity["tasks"] = settings
        return _digest(json.dumps(identity, sort_keys=True))

    @functools.cached_property
    def _fingerprint(self) -> str:
        return _digest(json.dumps([q.identity for q in self._all_questions()]))

    def _new_info(self) -> RunInfo:
        model_info = self.model.info
        described = ",".join(s.name for s in self.selections)
        suites = sorted({s.suite for s in self.selections if s.suite})
        dataset = ",".join(suites) or described
        return RunInfo(
            id=new_run_id(),
            name=self.options.name or f"{model_info.spec} on {dataset}",
            kind="bench",
            status="running",
            run_key=self.run_key,
            model_spec=model_info.spec,
            model_fingerprint=model_info.fingerprint,
            model_details=dict(model_info.details),
            dataset_name=dataset,
            dataset_fingerprint=self._fingerprint,
            n_examples=len(self._all_questions()),
            config=BenchConfig(
                tasks=tuple(s.name for s in self.selections),
                shots={task: shots for task, shots in self.questions},
                limit=self.options.limit,
                data_dir=str(self.options.data_dir) if self.options.data_dir else None,
                fewshot_seed=self.options.fewshot_seed,
            ),
            metrics=[],
            assay_version=__version__,
            tags=self.options.tags,
        )

    def _result(self, run: Run) -> BenchResult:
        rows, averages = aggregate(self.selections, list(self.questions), run.results)
        return BenchResult(
            run_id=run.id,
            model=self.model.info.spec,
            status=run.info.status,
            rows=rows,
            averages=averages,
            versions={t: get_task(t).version for (t, _) in self.questions},
            shots={task: shots for task, shots in self.questions},
            sizes=self.sizes,
            groups={s.name: list(s.tasks) for s in self.selections if get_group(s.name)},
            stats=run.info.stats,
            config={
                "batch_size": self.options.model.batch_size,
                "dtype": self.options.model.dtype,
                "limit": self.options.limit,
                "fewshot_seed": self.options.fewshot_seed,
            },
        )


def _example_id(question: Question) -> str:
    return f"{question.task}/{question.index}"


def _metric_names(results: Sequence[ExampleResult]) -> list[str]:
    return list(dict.fromkeys(name for r in results for name in r.scores))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()

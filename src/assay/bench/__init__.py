"""Standard academic benchmarks (ARC, HellaSwag, MMLU, TruthfulQA), as lm-evaluation-harness
defines them, scored by the model's shared-prefix log-likelihood engine.

    from assay.bench import run_bench
    result = run_bench("smollm2-135m-instruct", "leaderboard", options=BenchOptions(limit=100))
    result.averages["leaderboard"].value
"""

from assay.bench.choices import mean_stderr, question_scores
from assay.bench.data import DataSource, DataSpec
from assay.bench.fewshot import Question, build_context, build_questions, draw_fewshot
from assay.bench.results import BenchResult, MetricValue
from assay.bench.run import BenchOptions, Selection, resolve_tasks, run_bench
from assay.bench.suites import SUITES, SuiteEntry
from assay.bench.tasks import Task, TaskGroup, get_group, get_task, list_tasks, register_task

__all__ = [
    "SUITES",
    "BenchOptions",
    "BenchResult",
    "DataSource",
    "DataSpec",
    "MetricValue",
    "Question",
    "Selection",
    "SuiteEntry",
    "Task",
    "TaskGroup",
    "build_context",
    "build_questions",
    "draw_fewshot",
    "get_group",
    "get_task",
    "list_tasks",
    "mean_stderr",
    "question_scores",
    "register_task",
    "resolve_tasks",
    "run_bench",
]

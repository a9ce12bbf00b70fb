"""Task files and generative tasks run like built-in tasks on the bundled model: stored,
cached (an identical re-run generates nothing; a larger --limit generates only the new
questions), and reported in the harness's layout."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assay.bench import BenchOptions, run_bench
from assay.bench.results import BenchResult, MetricValue
from assay.store import open_store

CASES = Path(__file__).parent / "cases"
MODEL = "smollm2-135m-instruct"


@pytest.fixture
def toml_task(tmp_path: Path) -> Path:
    for path in (CASES / "taskfiles").iterdir():
        shutil.copy(path, tmp_path / path.name)
    return tmp_path / "arc_generative.toml"


@pytest.mark.slow
def test_a_generative_task_file_is_cached_and_extends(tmp_path: Path, toml_task: Path) -> None:
    db = str(tmp_path / "assay.db")
    first = run_bench(
        MODEL, [str(toml_task)], options=BenchOptions(limit=2, progress=False), store=db
    )
    assert first.status == "complete" and first.stats.generated == 2
    again = run_bench(
        MODEL, [str(toml_task)], options=BenchOptions(limit=2, progress=False), store=db
    )
    assert again.stats.generated == 0 and again.stats.cached == 2
    larger = run_bench(
        MODEL, [str(toml_task)], options=BenchOptions(limit=3, progress=False), store=db
    )
    assert larger.stats.generated == 1 and larger.stats.cached == 2
    with open_store(db) as store:
        run = store.load_run(larger.run_id)
    results = sorted(run.results, key=lambda r: r.position)
    assert [r.example_id for r in results] == [f"arc_easy_letter/{i}" for i in range(3)]
    for result in results:
        assert result.prompt.endswith("Letter:") and result.completion_tokens <= 4
        assert set(result.scores) == {"exact_match"}
        assert "extract" in result.metadata["extracted"]
    assert larger.value("arc_easy_letter", "exact_match") == pytest.approx(
        sum(r.scores["exact_match"].value for r in results) / 3
    )


@pytest.mark.slow
def test_a_bigbench_choice_task_runs_by_log_likelihood(tmp_path: Path) -> None:
    path = CASES / "bigbench" / "simple_arithmetic_json_multiple_choice" / "task.json"
    result = run_bench(
        MODEL,
        [str(path)],
        options=BenchOptions(num_fewshot=1, progress=False),
        store=str(tmp_path / "a.db"),
    )
    assert result.status == "complete"
    [row] = result.rows
    assert (row.task, row.metric, row.n, row.shots) == (
        "simple_arithmetic_json_multiple_choice",
        "multiple_choice_grade",
        8,
        1,
    )
    harness = result.to_harness()
    assert "multiple_choice_grade,none" in harness["results"][row.task]


def test_generative_metrics_take_the_harness_names() -> None:
    rows = [
        MetricValue("gsm8k", 5, "exact_match_strict", 0.5, 0.1, 0.9, 0.1, 10),
        MetricValue("gsm8k", 5, "exact_match_flexible", 0.6, 0.2, 0.9, 0.1, 10),
        MetricValue("bbh_cot_fewshot", 3, "exact_match", 0.4, 0.3, 0.5, 0.05, 100),
        MetricValue("bbh_cot_fewshot", 3, "exact_match_tasks", 0.4, 0.3, 0.5, 0.05, 100),
        MetricValue("ifeval", 0, "inst_level_loose_acc", 0.3, 0.2, 0.4, 0.05, 40),
    ]
    result = BenchResult(
        "r",
        MODEL,
        "complete",
        rows,
        shots={"gsm8k": 5, "ifeval": 0},
        groups={"bbh_cot_fewshot": []},
    )
    out = result.to_harness()["results"]
    assert out["gsm8k"]["exact_match,strict-match"] == 0.5
    assert out["gsm8k"]["exact_match,flexible-extract"] == 0.6
    assert out["bbh_cot_fewshot"]["exact_match,get-answer"] == 0.4
    assert out["bbh_cot_fewshot"]["exact_match_tasks,get-answer"] == 0.4
    assert out["ifeval"]["inst_level_loose_acc,none"] == 0.3
    assert result.to_harness()["configs"]["gsm8k"]["output_type"] == "generate_until"
    json.dumps(result.to_harness())

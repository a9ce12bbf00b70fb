"""`assay bench --tasks FILE`: a bad task file is a one-line error naming the file, the line
and the field, with no traceback and nothing stored."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CASES = Path(__file__).parent / "cases"


def bench(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "assay",
        "bench",
        "-m",
        "smollm2-135m-instruct",
        *map(str, args),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(
    ("text", "suffix", "message"),
    [
        ("name: t\ndata: rows.jsonl\nprompt: x\ntarget: y\nlabels: [a, b]\n", ".yaml",
         "task.yaml:5: unknown key 'labels'; allowed: name, data, prompt, target, choices"),
        ("name: t\ndata: rows.jsonl\nprompt: x\ntarget: y\nchoices: [a, a]\n", ".yaml",
         "task.yaml:5: field 'choices' has 'a' twice; each choice must be distinct"),
        ('name = "t"\ndata = "rows.jsonl"\nprompt = "x"\ntarget = "y"\nchoices = ["a"]\n', ".toml",
         "task.toml:5: field 'choices' has 1 choice(s); give two or more"),
    ],
)  # fmt: skip
def test_bad_task_file(tmp_path: Path, text: str, suffix: str, message: str) -> None:
    (tmp_path / "rows.jsonl").write_text('{"q": "a"}\n')
    path = tmp_path / f"task{suffix}"
    path.write_text(text)
    db = tmp_path / "assay.db"
    done = bench("--tasks", path, "--db", db)
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_unknown_key_of_a_bigbench_file(tmp_path: Path) -> None:
    source = CASES / "bigbench" / "simple_arithmetic_json_subtasks" / "one_digit" / "task.json"
    path = tmp_path / "task.json"
    path.write_text(source.read_text().replace('"metrics"', '"metric_list"'))
    done = bench("--tasks", path, "--db", tmp_path / "assay.db")
    assert done.returncode != 0
    assert (
        "task.json:6: unknown key 'metric_list'; allowed: canary, name, description" in done.stderr
    )
    assert "Traceback" not in done.stderr

"""Bad conversation and tool rows through the real `assay eval` command: each case of
cases/dialogue_errors.json marked "cli" fails with exit status 1 and one line on stderr
naming the file, the line and the field, with no traceback and no run stored."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from assay.store import open_store

pytestmark = pytest.mark.slow  # every case starts a subprocess

CASES = [
    case
    for case in json.loads((Path(__file__).parent / "cases" / "dialogue_errors.json").read_text())
    if case.get("cli")
]
FIELD = re.compile(r"'([a-z_]+(?:\[\d+\])?(?:\.[a-z_]+|\[\d+\])*)'")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_a_bad_row_is_one_line_naming_file_line_and_field(
    tmp_path: Path, case: dict[str, Any]
) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in case["rows"]), encoding="utf-8")
    db = tmp_path / "store.db"
    env = {k: v for k, v in os.environ.items() if k not in ("ASSAY_DB", "COLUMNS")}
    args = ["eval", "-m", "smollm2-135m-instruct", "-d", "rows.jsonl", "--db", str(db)]
    result = subprocess.run(
        [sys.executable, "-m", "assay", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: rows.jsonl, line "), line
    assert case["expect"] in line, line
    field = FIELD.search(case["expect"].split(":", 1)[1])
    assert field is not None and f"'{field.group(1)}" in line  # the field, by its path
    if db.exists():  # the store may be opened before the data is read, but holds no run
        with open_store(str(db)) as store:
            assert store.list_runs() == []

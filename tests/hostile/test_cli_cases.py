"""Hostile inputs through the real `assay` command, one case file per class (see README.md).

Every case runs `python -m assay ARGS` in a subprocess, in a fresh folder holding
the case's files, against a copy of one store that already holds a real run
(the replay backend over tests/files/qa_tiny.jsonl). A case holds when the
command fails the way a user can act on: a non-zero exit status (or the one the
case names), no traceback, one line on stderr that contains the case's fragment,
the store's row counts unchanged and the case folder as it was (nothing half-written).

The subprocesses are started up front, several at a time, by the first test that
asks for an outcome; each test then only checks its own case.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # every case starts a subprocess

HERE = Path(__file__).parent
CASES = HERE / "cases"
FILES = HERE.parent / "files"
CASE_KEYS = {"name", "args", "files", "expect", "exit"}
TIMEOUT_S = 180
WORKERS = max(2, min(8, os.cpu_count() or 1))
RUN_NAME = "hostile-run"
"""The name of the one run in the prepared store, for cases that read a run."""


@dataclass(frozen=True)
class Case:
    """One hostile input, as a case file holds it.

    Attributes:
        kind: The class it belongs to (its case file's name).
        name: What it tries, unique within its class.
        args: The `assay` arguments; "{tmp}" stands for the case's folder.
        files: Relative path -> text, or {"base64": ...} for bytes that are not UTF-8.
        expect: A fragment the one-line message must contain.
        exit: The exit status wanted, or None for any non-zero one.
    """

    kind: str
    name: str
    args: tuple[str, ...]
    files: Mapping[str, str | Mapping[str, str]]
    expect: str
    exit: int | None

    @property
    def id(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class Outcome:
    """What one case's command did."""

    returncode: int
    stdout: str
    stderr: str
    counts_before: dict[str, int]
    counts_after: dict[str, int]
    files_before: dict[str, str]
    files_after: dict[str, str]


def load_cases() -> list[Case]:
    """Every case of every case file, failing loudly on a malformed one."""
    cases = []
    for path in sorted(CASES.glob("*.json")):
        entries = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(entries, list), f"{path}: a case file is a JSON list of cases"
        for number, entry in enumerate(entries, start=1):
            where = f"{path.name}, case {number}"
            assert isinstance(entry, dict), f"{where}: a case is an object"
            unknown = set(entry) - CASE_KEYS
            assert not unknown, f"{where}: unknown keys {sorted(unknown)}"
            assert isinstance(entry.get("name"), str), f"{where}: needs a name"
            assert isinstance(entry.get("expect"), str) and entry["expect"], f"{where}: expect"
            args = entry.get("args")
            assert isinstance(args, list) and all(isinstance(a, str) for a in args), where
            files = entry.get("files", {})
            for relative, content in files.items():
                assert not Path(relative).is_absolute() and ".." not in Path(relative).parts
                assert isinstance(content, str) or set(content) == {"base64"}, where
            cases.append(
                Case(
                    kind=path.stem,
                    name=entry["name"],
                    args=tuple(args),
                    files=files,
                    expect=entry["expect"],
                    exit=entry.get("exit"),
                )
            )
    ids = [case.id for case in cases]
    duplicated = sorted({case_id for case_id in ids if ids.count(case_id) > 1})
    assert not duplicated, f"case names repeat within a class: {duplicated}"
    return cases


ALL_CASES = load_cases()


def assay_env(store: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(ASSAY_DB=str(store), PYTHONDONTWRITEBYTECODE="1", NO_COLOR="1")
    return env


def row_counts(store: Path) -> dict[str, int]:
    """Rows in every table of a SQLite store."""
    with closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as conn:
        tables = [
            row[0] for row in conn.execute("select name from sqlite_master where type='table'")
        ]
        return {
            table: conn.execute(f'select count(*) from "{table}"').fetchone()[0] for table in tables
        }


def folder_state(folder: Path) -> dict[str, str]:
    """Every file under a folder, by relative path, with a hash of its content."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def prepared_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding one real, complete run named RUN_NAME (replay over qa_tiny)."""
    folder = tmp_path_factory.mktemp("hostile-store")
    store = folder / "assay.db"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "assay",
            "eval",
            "--model",
            f"replay:{FILES / 'qa_tiny_preds.jsonl'}",
            "--data",
            str(FILES / "qa_tiny.jsonl"),
            "--no-progress",
            "--name",
            RUN_NAME,
        ],
        cwd=folder,
        env=assay_env(store),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert row_counts(store)["runs"] == 1
    return store


def run_case(case: Case, root: Path, prepared: Path) -> Outcome:
    """Lay out the case's folder and store, run its command, and record what changed."""
    folder = root / "work"
    folder.mkdir(parents=True)
    for relative, content in case.files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_bytes(content.encode("utf-8", "surrogatepass"))
        else:
            path.write_bytes(base64.b64decode(content["base64"]))
    store = root / "store" / "assay.db"
    store.parent.mkdir()
    shutil.copyfile(prepared, store)
    counts_before, files_before = row_counts(store), folder_state(folder)
    args = [arg.replace("{tmp}", str(folder)) for arg in case.args]
    try:
        result = subprocess.run(
            [sys.executable, "-m", "assay", *args],
            cwd=folder,
            env=assay_env(store),
            capture_output=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        returncode = result.returncode
        stdout = result.stdout.decode("utf-8", "replace")
        stderr = result.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        returncode, stdout, stderr = -1, "", f"timed out after {TIMEOUT_S} s"
    return Outcome(
        returncode=returncode,
        stdout=stdout,
        stderr=stderr,
        counts_before=counts_before,
        counts_after=row_counts(store),
        files_before=files_before,
        files_after=folder_state(folder),
    )


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest,
    prepared_store: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Outcome]:
    """The outcome of every selected case, run in parallel threads (each a subprocess)."""
    selected: list[Case] = []
    for item in request.session.items:
        params: dict[str, Any] = getattr(getattr(item, "callspec", None), "params", {})
        if item.module is sys.modules[__name__] and isinstance(params.get("case"), Case):
            selected.append(params["case"])
    roots = {case.id: tmp_path_factory.mktemp(re.sub(r"\W+", "-", case.id)) for case in selected}
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {
            case.id: pool.submit(run_case, case, roots[case.id], prepared_store)
            for case in selected
        }
        return {case_id: future.result() for case_id, future in futures.items()}


@pytest.mark.parametrize("case", ALL_CASES, ids=[case.id for case in ALL_CASES])
def test_case(case: Case, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[case.id]
    said = f"exit {outcome.returncode}\nstdout:\n{outcome.stdout}\nstderr:\n{outcome.stderr}"
    if case.exit is None:
        assert outcome.returncode > 0, said
    else:
        assert outcome.returncode == case.exit, said
    assert "Traceback" not in outcome.stdout + outcome.stderr, said
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr\n{said}"
    assert case.expect in outcome.stdout + outcome.stderr, f"wanted {case.expect!r}\n{said}"
    assert outcome.counts_after == outcome.counts_before, f"the store changed\n{said}"
    assert outcome.files_after == outcome.files_before, f"the case folder changed\n{said}"


def test_every_class_has_cases() -> None:
    """A class is a case file with several cases, so one lucky case does not stand for it."""
    kinds = {case.kind for case in ALL_CASES}
    assert kinds, "no case files"
    for kind in kinds:
        assert sum(case.kind == kind for case in ALL_CASES) >= 2, kind

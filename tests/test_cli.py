"""The `assay` command, run as a real subprocess against a store in tmp_path.

The replay backend answers from tests/files/qa_tiny_preds.jsonl, so every
command runs end to end in about a second. Every user mistake must come back as
one line on stderr that names the place (file and line, field, flag, store),
with no traceback and a non-zero exit status.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from assay.store import open_store

pytestmark = pytest.mark.slow  # every test starts a subprocess

FILES = Path(__file__).parent / "files"
DATA = FILES / "qa_tiny.jsonl"
PREDS = FILES / "qa_tiny_preds.jsonl"
IDS = ["q1", "q2", "q3", "q4"]
PREDICTIONS = ["Paris", "The answer is 4", "blue", "Saturn"]
RUN_ID = re.compile(r"run ([0-9a-f]{12}) stored in")


def assay_cli(
    *args: str | Path, cwd: Path, columns: int | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `python -m assay ARGS` in `cwd`, with no store from the environment.

    Without `columns` the output is not a terminal, so rich uses its default 80 columns.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("ASSAY_DB", "COLUMNS", "LINES")}
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run(
        [sys.executable, "-m", "assay", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


def user_error(result: subprocess.CompletedProcess[str]) -> str:
    """The one-line message of a command that failed on a user mistake."""
    assert result.returncode == 1, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got:\n{result.stderr}"
    assert lines[0].startswith("error: ")
    return lines[0]


def eval_args(data: Path, db: str | Path, *extra: str | Path) -> list[str | Path]:
    return [
        "eval",
        "--model",
        f"replay:{PREDS}",
        "--data",
        data,
        "--db",
        db,
        "--no-progress",
        *extra,
    ]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    """One `assay eval` into a fresh store: (folder, run id, stdout); tests only read it."""
    folder = tmp_path_factory.mktemp("cli")
    stdout = ok(assay_cli(*eval_args(DATA, folder / "a.db"), cwd=folder))
    match = RUN_ID.search(stdout)
    assert match, stdout
    yield folder, match.group(1), stdout


def show_frame(folder: Path, run_id: str, *extra: str) -> pd.DataFrame:
    stdout = ok(
        assay_cli("show", run_id, "--format", "csv", "--db", folder / "a.db", *extra, cwd=folder)
    )
    return pd.read_csv(io.StringIO(stdout))


# -- commands that work ------------------------------------------------------------


def test_eval_prints_summary_and_run_id(evaluated: tuple[Path, str, str]) -> None:
    folder, run_id, stdout = evaluated
    assert re.search(r"exact_match\s+0\.250", stdout), stdout
    assert re.search(r"f1\s+0\.542", stdout), stdout  # 13/24
    assert "4 generated, 0 cached, 0 resumed" in stdout
    assert f"assay show {run_id}" in stdout
    assert not (folder / ".assay").exists()  # --db was used, not the default store
    with open_store(str(folder / "a.db")) as store:
        assert [r.id for r in store.list_runs()] == [run_id]


def test_runs_lists_the_run(evaluated: tuple[Path, str, str]) -> None:
    folder, run_id, _ = evaluated
    # Wide enough that the row fits on one line wherever the checkout lives.
    stdout = ok(assay_cli("runs", "--db", folder / "a.db", cwd=folder, columns=500))
    (row,) = [line for line in stdout.splitlines() if run_id in line]
    assert "complete" in row and "qa_tiny.jsonl" in row and f"replay:{PREDS}" in row


def test_reading_commands_never_create_a_store(tmp_path: Path) -> None:
    """A mistyped --db is an error, not a new empty store; an empty store lists no runs."""
    for command in (["runs"], ["show", "abcd1234"], ["export", "abcd1234", "-o", "x.csv"]):
        message = user_error(assay_cli(*command, "--db", tmp_path / "typo.db", cwd=tmp_path))
        assert f"no store at {tmp_path / 'typo.db'}" in message
    assert not (tmp_path / "typo.db").exists()
    message = user_error(assay_cli("runs", "--db", "sqlite:/x.db", cwd=tmp_path))
    assert "--db 'sqlite:/x.db' looks like a URL" in message
    assert not (tmp_path / "sqlite:").exists()
    (tmp_path / "notes.db").write_text("not a database\n")
    message = user_error(assay_cli("runs", "--db", tmp_path / "notes.db", cwd=tmp_path))
    assert "is not an SQLite database" in message
    open_store(str(tmp_path / "empty.db")).close()
    stdout = ok(assay_cli("runs", "--db", tmp_path / "empty.db", cwd=tmp_path))
    assert "no runs: `assay eval --model ... --data ...` makes one" in stdout


def test_show_table(evaluated: tuple[Path, str, str]) -> None:
    folder, run_id, _ = evaluated
    stdout = ok(assay_cli("show", run_id, "--db", folder / "a.db", cwd=folder))
    for example_id, prediction in zip(IDS, PREDICTIONS, strict=True):
        assert example_id in stdout and prediction.split()[-1] in stdout
    assert "4 of 4 examples" in stdout


def test_show_csv_accepts_an_id_prefix(evaluated: tuple[Path, str, str]) -> None:
    folder, run_id, _ = evaluated
    frame = show_frame(folder, run_id[:6])
    assert frame["example_id"].tolist() == IDS
    assert frame["prediction"].tolist() == PREDICTIONS
    assert frame["exact_match"].tolist() == [1.0, 0.0, 0.0, 0.0]


def test_show_jsonl(evaluated: tuple[Path, str, str]) -> None:
    folder, run_id, _ = evaluated
    stdout = ok(assay_cli("show", run_id, "--format", "jsonl", "--db", folder / "a.db", cwd=folder))
    frame = pd.read_json(io.StringIO(stdout), lines=True)
    assert frame["example_id"].tolist() == IDS
    assert frame["prediction"].tolist() == PREDICTIONS
    assert frame["f1"].tolist() == pytest.approx([1.0, 0.5, 2 / 3, 0.0])


def test_show_failures_and_limit(evaluated: tuple[Path, str, str]) -> None:
    folder, run_id, _ = evaluated
    assert show_frame(folder, run_id, "--failures")["example_id"].tolist() == ["q2", "q3", "q4"]
    assert show_frame(folder, run_id, "--limit", "2")["example_id"].tolist() == ["q1", "q2"]
    limited = ok(
        assay_cli("show", run_id, "--failures", "--limit", "1", "--db", folder / "a.db", cwd=folder)
    )
    assert "1 of 4 examples" in limited and "q2" in limited


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_export_reads_back(evaluated: tuple[Path, str, str], tmp_path: Path, suffix: str) -> None:
    folder, run_id, _ = evaluated
    target = tmp_path / f"out{suffix}"
    stdout = ok(assay_cli("export", run_id, "-o", target, "--db", folder / "a.db", cwd=tmp_path))
    assert "wrote" in stdout
    if suffix == ".csv":
        frame = pd.read_csv(target)
    elif suffix == ".jsonl":
        frame = pd.read_json(target, lines=True)
    else:
        frame = pd.read_parquet(target)
    assert frame["example_id"].tolist() == IDS
    assert frame["prediction"].tolist() == PREDICTIONS
    assert frame["exact_match"].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert frame["meta.topic"].tolist() == ["geo", "math", "nature", "space"]


def test_score_adds_a_metric(evaluated: tuple[Path, str, str], tmp_path: Path) -> None:
    folder, run_id, _ = evaluated
    shutil.copy(folder / "a.db", tmp_path / "a.db")  # score writes: leave the shared store alone
    stdout = ok(
        assay_cli("score", run_id, "--metrics", "contains", "--db", tmp_path / "a.db", cwd=tmp_path)
    )
    assert re.search(r"contains\s+0\.500", stdout), stdout
    assert run_id in stdout
    frame = show_frame(tmp_path, run_id)
    assert frame["contains"].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert frame["exact_match"].tolist() == [1.0, 0.0, 0.0, 0.0]


def test_models_lists_aliases_and_backends(tmp_path: Path) -> None:
    stdout = ok(assay_cli("models", cwd=tmp_path))
    for name in ("smollm2-135m-instruct", "gemma3-270m", "hf:", "gguf:", "replay:"):
        assert name in stdout


def test_metrics_lists_the_built_ins(tmp_path: Path) -> None:
    stdout = ok(assay_cli("metrics", cwd=tmp_path))
    for name in ("exact_match", "f1", "contains", "embedding", "length_ratio"):
        assert re.search(rf"\b{name}\b", stdout), name
    assert "pass/fail" in stdout
    assert re.search(r"length_ratio\s+│ neutral", stdout)  # no better direction


def test_plugin_metric(tmp_path: Path) -> None:
    plugin = tmp_path / "my_metrics.py"
    plugin.write_text(
        "import assay\n\n\n"
        "@assay.metric('first_word_matches', pass_fail=True)\n"
        "def first_word_matches(prediction, reference):\n"
        '    """The first words agree."""\n'
        "    return prediction.split()[:1] == reference.split()[:1]\n",
        encoding="utf-8",
    )
    listed = ok(assay_cli("metrics", "--plugin", plugin, cwd=tmp_path))
    assert "first_word_matches" in listed and "The first words agree." in listed
    db = tmp_path / "a.db"
    stdout = ok(
        assay_cli(
            *eval_args(DATA, db, "--metrics", "first_word_matches", "--plugin", plugin),
            cwd=tmp_path,
        )
    )
    assert re.search(r"first_word_matches\s+0\.500", stdout), stdout
    missing = user_error(assay_cli("metrics", "--plugin", tmp_path / "nope.py", cwd=tmp_path))
    assert "nope.py: no such file" in missing


# -- user mistakes: one line, the place named, no traceback ------------------------------


def test_malformed_jsonl_names_file_and_line(tmp_path: Path) -> None:
    data = tmp_path / "broken.jsonl"
    data.write_text('{"id": "a", "question": "q", "answer": "x"}\n{"id": "b", "question": \n')
    message = user_error(assay_cli(*eval_args(data, tmp_path / "a.db"), cwd=tmp_path))
    assert f"{data}, line 2: not valid JSON" in message


def test_no_input_field_lists_the_fields(tmp_path: Path) -> None:
    data = tmp_path / "fields.jsonl"
    data.write_text('{"id": "a", "text": "q", "label": "x"}\n')
    message = user_error(assay_cli(*eval_args(data, tmp_path / "a.db"), cwd=tmp_path))
    assert str(data) in message
    assert "no input field found" in message and "id, text, label" in message
    assert "--input-field" in message


def test_named_field_missing_lists_the_fields(tmp_path: Path) -> None:
    message = user_error(
        assay_cli(
            *eval_args(DATA, tmp_path / "a.db", "--reference-field", "solution"), cwd=tmp_path
        )
    )
    assert "--reference-field 'solution' is not a field" in message
    assert "id, question, answer, topic" in message


def test_empty_data_set(tmp_path: Path) -> None:
    data = tmp_path / "empty.jsonl"
    data.write_text("\n")
    message = user_error(assay_cli(*eval_args(data, tmp_path / "a.db"), cwd=tmp_path))
    assert f"{data}: the data set is empty" in message


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    data = tmp_path / "latin1.jsonl"
    data.write_bytes(
        b'{"id": "a", "question": "q", "answer": "x"}\n'
        + '{"id": "b", "question": "caf\u00e9?", "answer": "y"}\n'.encode("latin-1")
    )
    message = user_error(assay_cli(*eval_args(data, tmp_path / "a.db"), cwd=tmp_path))
    assert f"{data}, line 2: not UTF-8" in message and "0xe9" in message


def test_unknown_model_lists_the_aliases(tmp_path: Path) -> None:
    result = assay_cli(
        "eval", "--model", "smollm3-135m", "--data", DATA, "--db", tmp_path / "a.db", cwd=tmp_path
    )
    message = user_error(result)
    assert "unknown model 'smollm3-135m'" in message
    assert "smollm2-135m-instruct" in message and "gemma3-270m" in message
    assert "replay:" in message


def test_missing_predictions_file(tmp_path: Path) -> None:
    result = assay_cli(
        "eval",
        "--model",
        "replay:nope.jsonl",
        "--data",
        DATA,
        "--db",
        tmp_path / "a.db",
        cwd=tmp_path,
    )
    assert "no such predictions file 'nope.jsonl'" in user_error(result)


def test_unknown_metric_lists_the_registered_ones(tmp_path: Path) -> None:
    message = user_error(
        assay_cli(
            *eval_args(DATA, tmp_path / "a.db", "--metrics", "exact_match,bleu"), cwd=tmp_path
        )
    )
    assert "Unknown metric 'bleu'" in message
    registered = message.split("Registered metrics: ", 1)[1].rstrip(".").split(", ")
    assert {"contains", "embedding", "exact_match", "f1", "length", "length_ratio"} <= set(
        registered
    )
    assert registered == sorted(registered)
    assert not (tmp_path / "a.db").exists()  # refused before anything was stored


def test_locked_store(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    open_store(str(db)).close()
    other = sqlite3.connect(db, timeout=0.1, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        result = assay_cli(*eval_args(DATA, db), cwd=tmp_path)  # waits the 5 s busy timeout
    finally:
        other.execute("ROLLBACK")
        other.close()
    message = user_error(result)
    assert f"the store {db} is locked by another process" in message
    assert "ASSAY_DB" in message


def test_read_only_store(evaluated: tuple[Path, str, str], tmp_path: Path) -> None:
    folder, run_id, _ = evaluated
    shutil.copy(folder / "a.db", tmp_path / "a.db")
    # chmod does not stop root, so open the file read-only through an SQLite URI.
    url = f"sqlite:///file:{tmp_path / 'a.db'}?mode=ro&uri=true"
    assert run_id in ok(assay_cli("runs", "--db", url, cwd=tmp_path))  # reading works
    message = user_error(assay_cli(*eval_args(DATA, url), cwd=tmp_path))
    assert f"the store {tmp_path / 'a.db'} is read-only" in message


def test_show_unknown_run(evaluated: tuple[Path, str, str]) -> None:
    folder, _, _ = evaluated
    message = user_error(assay_cli("show", "ffffffffffff", "--db", folder / "a.db", cwd=folder))
    assert f"no run 'ffffffffffff' (id or name) in {folder / 'a.db'}" in message
    assert "assay runs" in message


def test_show_bad_format(evaluated: tuple[Path, str, str]) -> None:
    folder, run_id, _ = evaluated
    result = assay_cli("show", run_id, "--format", "xml", "--db", folder / "a.db", cwd=folder)
    assert "--format 'xml' is not one of: table, csv, jsonl" in user_error(result)


def test_export_bad_extension(evaluated: tuple[Path, str, str], tmp_path: Path) -> None:
    folder, run_id, _ = evaluated
    result = assay_cli(
        "export", run_id, "-o", tmp_path / "out.xlsx", "--db", folder / "a.db", cwd=tmp_path
    )
    message = user_error(result)
    assert "unsupported extension '.xlsx'" in message and ".parquet" in message
    assert not (tmp_path / "out.xlsx").exists()


def test_help_texts_keep_their_placeholders() -> None:
    """Help is rendered as markdown, where "<file>" reads as an HTML tag and vanishes
    ("gguf:<file>" printed as "gguf:"); placeholders are written FILE, NAME, ... instead."""
    import click
    import typer

    from assay.cli import app

    def commands(group: click.Command) -> Iterator[click.Command]:
        yield group
        if isinstance(group, click.Group):
            for sub in group.commands.values():
                yield from commands(sub)

    tag = re.compile(r"<[A-Za-z][^<>]*>")
    lost = [
        f"{command.name} {param.name}: {param.help}"
        for command in commands(typer.main.get_command(app))
        for param in command.params
        if isinstance(param, click.Option) and param.help and tag.search(param.help)
    ]
    assert not lost

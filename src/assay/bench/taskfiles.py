"""Task files: a benchmark task defined in a file, run by `assay bench --tasks PATH`.

Two formats: assay's own task file (YAML or TOML, see filetask.py: a data file,
a prompt template, choices or a generative metric, few-shot source and count)
and BIG-bench's `task.json` (bigbench.py), read as BIG-bench itself reads it.
A file's task is registered under the name the file gives it, so it runs like
a built-in task: same storage, resume, caching and results layout.
"""

from __future__ import annotations

from pathlib import Path

from assay.exceptions import NotFoundError

SUFFIXES = (".yaml", ".yml", ".toml", ".json")


def is_task_file(name: str) -> bool:
    """Whether a --tasks entry names a task file (by its extension) rather than a task."""
    return name.lower().endswith(SUFFIXES)


def load_task_file(name: str) -> str:
    """Read a task file, register its task (or group of subtasks), and return its name.

    Raises:
        NotFoundError: No such file.
        DataError: The file, or its data, is not a valid task (file, line and field named).
    """
    path = Path(name).expanduser()
    if not path.is_file():
        raise NotFoundError(f"{name}: no such task file")
    if path.suffix.lower() == ".json":
        from assay.bench.bigbench import load_bigbench

        return load_bigbench(path)
    from assay.bench.filetask import load_file_task

    return load_file_task(path)

"""Benchmark data: JSONL files in the hub schema under --data-dir, or the hub itself.

A local folder mirrors the hub's configs and splits (see the layout in
:data:`LOCAL_FILES`). Every row is checked against the fields the task needs;
a missing file or a row that does not fit names the file and the line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.exceptions import DataError
from assay.hub import datasets_offline_unless_reachable, endpoint

Doc = dict[str, Any]
RowCheck = Callable[[Doc], str | None]
"""Returns what is wrong with a row (a short phrase), or None when it fits."""


@dataclass(frozen=True)
class DataSpec:
    """Where one split of a benchmark lives.

    Attributes:
        hub_path: The hub data set ("allenai/ai2_arc").
        hub_name: Its config ("ARC-Challenge"), or None.
        split: The split ("test").
        local: Candidate file paths under --data-dir, first existing wins.
        check: Validates one row.
        subject: For MMLU: keep only rows of this subject (the local files hold all subjects).
    """

    hub_path: str
    hub_name: str | None
    split: str
    local: tuple[str, ...]
    check: RowCheck
    subject: str | None = None


@dataclass
class DataSource:
    """Reads benchmark splits from a folder of JSONL files, or from the hub; caches what it read."""

    data_dir: Path | str | None = None
    _cache: dict[tuple[str, ...], list[Doc]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.data_dir is not None:
            self.data_dir = Path(self.data_dir).expanduser()

    def load(self, spec: DataSpec) -> list[Doc]:
        """The rows of one split, in file order."""
        rows = self._local(spec) if self.data_dir is not None else self._hub(spec)
        if spec.subject is not None:
            rows = [row for row in rows if row.get("subject") == spec.subject]
        return rows

    def _local(self, spec: DataSpec) -> list[Doc]:
        assert self.data_dir is not None
        candidates = [Path(self.data_dir) / name for name in spec.local]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            tried = ", ".join(str(p) for p in candidates)
            dataset = " ".join(part for part in (spec.hub_path, spec.hub_name) if part)
            raise DataError(
                f"{dataset} split '{spec.split}': no file at {tried}. "
                "Put the split there as JSONL in the hub schema, or leave out --data-dir to read "
                "it from the Hugging Face hub."
            )
        key = (str(path),)
        if key not in self._cache:
            self._cache[key] = read_jsonl(path, spec.check)
        return self._cache[key]

    def _hub(self, spec: DataSpec) -> list[Doc]:
        key = (spec.hub_path, spec.hub_name or "", spec.split)
        if key in self._cache:
            return self._cache[key]
        try:
            import datasets
        except ModuleNotFoundError as error:  # pragma: no cover - datasets is a dependency
            raise DataError(
                "reading benchmarks from the hub needs: pip install datasets"
            ) from error
        with datasets_offline_unless_reachable() as online:
            try:
                loaded = datasets.load_dataset(spec.hub_path, spec.hub_name, split=spec.split)
            except Exception as error:
                where = (
                    "from the hub"
                    if online
                    else f"from the local cache ({endpoint()} cannot be reached)"
                )
                raise DataError(
                    f"could not load {spec.hub_path} ({spec.hub_name or 'default'}, split "
                    f"'{spec.split}') {where}: {error}. Without network access, pass --data-dir "
                    "with the JSONL files."
                ) from error
        rows = [dict(row) for row in loaded]
        for number, row in enumerate(rows, start=1):
            problem = spec.check(row)
            if problem:
                raise DataError(f"{spec.hub_path} split '{spec.split}' row {number}: {problem}")
        self._cache[key] = rows
        return rows


def read_jsonl(path: Path, check: RowCheck) -> list[Doc]:
    """Every row of a JSONL file, each checked; errors name the file and line."""
    rows: list[Doc] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(f"{path}:{number}: not valid JSON ({error.msg})") from None
            if not isinstance(row, dict):
                raise DataError(
                    f"{path}:{number}: expected a JSON object, got {type(row).__name__}"
                )
            problem = check(row)
            if problem:
                raise DataError(f"{path}:{number}: {problem}")
            rows.append(row)
    return rows


def require(row: Mapping[str, Any], **types: type | tuple[type, ...]) -> str | None:
    """What is missing or mistyped among the named top-level fields, or None."""
    for name, expected in types.items():
        if name not in row:
            return f"missing field '{name}'"
        if not isinstance(row[name], expected):
            wanted = (
                expected.__name__
                if isinstance(expected, type)
                else "/".join(t.__name__ for t in expected)
            )
            return f"field '{name}' should be {wanted}, got {type(row[name]).__name__}"
    return None


def string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)

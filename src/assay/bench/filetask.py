"""assay's own task files (YAML or TOML): a benchmark task without Python.

    name: support_routing            # the task's name (letters, digits, _ . : -)
    data: tickets.jsonl              # JSONL, or JSON (a list of objects); relative to this file
    prompt: "Ticket: {text}\\nQueue:" # {field} placeholders, filled from each row
    target: "{queue}"                # the answer: a choice's text (or index), or the reference
    choices: [billing, technical, account]   # or choices_field: options (a list per row)
    num_fewshot: 3                   # default shots (--num-fewshot overrides)
    fewshot_data: train.jsonl        # default: the data itself, never a question's own row
    fewshot_sampler: random          # or first_n
    description: "Route each ticket.\\n\\n"

With `choices` (or `choices_field`) each choice is scored by log-likelihood
(acc and acc_norm, as the benchmarks); without, the model generates (greedy,
until `until`, at most `max_new_tokens`) and `metric: exact_match` compares the
answer (first group of `extract` if given) with the target, after
`ignore_case` / `ignore_punctuation`. Prompts are built as the harness builds
them: description, each example as prompt + target_delimiter (" ") + answer +
fewshot_delimiter ("\\n\\n"), then the question's prompt.

Every mistake is a one-line error naming the file, the line and the field: an
unknown key (with the allowed ones), a wrong type, choices given twice or only
one, a row without a field the templates name, a target that is no choice.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.bench.data import Doc
from assay.bench.extraction import ExactMatch, RegexExtract
from assay.bench.generative import FilteredMatchTask
from assay.bench.tasks import FEWSHOT_DELIMITER, TARGET_DELIMITER, Sampler, Task, register_task
from assay.exceptions import DataError, MissingDependencyError

KEYS: dict[str, str] = {
    "name": "the task's name",
    "data": "the data file (JSONL or JSON)",
    "prompt": "the prompt template",
    "target": "the answer template",
    "choices": "a list of two or more distinct choices",
    "choices_field": "the field holding each row's choices",
    "metric": "exact_match (generative tasks)",
    "extract": "a regular expression whose first group is the answer (generative tasks)",
    "ignore_case": "compare answers lower-cased (generative tasks)",
    "ignore_punctuation": "compare answers without punctuation (generative tasks)",
    "until": "stop strings (generative tasks)",
    "max_new_tokens": "the generation budget (generative tasks)",
    "num_fewshot": "default few-shot examples",
    "fewshot_data": "the file few-shot examples come from",
    "fewshot_sampler": "random or first_n",
    "description": "text before the examples",
    "target_delimiter": "between a prompt and its answer",
    "fewshot_delimiter": "after each example",
}
"""Every key a task file may have, with what it holds."""

NAME = re.compile(r"[A-Za-z0-9_.:\-]+")
METRICS = ("exact_match",)


@dataclass(frozen=True)
class TaskSpec:
    """A task file's content, checked.

    Attributes:
        path: The task file.
        name / data / prompt / target / ...: The keys above.
        lines: Key -> its line in the file (for errors about the data that point at a key).
    """

    path: Path
    name: str
    data: Path
    prompt: str
    target: str
    choices: tuple[str, ...] | None = None
    choices_field: str | None = None
    metric: str = "exact_match"
    extract: str | None = None
    ignore_case: bool = False
    ignore_punctuation: bool = False
    until: tuple[str, ...] = ("\n\n",)
    max_new_tokens: int = 256
    num_fewshot: int = 0
    fewshot_data: Path | None = None
    fewshot_sampler: Sampler = "random"
    description: str = ""
    target_delimiter: str = TARGET_DELIMITER
    fewshot_delimiter: str = FEWSHOT_DELIMITER
    lines: Mapping[str, int] = field(default_factory=dict)

    @property
    def multiple_choice(self) -> bool:
        return self.choices is not None or self.choices_field is not None

    def where(self, key: str) -> str:
        """ "file:line: field 'key'" for messages."""
        line = self.lines.get(key)
        return f"{self.path}:{line}: field '{key}'" if line else f"{self.path}: field '{key}'"

    def identity(self) -> str:
        """What decides the outputs beyond the questions (part of the run key)."""
        fields_ = {k: getattr(self, k) for k in KEYS if k not in ("data", "fewshot_data", "name")}
        return json.dumps(fields_, sort_keys=True, default=str)


def load_file_task(path: Path) -> str:
    """Read a YAML or TOML task file, register its task, and return the task's name."""
    values, lines = read_mapping(path)
    spec = parse_spec(path, values, lines)
    task: Task = FileChoiceTask(spec) if spec.multiple_choice else FileGenerativeTask(spec)
    register_task(task, replace=False)
    return task.name


def read_mapping(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """The file's top-level mapping and the line of each key."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".toml":
        return _read_toml(path, text)
    return _read_yaml(path, text)


def _read_yaml(path: Path, text: str) -> tuple[dict[str, Any], dict[str, int]]:
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        values = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise DataError(f"{path}{line}: not valid YAML ({problem})") from None
    if not isinstance(values, dict) or not isinstance(node, yaml.MappingNode):
        raise DataError(f"{path}:1: a task file is a mapping of keys ({', '.join(KEYS)})")
    lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value}
    return {str(k): v for k, v in values.items()}, lines


def _read_toml(path: Path, text: str) -> tuple[dict[str, Any], dict[str, int]]:
    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            raise MissingDependencyError(
                "tomli", "reading TOML task files on Python 3.10"
            ) from None
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DataError(f"{path}: not valid TOML ({error})") from None
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(r"""\s*["']?([A-Za-z0-9_\-]+)["']?\s*=""", line)
        if match and match.group(1) in values and match.group(1) not in lines:
            lines[match.group(1)] = number
    return values, lines


def parse_spec(path: Path, values: Mapping[str, Any], lines: Mapping[str, int]) -> TaskSpec:
    """The checked spec of a task file's mapping; every problem names the file, line and key."""

    def where(key: str) -> str:
        return f"{path}:{lines[key]}: field '{key}'" if key in lines else f"{path}: field '{key}'"

    for key in values:
        if key not in KEYS:
            raise DataError(
                f"{where(key).replace('field', 'unknown key')}; allowed: {', '.join(KEYS)}"
            )
    for key in ("name", "data", "prompt", "target"):
        if key not in values:
            raise DataError(f"{path}: missing key '{key}' ({KEYS[key]})")
    checked: dict[str, Any] = {}
    for key, value in values.items():
        checked[key] = _checked(key, value, where(key))
    if not NAME.fullmatch(checked["name"]):
        raise DataError(f"{where('name')} is {checked['name']!r}: use letters, digits and _ . : -")
    if "choices" in checked and "choices_field" in checked:
        raise DataError(f"{where('choices_field')}: give choices or choices_field, not both")
    generative_only = [k for k in ("metric", "extract", "until", "max_new_tokens") if k in checked]
    if ("choices" in checked or "choices_field" in checked) and generative_only:
        raise DataError(
            f"{where(generative_only[0])} is for generative tasks; this one has choices"
        )
    if "choices" in checked:
        check_choices(checked["choices"], where("choices"))
    if checked.get("metric", "exact_match") not in METRICS:
        raise DataError(f"{where('metric')} is {checked['metric']!r}; known: {', '.join(METRICS)}")
    if "extract" in checked:
        try:
            re.compile(checked["extract"])
        except re.error as error:
            raise DataError(f"{where('extract')} is not a regular expression ({error})") from None
    if checked.get("fewshot_sampler", "random") not in ("random", "first_n"):
        raise DataError(
            f"{where('fewshot_sampler')} is {checked['fewshot_sampler']!r}; use random or first_n"
        )
    if checked.get("max_new_tokens", 1) < 1 or checked.get("num_fewshot", 0) < 0:
        bad = "max_new_tokens" if checked.get("max_new_tokens", 1) < 1 else "num_fewshot"
        raise DataError(
            f"{where(bad)} is {checked[bad]}: must be {'1' if bad == 'max_new_tokens' else '0'} or more"
        )
    for key in ("prompt", "target"):
        placeholders(checked[key], where(key))
    base = path.parent
    checked["data"] = base / checked["data"]
    if "fewshot_data" in checked:
        checked["fewshot_data"] = base / checked["fewshot_data"]
    for key in ("data", "fewshot_data"):
        if key in checked and not checked[key].is_file():
            raise DataError(f"{where(key)}: no file at {checked[key]}")
    return TaskSpec(path=path, lines=dict(lines), **checked)


_TYPES: dict[str, tuple[type, str]] = {
    "name": (str, "a string"),
    "data": (str, "a file path"),
    "prompt": (str, "a string"),
    "target": (str, "a string"),
    "choices": (list, "a list of strings"),
    "choices_field": (str, "a field name"),
    "metric": (str, "a metric name"),
    "extract": (str, "a regular expression"),
    "ignore_case": (bool, "true or false"),
    "ignore_punctuation": (bool, "true or false"),
    "until": (list, "a list of strings"),
    "max_new_tokens": (int, "a whole number"),
    "num_fewshot": (int, "a whole number"),
    "fewshot_data": (str, "a file path"),
    "fewshot_sampler": (str, "random or first_n"),
    "description": (str, "a string"),
    "target_delimiter": (str, "a string"),
    "fewshot_delimiter": (str, "a string"),
}


def _checked(key: str, value: Any, where: str) -> Any:
    wanted, described = _TYPES[key]
    ok = isinstance(value, wanted) and not (wanted is int and isinstance(value, bool))
    if ok and wanted is list:
        ok = all(isinstance(v, str) and v for v in value)
    if not ok:
        raise DataError(f"{where} should be {described}, got {value!r}")
    return tuple(value) if wanted is list else value


def check_choices(choices: Sequence[str], where: str) -> None:
    """Two or more choices, each once.

    Raises:
        DataError: A duplicate or a single choice, at `where` ("file:line: field 'x'").
    """
    if len(choices) < 2:
        raise DataError(f"{where} has {len(choices)} choice(s); give two or more")
    seen: set[str] = set()
    for choice in choices:
        if choice in seen:
            raise DataError(f"{where} has {choice!r} twice; each choice must be distinct")
        seen.add(choice)


def placeholders(template: str, where: str) -> list[str]:
    """The field names a template's {field} placeholders name (plain names only)."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise DataError(
            f"{where} is not a valid template ({error}); write {{{{ for a brace"
        ) from None
    names = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise DataError(f"{where}: placeholder {{{name}}} must be a plain field name")
        names.append(name)
    return names


def fill(template: str, row: Mapping[str, Any], where: str, named_by: str) -> str:
    """The template with each placeholder replaced by the row's value (lists and objects
    as JSON).

    Args:
        template: The template.
        row: The row.
        where: The row's place ("data.jsonl:3"), for errors.
        named_by: The template's place ("task.yaml:4: field 'prompt'"), for errors.
    """
    out = []
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is None:
            continue
        if name not in row:
            raise DataError(f"{where}: the row has no field '{name}', which {named_by} names")
        value = row[name]
        out.append(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    return "".join(out)


def read_rows(path: Path) -> list[Doc]:
    """The rows of a data file (JSONL, or JSON holding a list of objects); each carries its
    place in the file under "__line__", for errors."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as error:
            raise DataError(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from None
        if not isinstance(loaded, list) or not all(isinstance(r, dict) for r in loaded):
            raise DataError(f"{path}: a JSON data file holds a list of objects")
        return [{**row, "__line__": f"{path} row {i}"} for i, row in enumerate(loaded, start=1)]
    rows: list[Doc] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"{path}:{number}: not valid JSON ({error.msg})") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
        rows.append({**row, "__line__": f"{path}:{number}"})
    if not rows:
        raise DataError(f"{path}: no rows")
    return rows


class _FileTask:
    """What both kinds of file task share: rows from the files, prompts from templates."""

    spec: TaskSpec
    source: str | None

    def _setup(self, spec: TaskSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.source = str(spec.path)
        self.default_shots = spec.num_fewshot
        self.sampler = spec.fewshot_sampler
        self.target_delimiter = spec.target_delimiter
        self.fewshot_delimiter = spec.fewshot_delimiter
        self._docs: dict[Path, list[Doc]] = {}

    def _rows(self, path: Path) -> list[Doc]:
        if path not in self._docs:
            rows = read_rows(path)
            for row in rows:
                self.check_row(row)
            self._docs[path] = rows
        return self._docs[path]

    def check_row(self, row: Doc) -> None:
        self.doc_to_text(row)

    def eval_docs(self, source: object) -> list[Doc]:
        return self._rows(self.spec.data)

    def fewshot_pool(self, source: object) -> list[Doc]:
        return self._rows(self.spec.fewshot_data or self.spec.data)

    @property
    def fewshot_from_eval_split(self) -> bool:
        return self.spec.fewshot_data is None

    def description(self, doc: Doc) -> str:
        return self.spec.description

    def doc_to_text(self, doc: Doc) -> str:
        return fill(self.spec.prompt, doc, str(doc["__line__"]), self.spec.where("prompt"))

    def question_text(self, doc: Doc) -> str:
        return self.doc_to_text(doc)

    def fingerprint(self) -> str:
        return self.spec.identity()


class FileChoiceTask(_FileTask, Task):
    """A task file with choices: each scored by log-likelihood; acc and acc_norm."""

    metrics = ("acc", "acc_norm")
    main_metric = "acc"

    def __init__(self, spec: TaskSpec) -> None:
        self._setup(spec)

    def check_row(self, row: Doc) -> None:
        super().check_row(row)
        self.doc_to_target(row)

    def doc_to_choice(self, doc: Doc) -> list[str]:
        if self.spec.choices is not None:
            return list(self.spec.choices)
        name = self.spec.choices_field or ""
        where = f"{doc['__line__']}: field '{name}'"
        value = doc.get(name)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise DataError(f"{where} should be a list of non-empty strings (the row's choices)")
        check_choices(value, where)
        return list(value)

    def doc_to_target(self, doc: Doc) -> int:
        choices = self.doc_to_choice(doc)
        answer = fill(self.spec.target, doc, str(doc["__line__"]), self.spec.where("target"))
        if answer in choices:
            return choices.index(answer)
        if answer.strip().isdigit() and int(answer) < len(choices):
            return int(answer)
        raise DataError(
            f"{doc['__line__']}: target {answer!r} (from '{self.spec.target}') is not one of "
            f"the choices {choices}, nor an index into them"
        )


class FileGenerativeTask(_FileTask, FilteredMatchTask):
    """A task file without choices: a generated answer, exact-matched with the target."""

    def __init__(self, spec: TaskSpec) -> None:
        self._setup(spec)
        self.until = spec.until
        self.max_gen_toks = spec.max_new_tokens
        self.filters = {
            "extract" if spec.extract else "none": RegexExtract(spec.extract)
            if spec.extract
            else None
        }
        self.metric_names = {name: "exact_match" for name in self.filters}
        self.match = ExactMatch(
            ignore_case=spec.ignore_case, ignore_punctuation=spec.ignore_punctuation
        )

    def check_row(self, row: Doc) -> None:
        super().check_row(row)
        self.fewshot_answer(row)

    def fewshot_answer(self, doc: Doc) -> str:
        return fill(self.spec.target, doc, str(doc["__line__"]), self.spec.where("target"))

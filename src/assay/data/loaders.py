"""Loading a test set from wherever it lives into a :class:`Dataset`.

Sources, tried in this order:

- a :class:`Dataset` (returned as it is, with --limit / --sample applied);
- a pandas DataFrame;
- a folder written by ``datasets``' ``save_to_disk`` (a Dataset, or a
  DatasetDict whose split ``split`` picks, "test" by default);
- a file, by extension: ``.jsonl`` / ``.ndjson``, ``.json`` (a list of
  objects, or an object holding one under "data", "examples" or "rows"),
  ``.csv``, ``.parquet``;
- anything else that does not look like a path: a Hugging Face hub id.

Every reader produces the same :class:`~assay.data.fields.RawRow` list, each
row knowing where it came from ("line 7", "item 3", "row 3"; all 1-based), so
that :mod:`assay.data.fields` can name the place of any bad value. JSONL is
parsed line by line for the same reason. In CSV an empty cell reads as None,
since CSV has no other way to write a missing value.

Readers are strict where the formats' usual Python readers are lenient: JSON
without NaN, Infinity or numbers too large to hold (:mod:`assay.data.jsontext`),
CSV without stray or unclosed quotes. Then every value of every source passes
one rule (:mod:`assay.data.values`), which refuses what the store and the
screen cannot hold and converts what JSON has no kind for (decimals, dates).
"""

from __future__ import annotations

import csv
import io
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from assay.data.example import Dataset, Example, RawRow
from assay.data.fields import column_names, resolve_fields, to_examples
from assay.data.jsontext import parse
from assay.data.values import kind_of, plain_row, shown
from assay.exceptions import DataError

if TYPE_CHECKING:
    import pandas

JSON_LIST_KEYS = ("data", "examples", "rows")
"""Keys under which a .json file that is an object may hold its list of rows."""

DEFAULT_SPLIT = "test"


def load_dataset(
    source: str | Path | pandas.DataFrame | Dataset,
    *,
    split: str | None = None,
    input_field: str | None = None,
    reference_field: str | None = None,
    id_field: str | None = None,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
) -> Dataset:
    """Load a test set and map its columns to examples.

    Args:
        source: A file path, a save_to_disk folder, a hub id, a DataFrame, or a
            Dataset that is already loaded.
        split: The split of a DatasetDict folder or hub data set ("test" by default).
        input_field: The column holding the inputs; by default the first of
            question, prompt, input, instruction.
        reference_field: The column holding the expected answers; by default the
            first of answer, output, reference, target, response, or none.
        id_field: The column holding unique ids; by default "id" if present,
            else the row's 0-based position.
        limit: Keep only the first this many examples.
        sample: Keep this many examples drawn at random (in their original
            order); applied before ``limit``.
        seed: Seed for ``sample``, so the same draw repeats.

    Returns:
        The data set, named after its source.

    Raises:
        DataError: The source cannot be read, a row does not fit, or nothing is left.
    """
    _check_positive("--limit", limit)
    _check_positive("--sample", sample)
    if isinstance(source, Dataset):
        _check_no_mapping(source.name, split, input_field, reference_field, id_field)
        selected = _select(list(source.examples), limit=limit, sample=sample, seed=seed)
        return source if len(selected) == len(source) else replace(source, examples=selected)
    name, rows = read_rows(source, split)
    if not rows:
        raise DataError(f"{name}: the data set is empty (no rows)")
    fields = resolve_fields(
        name,
        column_names(rows),
        input_field=input_field,
        reference_field=reference_field,
        id_field=id_field,
    )
    examples = to_examples(name, rows, fields)
    return Dataset(
        name=_where(source, name),
        examples=_select(examples, limit=limit, sample=sample, seed=seed),
        input_field=fields.input,
        reference_field=fields.reference,
    )


def _where(source: object, name: str) -> str:
    """The data set's name as a run records it: a local file or folder by its absolute
    path (two files called test.jsonl stay apart), anything else as given."""
    if isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        given = str(source)
        if path.exists() and name.startswith(given):
            return str(path.resolve()) + name[len(given) :]  # keeps a "[split]" suffix
    return name


def read_rows(source: str | Path | pandas.DataFrame, split: str | None) -> tuple[str, list[RawRow]]:
    """The source's display name and its rows (also used to read prediction files).

    Every value is checked and converted by the rule of :mod:`assay.data.values`
    (finite numbers, real text, bounded nesting, JSON's kinds only), so nothing
    read here can fail later on its way into a prompt, the store or a screen.
    """
    name, rows = _read_raw(source, split)
    return name, [plain_row(name, row) for row in rows]


def _read_raw(source: str | Path | pandas.DataFrame, split: str | None) -> tuple[str, list[RawRow]]:
    if _is_dataframe(source):
        _check_no_split("DataFrame", split)
        return "DataFrame", _dataframe_rows(source)
    if not isinstance(source, (str, Path)):
        raise DataError(
            f"cannot load a data set from a {type(source).__name__}; give a path, "
            "a hub id, a pandas DataFrame or a Dataset"
        )
    name = str(source)
    path = Path(source).expanduser()
    if path.is_dir():
        return _read_saved(name, path, split)
    suffix = path.suffix.lower()
    if path.is_file():
        reader = _FILE_READERS.get(suffix)
        if reader is None:
            raise DataError(f"{name}: unknown file type '{suffix}'; {_SUPPORTED}")
        _check_no_split(name, split)
        return name, reader(name, path)
    if isinstance(source, Path) or suffix in _FILE_READERS or name.startswith((".", "/", "~")):
        raise DataError(f"{name}: no such file or folder")
    return _read_hub(name, split)


def _read_jsonl(name: str, path: Path) -> list[RawRow]:
    rows = []
    for number, line in enumerate(_read_text(name, path).split("\n"), start=1):
        if not line.strip():
            continue
        value = parse(line, name, number)
        if not isinstance(value, dict):
            raise DataError(
                f"{name}, line {number}: expected a JSON object, found {kind_of(value)}"
            )
        rows.append(RawRow(value, f"line {number}"))
    return rows


def _read_json(name: str, path: Path) -> list[RawRow]:
    data = parse(_read_text(name, path), name)
    if isinstance(data, dict):
        data = next((data[key] for key in JSON_LIST_KEYS if isinstance(data.get(key), list)), data)
    if not isinstance(data, list):
        raise DataError(
            f"{name}: expected a list of objects, or an object with a list under "
            f"{', '.join(repr(key) for key in JSON_LIST_KEYS)}; found {kind_of(data)}"
        )
    rows = []
    for number, value in enumerate(data, start=1):
        if not isinstance(value, dict):
            raise DataError(
                f"{name}, item {number}: expected a JSON object, found {kind_of(value)}"
            )
        rows.append(RawRow(value, f"item {number}"))
    return rows


def _read_csv(name: str, path: Path) -> list[RawRow]:
    """CSV as written by spreadsheets and pandas, strictly: a stray quote is an error.

    The reader is strict, and a quote still open at the end of the file is
    reported at the line where its record began, not silently closed there
    (which would swallow the rest of the file into one value).
    """
    reader = csv.reader(io.StringIO(_read_text(name, path), newline=""), strict=True)
    start = 1
    try:
        header = next(reader, None)
        if header is None:
            return []
        duplicated = sorted({column for column in header if header.count(column) > 1})
        if duplicated:
            raise DataError(
                f"{name}, line 1: the header repeats the column(s) "
                f"{', '.join(shown(column) for column in duplicated)}"
            )
        rows = []
        start = reader.line_num + 1
        for record in reader:
            where, start = f"line {start}", reader.line_num + 1
            if not record:
                continue
            if len(record) > len(header):
                raise DataError(
                    f"{name}, {where}: {len(record)} values, "
                    f"but the header has {len(header)} columns"
                )
            cells = [cell if cell != "" else None for cell in record]
            cells += [None] * (len(header) - len(cells))
            rows.append(RawRow(dict(zip(header, cells, strict=True)), where))
        return rows
    except csv.Error as error:
        if str(error) == "unexpected end of data":
            raise DataError(
                f'{name}, line {start}: a quoted value opened here is never closed (a " with '
                'no closing "); close it, or write a quote inside a quoted value as ""'
            ) from None
        if str(error).startswith("field larger than field limit"):
            raise DataError(
                f"{name}, line {start}: a value that starts on this line runs past "
                f"{csv.field_size_limit()} characters, most likely because a quote opened "
                "here is never closed"
            ) from None
        raise DataError(f"{name}, line {reader.line_num}: not valid CSV ({error})") from None


def _read_parquet(name: str, path: Path) -> list[RawRow]:
    import pyarrow
    import pyarrow.parquet

    try:
        table = pyarrow.parquet.read_table(path)
        _check_unique_columns(name, table.column_names)
        records = table.to_pylist()
    except (pyarrow.ArrowException, OSError, ValueError, OverflowError) as error:
        # ValueError and OverflowError: a value Python cannot hold (a year beyond 9999, ...)
        reason = " ".join(str(error).split())
        raise DataError(f"{name}: not a readable Parquet file ({reason})") from None
    return _table_rows(records)


def _read_saved(name: str, path: Path, split: str | None) -> tuple[str, list[RawRow]]:
    """A folder written by ``datasets.Dataset.save_to_disk`` or ``DatasetDict.save_to_disk``."""
    is_dict = (path / "dataset_dict.json").is_file()
    if not is_dict and not (path / "state.json").is_file():
        raise DataError(
            f"{name}: is a folder, but not one written by save_to_disk "
            f"(no state.json or dataset_dict.json in it); {_SUPPORTED}"
        )
    datasets = _import_datasets()
    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as error:  # datasets raises many kinds; all mean "cannot read this folder"
        raise DataError(f"{name}: the saved data set cannot be read ({error})") from None
    if not is_dict:
        _check_no_split(name, split)
        return name, _table_rows(loaded.to_list())
    splits = list(loaded)
    chosen = split or (DEFAULT_SPLIT if DEFAULT_SPLIT in splits else None)
    if chosen not in splits:
        wanted = f"has no split '{split}'" if split else f"has no '{DEFAULT_SPLIT}' split"
        raise DataError(
            f"{name}: {wanted}; its splits are {', '.join(splits)} (choose with --split)"
        )
    return f"{name}[{chosen}]", _table_rows(loaded[chosen].to_list())


def _read_hub(hub_id: str, split: str | None) -> tuple[str, list[RawRow]]:
    chosen = split or DEFAULT_SPLIT
    datasets = _import_datasets()
    try:
        loaded = datasets.load_dataset(hub_id, split=chosen)
    except Exception as error:  # network, auth, missing split: all mean "not loadable"
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataError(
            f"{hub_id}: not a local file or folder, and it could not be loaded from the "
            f"Hugging Face hub as a data set id (split '{chosen}'): {reason}. "
            "To use local data, give the path of a .jsonl, .json, .csv or .parquet file "
            "or of a save_to_disk folder instead"
        ) from None
    return f"{hub_id}[{chosen}]", _table_rows(loaded.to_list())


def _dataframe_rows(frame: pandas.DataFrame) -> list[RawRow]:
    """A DataFrame's rows as plain Python values (NaN as None, numpy values unwrapped)."""
    _check_unique_columns("DataFrame", [str(column) for column in frame.columns])
    plain = frame.astype(object).where(frame.notna(), None)
    records = plain.to_dict(orient="records")
    return _table_rows(
        [{str(key): _unwrap(value) for key, value in record.items()} for record in records]
    )


def _table_rows(records: Sequence[dict[str, Any]]) -> list[RawRow]:
    return [RawRow(record, f"row {number}") for number, record in enumerate(records, start=1)]


def _unwrap(value: Any) -> Any:
    """numpy scalars and arrays as Python values, so lists of answers stay lists."""
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) else value


def _read_text(name: str, path: Path) -> str:
    """A file's text, failing with the place of the first byte that is not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataError(f"{name}: cannot be read ({error.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        utf16 = " (it looks like UTF-16)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise DataError(
            f"{name}, line {line}: not UTF-8 text{utf16}: byte 0x{data[error.start]:02x} "
            f"at offset {error.start}. Re-encode the file as UTF-8 "
            "(for example with: iconv -f LATIN1 -t UTF-8 old > new)"
        ) from None
    return text.removeprefix("\ufeff")


def _select(
    examples: list[Example], *, limit: int | None, sample: int | None, seed: int
) -> tuple[Example, ...]:
    """Draw ``sample`` examples (kept in source order), then keep the first ``limit``."""
    if sample is not None and sample < len(examples):
        picked = sorted(random.Random(seed).sample(range(len(examples)), sample))
        examples = [examples[index] for index in picked]
    if limit is not None:
        examples = examples[:limit]
    return tuple(examples)


def _check_positive(flag: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise DataError(f"{flag} must be a whole number of at least 1, got {value!r}")


def _check_unique_columns(name: str, columns: Sequence[str]) -> None:
    """Tables may repeat a column name; a row keyed by name would keep only the last."""
    repeated = sorted({column for column in columns if columns.count(column) > 1})
    if repeated:
        raise DataError(
            f"{name}: the column(s) {', '.join(shown(c) for c in repeated)} appear more than once; "
            "column names must be unique"
        )


def _check_no_split(name: str, split: str | None) -> None:
    if split is not None:
        raise DataError(f"{name}: has no splits, so --split '{split}' does not apply")


def _check_no_mapping(name: str, split: str | None, *named: str | None) -> None:
    if split is not None or any(field is not None for field in named):
        raise DataError(
            f"{name}: is already a loaded Dataset; --split and the field options apply "
            "only when loading from a source"
        )


def _is_dataframe(source: object) -> TypeGuard[pandas.DataFrame]:
    """True for a pandas DataFrame, without importing pandas for those who never use it."""
    module = sys.modules.get("pandas")
    return module is not None and isinstance(source, module.DataFrame)


def _import_datasets() -> Any:
    try:
        import datasets
    except ImportError:
        raise DataError(
            "loading Hugging Face data sets needs the package 'datasets': pip install datasets"
        ) from None
    return datasets


_FILE_READERS: dict[str, Callable[[str, Path], list[RawRow]]] = {
    ".jsonl": _read_jsonl,
    ".ndjson": _read_jsonl,
    ".json": _read_json,
    ".csv": _read_csv,
    ".parquet": _read_parquet,
}

_SUPPORTED = (
    "assay reads .jsonl, .ndjson, .json, .csv and .parquet files, folders written by "
    "datasets' save_to_disk, and Hugging Face hub ids"
)

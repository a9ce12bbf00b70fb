"""Human labels on a run's examples: a verdict, error categories and a note per
reviewer, stored with the run; read back as records or a DataFrame, exported as
CSV or JSONL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import delete, insert, select

from assay.exceptions import AssayError, NotFoundError, OptionError
from assay.review import tables as rt
from assay.review.spreadsheet import safe_csv
from assay.store import tables as t

if TYPE_CHECKING:
    from assay.store import Store

VERDICTS = ("correct", "partly", "incorrect")
"""A reviewer's verdict on one example; keys 1/2/3 in the review app."""

DEFAULT_CATEGORIES = (
    "factual error",
    "incomplete",
    "hallucination",
    "format",
    "refusal",
    "off-topic",
)
"""Error categories offered to reviewers before a run has any of its own."""

LABEL_COLUMNS = ["run_id", "example_id", "reviewer", "verdict", "categories", "note", "created_at"]
TEXT_FORMATS = ("csv", "jsonl")
LABEL_FORMATS = tuple(f".{fmt}" for fmt in TEXT_FORMATS)
NAME_LENGTH = 128
"""Most characters of a reviewer's name or a category (the columns' width)."""


@dataclass
class Label:
    """One reviewer's judgement of one example of a run.

    Attributes:
        run_id / example_id: The example labelled.
        reviewer: Who labelled it.
        verdict: "correct", "partly" or "incorrect".
        categories: Error categories the reviewer picked (may be empty).
        note: Free text.
        created_at: When (UTC); set on saving when missing.
    """

    run_id: str
    example_id: str
    reviewer: str
    verdict: str
    categories: list[str] = field(default_factory=list)
    note: str = ""
    created_at: datetime | None = None


def save_label(store: Store, label: Label) -> Label:
    """Store a label, replacing the same reviewer's earlier label of that example.

    Raises:
        OptionError: The verdict is not one of VERDICTS; the reviewer is blank or longer
            than 128 characters; a category is longer than 128 characters; or a field
            holds a control character that it cannot (NUL anywhere).
        NotFoundError: The run (its full id) or the example does not exist: a label is
            never stored for nothing.
        AssayError: The example's generation failed: there is no answer to label.
    """
    categories = _check(label)
    saved = Label(
        run_id=label.run_id,
        example_id=label.example_id,
        reviewer=check_reviewer(label.reviewer),
        verdict=label.verdict,
        categories=categories,
        note=label.note,
        created_at=label.created_at or datetime.now(timezone.utc),
    )
    key = {"run_id": saved.run_id, "example_id": saved.example_id, "reviewer": saved.reviewer}
    with store.connection(write=True) as conn:
        _require_example(conn, saved.run_id, saved.example_id)
        for table in (rt.labels, rt.label_categories):
            conn.execute(delete(table).where(*(table.c[k] == v for k, v in key.items())))
        conn.execute(insert(rt.labels), [asdict(saved)])
        if categories:
            conn.execute(insert(rt.label_categories), [{**key, "category": c} for c in categories])
    return saved


def load_labels(store: Store, run_id: str, *, reviewer: str | None = None) -> list[Label]:
    """A run's labels (all reviewers, or one), ordered by example then reviewer."""
    c = rt.labels.c
    query = select(rt.labels).where(c.run_id == run_id)
    if reviewer is not None:
        query = query.where(c.reviewer == reviewer)
    with store.connection() as conn:
        rows = conn.execute(query.order_by(c.example_id, c.reviewer)).all()
    return [
        Label(
            run_id=r.run_id,
            example_id=r.example_id,
            reviewer=r.reviewer,
            verdict=r.verdict,
            categories=list(r.categories or []),
            note=r.note,
            created_at=r.created_at,
        )
        for r in rows
    ]


def labels_frame(labels: Sequence[Label]) -> pd.DataFrame:
    """One row per label; categories joined with "; "."""
    rows = [{**asdict(label), "categories": "; ".join(label.categories)} for label in labels]
    return pd.DataFrame(rows, columns=LABEL_COLUMNS)


def export_labels(store: Store, run_id: str, path: str | Path) -> Path:
    """Write a run's labels to a .csv or .jsonl file (the extension picks).

    Raises:
        AssayError: Unsupported extension, or the file cannot be written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in LABEL_FORMATS:
        raise AssayError(f"cannot export labels to {path}: use one of {', '.join(LABEL_FORMATS)}")
    text = labels_text(load_labels(store, run_id), suffix.lstrip("."))
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise AssayError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def labels_text(labels: Sequence[Label], fmt: str) -> str:
    """Labels as CSV or JSONL text (JSONL keeps categories as a list and the text as
    stored; CSV neutralises cells a spreadsheet would run as formulas, see spreadsheet.py)."""
    if fmt == "csv":
        return safe_csv(labels_frame(labels))
    frame = pd.DataFrame([asdict(label) for label in labels], columns=LABEL_COLUMNS)
    if frame.empty:
        return ""
    frame["created_at"] = frame["created_at"].map(lambda d: d.isoformat() if d else None)
    return str(frame.to_json(orient="records", lines=True, force_ascii=False))


def label_counts(store: Store, run_id: str) -> dict[str, int]:
    """Labels per verdict for a run (every reviewer counted)."""
    from sqlalchemy import func

    c = rt.labels.c
    query = select(c.verdict, func.count()).where(c.run_id == run_id).group_by(c.verdict)
    with store.connection() as conn:
        return {verdict: int(n) for verdict, n in conn.execute(query)}


def category_counts(store: Store, run_id: str) -> dict[str, int]:
    """Examples per error category (distinct examples, any reviewer), most frequent first."""
    from sqlalchemy import distinct, func

    c = rt.label_categories.c
    query = (
        select(c.category, func.count(distinct(c.example_id)))
        .where(c.run_id == run_id)
        .group_by(c.category)
    )
    with store.connection() as conn:
        counts = {category: int(n) for category, n in conn.execute(query)}
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def check_reviewer(name: str) -> str:
    """The reviewer's name, stripped.

    Raises:
        OptionError: Blank, longer than 128 characters, or with a control character.
    """
    name = name.strip()
    if not name:
        raise OptionError("reviewer", "needs a name: who is reviewing?")
    if len(name) > NAME_LENGTH:
        raise OptionError("reviewer", f"is at most {NAME_LENGTH} characters, got {len(name)}")
    if any(_control(c) for c in name):
        raise OptionError("reviewer", "cannot hold a control character (a tab, a line break, NUL)")
    return name


def _check(label: Label) -> list[str]:
    """The label's categories, stripped, unique and sorted, once every field is allowed."""
    if label.verdict not in VERDICTS:
        raise OptionError(
            "verdict", f"must be one of: {', '.join(VERDICTS)}; got {label.verdict!r}"
        )
    categories = sorted({c.strip() for c in label.categories if c.strip()})
    for category in categories:
        if len(category) > NAME_LENGTH:
            raise OptionError(
                "categories",
                f"are at most {NAME_LENGTH} characters each; got one of {len(category)}",
            )
        if any(_control(c) for c in category):
            raise OptionError("categories", "cannot hold a control character")
    for name, value in (
        ("run_id", label.run_id),
        ("example_id", label.example_id),
        ("note", label.note),
    ):
        if "\x00" in value:
            raise OptionError(name, "holds a NUL character, which no field may contain")
    return categories


def _control(char: str) -> bool:
    return ord(char) < 32 or 127 <= ord(char) < 160


def _require_example(conn: Any, run_id: str, example_id: str) -> None:
    """Raises NotFoundError unless the run has the example, AssayError if it failed."""
    if conn.scalar(select(t.runs.c.id).where(t.runs.c.id == run_id)) is None:
        raise NotFoundError(f"no run '{run_id}' to label (give the run's full id)")
    r = t.results.c
    query = select(r.finish_reason).where(r.run_id == run_id, r.example_id == example_id)
    finish = conn.scalar(query)
    if finish is None:
        raise NotFoundError(f"run {run_id} has no example '{example_id}' to label")
    if finish == "error":
        raise AssayError(
            f"example '{example_id}' of run {run_id} has no answer to label: its generation "
            f"failed (assay eval --retry-errors {run_id} asks again)"
        )

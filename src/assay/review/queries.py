"""Fast, filtered reads of one run's examples for the review app and the report:
a page at a time in SQL (LIMIT/OFFSET over indexed filters), never the whole run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select

from assay.error_analysis.tables import example_errors
from assay.metrics.base import Score
from assay.review import tables as rt
from assay.review.labels import Label
from assay.store import tables as t

if TYPE_CHECKING:
    from assay.store import Store

PAGE_SIZE = 50
UNLABELLED = "unlabelled"
ERRORED = "(error)"
"""Pseudo-metric for the failed filter: examples whose generation failed."""


@dataclass(frozen=True)
class ExampleFilter:
    """Which examples of a run to show.

    Attributes:
        failed: A metric name: examples wrong on it (below ``threshold``, or above it
            for a lower-is-better metric, see runs/verdicts.py); or ERRORED for failed
            generations.
        verdict: Examples some reviewer gave this verdict, or UNLABELLED.
        category: Examples tagged with this error category, by a reviewer or by `assay errors`.
        search: Text that the input, reference or prediction contains.
    """

    failed: str | None = None
    verdict: str | None = None
    category: str | None = None
    search: str | None = None
    threshold: float = 1.0
    higher_is_better: bool = True


@dataclass
class ExampleRow:
    """One example as listed or shown: its result, scores and labels."""

    example_id: str
    position: int
    input: str
    reference: str | None
    prediction: str
    finish_reason: str
    error: str | None
    scores: dict[str, Score] = field(default_factory=dict)
    labels: list[Label] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExamplePage:
    rows: list[ExampleRow]
    total: int
    offset: int
    limit: int


def page_examples(
    store: Store, run_id: str, where: ExampleFilter, *, offset: int = 0, limit: int = PAGE_SIZE
) -> ExamplePage:
    """One page of a run's examples that pass the filter, in data set order, and the
    number of matching examples."""
    r = t.results.c
    conditions = _conditions(run_id, where)
    with store.connection() as conn:
        total = int(
            conn.scalar(select(func.count()).select_from(t.results).where(*conditions)) or 0
        )
        query = _columns().where(*conditions).order_by(r.position, r.example_id)
        rows = conn.execute(query.offset(max(offset, 0)).limit(limit)).all()
        page = [_row(row) for row in rows]
        _attach(conn, run_id, page)
    return ExamplePage(page, total, offset, limit)


def count_examples(store: Store, run_id: str, where: ExampleFilter) -> int:
    """How many of the run's examples pass the filter."""
    query = select(func.count()).select_from(t.results).where(*_conditions(run_id, where))
    with store.connection() as conn:
        return int(conn.scalar(query) or 0)


def get_example(store: Store, run_id: str, example_id: str) -> ExampleRow | None:
    """One example with its scores and labels, or None."""
    r = t.results.c
    with store.connection() as conn:
        row = conn.execute(_columns().where(r.run_id == run_id, r.example_id == example_id)).first()
        if row is None:
            return None
        found = [_row(row)]
        _attach(conn, run_id, found)
    return found[0]


def neighbour(
    store: Store, run_id: str, example: ExampleRow, where: ExampleFilter, *, forward: bool
) -> str | None:
    """The id of the next (or previous) example passing the filter, or None."""
    r = t.results.c
    key = (example.position, example.example_id)
    if forward:
        after = or_(r.position > key[0], and_(r.position == key[0], r.example_id > key[1]))
        order: tuple[Any, Any] = (r.position, r.example_id)
    else:
        after = or_(r.position < key[0], and_(r.position == key[0], r.example_id < key[1]))
        order = (r.position.desc(), r.example_id.desc())
    query = select(r.example_id).where(*_conditions(run_id, where), after).order_by(*order).limit(1)
    with store.connection() as conn:
        found = conn.scalar(query)
    return None if found is None else str(found)


def common_example_ids(store: Store, run_ids: Sequence[str]) -> list[str]:
    """Ids of the examples every one of the runs answered (a failed generation is no
    answer), in the first run's order."""
    r = t.results.c
    other = t.results.alias("other")
    query = select(r.example_id).where(r.run_id == run_ids[0], r.finish_reason != "error")
    for run in run_ids[1:]:
        query = query.where(
            exists().where(
                other.c.run_id == run,
                other.c.example_id == r.example_id,
                other.c.finish_reason != "error",
            )
        )
    with store.connection() as conn:
        return [str(x) for x in conn.scalars(query.order_by(r.position))]


def predictions(store: Store, run_id: str, example_ids: Sequence[str]) -> dict[str, ExampleRow]:
    """Results (without scores) of these examples of a run, by example id."""
    r = t.results.c
    found: dict[str, ExampleRow] = {}
    ids = list(dict.fromkeys(example_ids))
    with store.connection() as conn:
        for start in range(0, len(ids), 500):
            query = _columns().where(r.run_id == run_id, r.example_id.in_(ids[start : start + 500]))
            for row in conn.execute(query):
                found[row.example_id] = _row(row)
    return found


def binary_scores(store: Store, run_id: str, metric: str) -> bool:
    """Whether every score of the metric in the run is 0 or 1 (then it is pass/fail)."""
    s = t.scores.c
    query = select(func.count()).where(
        s.run_id == run_id, s.metric == metric, s.value.is_not(None), s.value.not_in([0.0, 1.0])
    )
    with store.connection() as conn:
        return int(conn.scalar(query) or 0) == 0


def _columns() -> Select[Any]:
    r = t.results.c
    return select(
        r.example_id,
        r.position,
        r.input,
        r.reference,
        r.prediction,
        r.finish_reason,
        r.error,
        r.metadata,
    )


def _conditions(run_id: str, where: ExampleFilter) -> list[ColumnElement[bool]]:
    r = t.results.c
    conditions: list[ColumnElement[bool]] = [r.run_id == run_id]
    if where.failed == ERRORED:
        conditions.append(r.finish_reason == "error")
    elif where.failed:
        s = t.scores.c
        beyond = s.value < where.threshold if where.higher_is_better else s.value > where.threshold
        conditions.append(
            exists().where(
                s.run_id == run_id, s.example_id == r.example_id, s.metric == where.failed, beyond
            )
        )
    if where.verdict == UNLABELLED:
        lc = rt.labels.c
        conditions.append(~exists().where(lc.run_id == run_id, lc.example_id == r.example_id))
    elif where.verdict:
        lc = rt.labels.c
        conditions.append(
            exists().where(
                lc.run_id == run_id, lc.example_id == r.example_id, lc.verdict == where.verdict
            )
        )
    if where.category:  # a reviewer's label or the error analysis (`assay errors`)
        cc, ec = rt.label_categories.c, example_errors.c
        conditions.append(
            or_(
                exists().where(
                    cc.run_id == run_id,
                    cc.example_id == r.example_id,
                    cc.category == where.category,
                ),
                exists().where(
                    ec.run_id == run_id,
                    ec.example_id == r.example_id,
                    ec.category == where.category,
                ),
            )
        )
    if where.search:
        text = where.search
        conditions.append(
            or_(
                r.input.icontains(text, autoescape=True),
                r.prediction.icontains(text, autoescape=True),
                r.reference.icontains(text, autoescape=True),
                r.example_id == text,
            )
        )
    return conditions


def _row(row: Any) -> ExampleRow:
    return ExampleRow(
        example_id=row.example_id,
        position=row.position,
        input=row.input,
        reference=row.reference,
        prediction=row.prediction,
        finish_reason=row.finish_reason,
        error=row.error,
        metadata=dict(row.metadata or {}),
    )


def _attach(conn: Any, run_id: str, rows: list[ExampleRow]) -> None:
    """Fill in the scores and labels of a page of examples, one query each."""
    if not rows:
        return
    by_id = {row.example_id: row for row in rows}
    ids = list(by_id)
    s = t.scores.c
    for score in conn.execute(select(t.scores).where(s.run_id == run_id, s.example_id.in_(ids))):
        value = math.nan if score.value is None else float(score.value)
        by_id[score.example_id].scores[score.metric] = Score(value, score.detail)
    lc = rt.labels.c
    query = select(rt.labels).where(lc.run_id == run_id, lc.example_id.in_(ids))
    for label in conn.execute(query.order_by(lc.reviewer)):
        by_id[label.example_id].labels.append(
            Label(
                run_id=label.run_id,
                example_id=label.example_id,
                reviewer=label.reviewer,
                verdict=label.verdict,
                categories=list(label.categories or []),
                note=label.note,
                created_at=label.created_at,
            )
        )


def category_counts(store: Store, run_id: str) -> dict[str, int]:
    """Examples per error category, from reviewers' labels and from `assay errors` together."""
    from sqlalchemy import distinct, union

    cc, ec = rt.label_categories.c, example_errors.c
    tagged = union(
        select(cc.category, cc.example_id).where(cc.run_id == run_id),
        select(ec.category, ec.example_id).where(ec.run_id == run_id),
    ).subquery()
    query = select(tagged.c.category, func.count(distinct(tagged.c.example_id))).group_by(
        tagged.c.category
    )
    with store.connection() as conn:
        counts = {category: int(n) for category, n in conn.execute(query)}
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

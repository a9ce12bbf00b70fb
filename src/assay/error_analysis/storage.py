"""Error categories kept with their run: written by `assay errors`, read back by anyone."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, insert, select

from assay.error_analysis.records import ExampleError
from assay.error_analysis.tables import example_errors
from assay.store import Store


def save_errors(store: Store, run_id: str, errors: Sequence[ExampleError]) -> None:
    """Replace the stored error categories of a run with these, in one transaction.

    Raises:
        StoreError: The store cannot be written.
    """
    rows = [
        {
            "run_id": run_id,
            "example_id": e.example_id,
            "category": e.category,
            "severity": e.severity,
            "detail": e.detail,
            "source": e.source,
        }
        for e in errors
    ]
    with store.connection(write=True) as conn:
        conn.execute(delete(example_errors).where(example_errors.c.run_id == run_id))
        if rows:
            conn.execute(insert(example_errors), rows)


def load_errors(store: Store, run_id: str) -> list[ExampleError]:
    """The stored error categories of a run (none if `assay errors` never ran on it)."""
    c = example_errors.c
    query = select(example_errors).where(c.run_id == run_id).order_by(c.example_id, c.category)
    with store.connection() as conn:
        return [
            ExampleError(r.example_id, r.category, r.severity, r.detail or "", r.source)
            for r in conn.execute(query)
        ]

"""Bringing a store up to date: tables created, and what later versions added to an
older store (nullable columns, indexes) added in place; nothing is ever dropped.

Runs inside one write transaction of the Store that opens the database, so two
processes opening the same old store at once change it once.
"""

from __future__ import annotations

from sqlalchemy import Column, Connection, inspect, select, text, update

from assay.store import tables as t


def schema_is_current(conn: Connection) -> bool:
    """Whether every table, added column and index is there already (a read, no lock)."""
    inspector = inspect(conn)
    existing = set(inspector.get_table_names())
    if not set(t.metadata.tables) <= existing:
        return False
    for table, names in t.ADDED_COLUMNS.items():
        have = {column["name"] for column in inspector.get_columns(table)}
        if not set(names) <= have:
            return False
    indexes = {index["name"] for index in inspector.get_indexes("runs")}
    return t.one_running_run_per_key.name in indexes


def bring_up_to_date(conn: Connection) -> None:
    """Create missing tables, add missing columns, and create the running-run index."""
    inspector = inspect(conn)
    t.metadata.create_all(conn)  # new tables only; existing ones are left as they are
    for table_name, names in t.ADDED_COLUMNS.items():
        have = {column["name"] for column in inspector.get_columns(table_name)}
        table = t.metadata.tables[table_name]
        for name in names:
            if name not in have:
                _add_column(conn, table_name, table.c[name])
    indexes = {index["name"] for index in inspect(conn).get_indexes("runs")}
    if t.one_running_run_per_key.name not in indexes:
        _one_running_run_per_key(conn)
        t.one_running_run_per_key.create(conn)


def _one_running_run_per_key(conn: Connection) -> None:
    """Before the unique index: older stores may hold several "running" runs of one key
    (processes that died); all but the newest become "interrupted"."""
    c = t.runs.c
    rows = conn.execute(
        select(c.id, c.run_key).where(c.status == "running").order_by(c.created_at.desc())
    )
    seen: set[str] = set()
    stale = []
    for row in rows:
        if row.run_key in seen:
            stale.append(row.id)
        seen.add(row.run_key)
    if stale:
        conn.execute(update(t.runs).where(c.id.in_(stale)).values(status="interrupted"))


def _add_column(conn: Connection, table: str, column: Column[object]) -> None:
    """ALTER TABLE ... ADD COLUMN for a nullable column (SQLite and PostgreSQL alike)."""
    quote = conn.dialect.identifier_preparer.quote
    kind = column.type.compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column.name)} {kind}"))

"""A fresh PostgreSQL database per test, on the server scripts/start-postgres.sh starts.

The server is named by $ASSAY_TEST_POSTGRES_URL (default below). When it cannot be
reached the test fails, never skips: CI always starts the server, so a skip would hide
a broken PostgreSQL path.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql://assay:assay@127.0.0.1:5432/assay_test"
ENV_VAR = "ASSAY_TEST_POSTGRES_URL"


def admin_url() -> str:
    """The server's URL for psycopg (no "+psycopg" driver suffix)."""
    url = make_url(os.environ.get(ENV_VAR) or DEFAULT_URL).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@contextmanager
def fresh_database() -> Iterator[str]:
    """A uniquely named, empty database (its postgresql:// URL), dropped afterwards."""
    admin = admin_url()
    try:
        conn = psycopg.connect(admin, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        problem = str(exc).strip()
    else:
        problem = ""
    if problem:
        shown = make_url(admin).render_as_string(hide_password=True)
        pytest.fail(
            f"PostgreSQL is not reachable at {shown} ({problem}); "
            f"start it with `bash scripts/start-postgres.sh` (or set ${ENV_VAR})",
            pytrace=False,
        )
    name = f"assay_t_{uuid.uuid4().hex[:12]}"
    with conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield make_url(admin).set(database=name).render_as_string(hide_password=False)
        finally:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

"""Hostile requests (files/hostile_requests.json) against a real `assay review` server on
loopback, on SQLite and on PostgreSQL: each is answered with its 4xx status and an HTML
message that says what is wrong, never a 500; every response carries the security
headers; a refused request writes nothing.

A case: ``method``, ``path``; optional ``headers`` (pairs; a value is sent as UTF-8, or
{"latin1": ...} as raw latin-1 bytes), ``form`` (fields; ``files`` names fields sent as
file uploads), ``body`` (a raw urlencoded body); ``token`` (the server requires the
token); ``as`` ("session": a browser with a session, "reviewer": signed in too). It
expects ``status`` and either ``expect`` (a fragment of the body) or ``location``.
Placeholders: {RUN_A}, {RUN_FAILED}, {TOKEN}, {CSRF}, {DIGITS} (5000 digits), {WIDE}
(200 characters), {HUGE} (a body over 1 MiB).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select
from tests.postgres import fresh_database
from tests.web.conftest import write_all
from tests.web.review_data import RUN_A, RUN_FAILED, TOKEN

from assay.arena.tables import battles
from assay.review import tables as rt
from assay.store import open_store
from assay.web import create_app
from assay.web.security import SECURITY_HEADERS

pytestmark = pytest.mark.slow

CASES = json.loads((Path(__file__).parent / "files" / "hostile_requests.json").read_text())
PLACES = {
    "{RUN_A}": RUN_A,
    "{RUN_FAILED}": RUN_FAILED,
    "{TOKEN}": TOKEN,
    "{DIGITS}": "9" * 5000,
    "{WIDE}": "w" * 200,
}
WRITTEN = (rt.labels, rt.label_categories, rt.pair_tickets, battles)


def _fill(text: str, csrf: str) -> str:
    for key, value in {**PLACES, "{CSRF}": csrf}.items():
        text = text.replace(key, value)
    return text


def _start(url: str, token: str | None) -> tuple[uvicorn.Server, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    config = uvicorn.Config(
        create_app(url, token=token), host="127.0.0.1", port=port, log_level="critical"
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the review server did not start"
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """One store with the test runs; a server over it without a token and one with."""
    if request.param == "sqlite":
        url = str(tmp_path_factory.mktemp("hostile") / "assay.db")
        context: Any = None
    else:
        context = fresh_database()
        url = context.__enter__()
    with open_store(url) as store:
        write_all(store)
    started = {name: _start(url, token) for name, token in (("open", None), ("token", TOKEN))}
    yield {"url": url, **{name: base for name, (_, base) in started.items()}}
    for server, _ in started.values():
        server.should_exit = True
    if context is not None:
        context.__exit__(None, None, None)


def _counts(url: str) -> dict[str, int]:
    with open_store(url) as store, store.connection() as conn:
        return {
            table.name: int(conn.scalar(select(func.count()).select_from(table)) or 0)
            for table in WRITTEN
        }


def _browser(base: str, case: dict[str, Any]) -> tuple[httpx.Client, str]:
    """A client (signed in when the case asks) and its CSRF token."""
    client = httpx.Client(base_url=base, timeout=30, headers={"Connection": "close"})
    if "as" not in case:
        return client, ""
    found = re.search(r'csrf-token" content="([^"]+)"', client.get("/login").text)
    assert found
    csrf = found.group(1)
    if case["as"] == "reviewer":
        signed = client.post("/login", data={"csrf": csrf, "reviewer": "ann", "next": "/"})
        assert signed.status_code == 303
    return client, csrf


def _headers(case: dict[str, Any], csrf: str) -> list[tuple[bytes, bytes]]:
    pairs = []
    for name, value in case.get("headers", []):
        raw = (
            value["latin1"].encode("latin-1")
            if isinstance(value, dict)
            else _fill(value, csrf).encode()
        )
        pairs.append((name.encode(), raw))
    return pairs


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_hostile_request(servers: dict[str, Any], case: dict[str, Any]) -> None:
    client, csrf = _browser(servers["token" if case.get("token") else "open"], case)
    before = _counts(servers["url"])
    path = _fill(case["path"], csrf)
    headers = _headers(case, csrf)
    try:
        if "body" in case:
            body = "x=" + "y" * (1024 * 1024 + 1) if case["body"] == "{HUGE}" else case["body"]
            headers.append((b"Content-Type", b"application/x-www-form-urlencoded"))
            response = client.request(
                case["method"], path, content=_fill(body, csrf), headers=headers
            )
        elif "form" in case:
            form = {k: _fill(v, csrf) for k, v in case["form"].items()}
            files = {k: (v, b"a note", "text/plain") for k, v in case.get("files", {}).items()}
            response = client.request(
                case["method"], path, data=form, files=files or None, headers=headers
            )
        else:
            response = client.request(case["method"], path, headers=headers)
    finally:
        client.close()
    said = f"{response.status_code}: {response.text[:600]}"
    assert response.status_code == case["status"], said
    assert "Traceback" not in response.text and "Internal Server Error" not in response.text
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    if "location" in case:
        assert response.headers["location"] == case["location"]
    else:
        assert case["expect"] in response.text, said
    if response.status_code >= 400:
        assert _counts(servers["url"]) == before, "a refused request wrote to the store"

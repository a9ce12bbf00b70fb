"""Random requests against the app in-process: whatever the path, query, form and
headers hold, the answer is never a 500 (hypothesis; SQLite)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.web.review_data import RUN_A, TOKEN

from assay.web import create_app

ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)  # lone surrogates too
HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=40)
RUN = st.sampled_from([RUN_A, RUN_A[:6], "zzzz"]) | ANY_TEXT
PARAMS = st.dictionaries(
    st.sampled_from(["page", "failed", "verdict", "category", "q", "token", "run", "next"]),
    ANY_TEXT | st.integers(-(2**80), 2**80).map(str),
    max_size=4,
)
FORM = st.dictionaries(
    st.sampled_from(["csrf", "example_id", "verdict", "category", "note", "ticket", "choice"]),
    ANY_TEXT,
    max_size=5,
)
HEADERS = st.dictionaries(
    st.sampled_from(["authorization", "x-csrf-token", "cookie"]),
    HEADER_TEXT.map(lambda v: v.strip()),
    max_size=2,
)


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TestClient]:
    from tests.web.conftest import write_all

    from assay.store import open_store

    db = tmp_path_factory.mktemp("fuzz") / "assay.db"
    with open_store(str(db)) as store:
        write_all(store)
    clients = {
        name: TestClient(create_app(str(db), token=token), raise_server_exceptions=False)
        for name, token in (("open", None), ("token", TOKEN))
    }
    return clients


def _sign_in(client: TestClient) -> str:
    """A fresh signed-in session (a fuzzed cookie may have replaced the last); its CSRF."""
    client.cookies.clear()
    found = re.search(r'csrf-token" content="([^"]+)"', client.get("/login").text)
    assert found
    client.post("/login", data={"csrf": found.group(1), "reviewer": "fuzz"})
    return found.group(1)


def _url(path: str, params: dict[str, str]) -> str:
    query = urlencode(params, encoding="utf-8", errors="surrogatepass")
    return f"{path}?{query}" if query else path


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    run=RUN,
    example=ANY_TEXT,
    params=PARAMS,
    headers=HEADERS,
    which=st.sampled_from(["run", "example", "labels", "pairwise", "reveal", "login", "root"]),
    guarded=st.booleans(),
)
def test_no_get_is_a_500(
    clients: dict[str, TestClient],
    run: str,
    example: str,
    params: dict[str, str],
    headers: dict[str, str],
    which: str,
    guarded: bool,
) -> None:
    r, e = (
        quote(run.encode("utf-8", "surrogatepass"), safe=""),
        quote(example.encode("utf-8", "surrogatepass"), safe=""),
    )
    path = {
        "run": f"/runs/{r}",
        "example": f"/runs/{r}/examples/{e}",
        "labels": f"/runs/{r}/labels.csv",
        "pairwise": "/pairwise",
        "reveal": f"/pairwise/reveal/{e}",
        "login": "/login",
        "root": "/",
    }[which]
    client = clients["token" if guarded else "open"]
    raw = [(k.encode(), v.encode("latin-1")) for k, v in headers.items()]
    response = client.get(_url(path, params), headers=raw)
    assert response.status_code < 500, (path, params, headers, response.text[:300])


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    run=RUN,
    example=st.sampled_from(["ex0", "ex1", "ex5"]) | ANY_TEXT,
    form=FORM,
    headers=HEADERS,
    which=st.sampled_from(["label", "vote", "login"]),
    with_csrf=st.booleans(),
)
def test_no_post_is_a_500(
    clients: dict[str, TestClient],
    run: str,
    example: str,
    form: dict[str, str],
    headers: dict[str, str],
    which: str,
    with_csrf: bool,
) -> None:
    """Posts from a signed-in browser, with its CSRF token or not."""
    r = quote(run.encode("utf-8", "surrogatepass"), safe="")
    path = {"label": f"/runs/{r}/label", "vote": "/pairwise/vote", "login": "/login"}[which]
    client = clients["open"]
    form = {"example_id": example, **form}
    csrf = _sign_in(client)
    if with_csrf:
        form["csrf"] = csrf
        headers.pop("x-csrf-token", None)
        headers.pop("cookie", None)
    body = urlencode(form, encoding="utf-8", errors="surrogatepass")
    raw = [(k.encode(), v.encode("latin-1")) for k, v in headers.items()]
    raw.append((b"content-type", b"application/x-www-form-urlencoded"))
    response = client.post(path, content=body, headers=raw)
    assert response.status_code < 500, (path, form, headers, response.text[:300])


def test_the_fuzz_reaches_the_routes(clients: dict[str, TestClient], tmp_path: Path) -> None:
    """The fuzzed routes answer a well-formed request normally (the fuzz is not all 404s)."""
    assert clients["open"].get(f"/runs/{RUN_A}").status_code == 200
    assert clients["open"].get(f"/runs/{RUN_A}/labels.csv").status_code == 200

"""A real uvicorn server on loopback: the token rule, and 20 reviewers voting at once."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from tests.web.conftest import Server
from tests.web.review_data import RUN_A, RUN_B, TOKEN

from assay.arena import load_battles
from assay.store import open_store

pytestmark = pytest.mark.slow

REVIEWERS = 20


def test_token_refuses_every_request_without_it(serve: Callable[..., Server]) -> None:
    server = serve(token=TOKEN)
    for path in ("/", f"/runs/{RUN_A}", "/leaderboard", "/static/app.js", "/preferences.jsonl"):
        assert httpx.get(server.url + path).status_code == 401, path
    assert httpx.post(server.url + "/pairwise/vote", data={"choice": "a"}).status_code == 401
    assert httpx.get(server.url + "/", headers={"Authorization": "Bearer nope"}).status_code == 401
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(server.url + "/", headers=bearer).status_code == 200
    with httpx.Client(base_url=server.url, follow_redirects=True) as browser:
        assert browser.get(f"/?token={TOKEN}").status_code == 200
        assert browser.get(f"/runs/{RUN_A}").status_code == 200  # the cookie carries it now


def _voter(url: str, name: str, start: threading.Barrier) -> str:
    with httpx.Client(base_url=url, timeout=60) as client:
        csrf = re.search(r'csrf-token" content="([^"]+)"', client.get("/login").text)
        assert csrf
        client.post("/login", data={"csrf": csrf.group(1), "reviewer": name, "next": "/"})
        html = client.get(f"/pairwise?run={RUN_A}&run={RUN_B}").text
        ticket = re.search(r'name="ticket" value="([0-9a-f]+)"', html)
        assert ticket
        form = {"csrf": csrf.group(1), "ticket": ticket.group(1), "choice": "a"}
        start.wait()
        # Each reviewer's vote arrives twice (a double click): it must count once.
        for _ in range(2):
            response = client.post("/pairwise/vote", data=form)
            assert response.status_code == 303, response.text
        return ticket.group(1)


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_concurrent_votes_are_all_recorded_once(
    serve: Callable[..., Server], store_url: str
) -> None:
    server = serve()
    start = threading.Barrier(REVIEWERS)
    with ThreadPoolExecutor(REVIEWERS) as pool:
        tickets = list(
            pool.map(lambda i: _voter(server.url, f"reviewer{i}", start), range(REVIEWERS))
        )
    with open_store(store_url) as store:
        battles = load_battles(store, "human")
    assert len(battles) == REVIEWERS
    assert sorted(b.detail["ticket"] for b in battles) == sorted(tickets)
    assert {b.decided_by for b in battles} == {f"reviewer{i}" for i in range(REVIEWERS)}

"""The app in-process: escaping, CSRF, the token rule, filters, labelling, exports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.web.review_data import RUN_A, RUN_B, XSS

from assay.exceptions import AssayError
from assay.review import load_labels
from assay.store import Store
from assay.web import check_bind, create_app


@pytest.fixture
def client(db: Path) -> TestClient:
    return TestClient(create_app(str(db)))


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match
    return match.group(1)


def _login(client: TestClient, name: str = "ann") -> str:
    token = _csrf(client.get("/login").text)
    response = client.post("/login", data={"csrf": token, "reviewer": name, "next": "/"})
    assert response.status_code == 200
    return token


def test_model_text_is_escaped_everywhere(client: TestClient) -> None:
    _login(client)
    pages = [
        client.get(f"/runs/{RUN_A}").text,
        client.get(f"/runs/{RUN_A}/examples/ex1").text,
    ]
    for html in pages:
        assert "<script>window.pwned" not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in html
    assert "judge says &lt;b&gt;ok&lt;/b&gt;" in pages[1]


def test_posts_without_the_csrf_token_are_refused(client: TestClient, store: Store) -> None:
    _login(client)
    form = {"example_id": "ex1", "verdict": "correct"}
    assert client.post(f"/runs/{RUN_A}/label", data=form).status_code == 403
    assert client.post(f"/runs/{RUN_A}/label", data={**form, "csrf": "forged"}).status_code == 403
    other = TestClient(client.app)  # another browser's token is no good either
    assert (
        other.post(
            f"/runs/{RUN_A}/label", data={**form, "csrf": _csrf(client.get("/").text)}
        ).status_code
        == 403
    )
    assert load_labels(store, RUN_A) == []


def test_label_form_saves_and_moves_to_the_next_example(client: TestClient, store: Store) -> None:
    token = _login(client, "ann")
    response = client.post(
        f"/runs/{RUN_A}/label",
        data={
            "csrf": token,
            "example_id": "ex1",
            "verdict": "incorrect",
            "category": ["format"],
            "other_categories": "unsafe, ",
            "note": "x",
            "next_id": "ex3",
            "query": "failed=exact_match",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/runs/{RUN_A}/examples/ex3?failed=exact_match"
    (label,) = load_labels(store, RUN_A)
    assert (label.reviewer, label.verdict, label.categories, label.note) == (
        "ann",
        "incorrect",
        ["format", "unsafe"],
        "x",
    )
    page = client.get(f"/runs/{RUN_A}?category=unsafe").text
    assert "1 matching" in page
    assert client.get(f"/runs/{RUN_A}/labels.csv").text.startswith("run_id,example_id,reviewer")


def test_pages_and_filters(client: TestClient) -> None:
    page = client.get(f"/runs/{RUN_A}?failed=exact_match").text
    assert "3 matching" in page and "ex5" in page and "ex2<" not in page
    assert "6 matching" in client.get(f"/runs/{RUN_A[:6]}").text
    assert client.get("/runs/zzzzzz").status_code == 404


def test_blind_pair_hides_names_until_voted(client: TestClient) -> None:
    token = _login(client)
    html = client.get(f"/pairwise?run={RUN_A}&run={RUN_B}").text
    assert "base" not in html.split("<main>")[1] and "tuned" not in html.split("<main>")[1]
    ticket = re.search(r'name="ticket" value="([0-9a-f]+)"', html)
    assert ticket
    reveal = client.post(
        "/pairwise/vote", data={"csrf": token, "ticket": ticket.group(1), "choice": "a"}
    )
    assert 'id="name-a"' in reveal.text and "tuned" in reveal.text and "base" in reveal.text
    board = client.get("/leaderboard").text
    assert "(1 battles)" in board and "tuned" in board


def test_token_is_required_on_every_request(db: Path) -> None:
    client = TestClient(create_app(str(db), token="s3cret"))
    assert client.get("/").status_code == 401
    assert client.get("/static/app.css").status_code == 401
    assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/?token=s3cret").status_code == 200  # sets the cookie, then redirects
    assert client.get(f"/runs/{RUN_A}").status_code == 200


def test_binding_beyond_loopback_needs_a_token() -> None:
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    check_bind("0.0.0.0", "t")
    with pytest.raises(AssayError, match="--token"):
        check_bind("0.0.0.0", None)
    assert XSS  # the payload used above

"""The app in-process: escaping, CSRF, the token rule, filters, labelling, exports."""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.web.review_data import (
    FAILED_ERROR,
    FAILED_MESSAGE,
    RUN_A,
    RUN_B,
    RUN_BENCH,
    RUN_FAILED,
    TOKEN,
    XSS,
)

from assay.exceptions import AssayError, OptionError
from assay.review import load_labels
from assay.store import Store
from assay.web import check_bind, check_port, create_app
from assay.web.security import SECURITY_HEADERS


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
    assert client.get(f"/runs/{RUN_A}/labels.csv").text.startswith('"run_id","example_id"')


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
    client = TestClient(create_app(str(db), token=TOKEN))
    assert client.get("/").status_code == 401
    assert client.get("/static/app.css").status_code == 401
    assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get(f"/?token={TOKEN}").status_code == 200  # sets the cookie, then redirects
    assert client.get(f"/runs/{RUN_A}").status_code == 200


def test_binding_beyond_loopback_needs_a_token() -> None:
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    check_bind("0.0.0.0", "t")
    with pytest.raises(AssayError, match="token"):
        check_bind("0.0.0.0", None)
    assert XSS  # the payload used above


def _text(html: str) -> str:
    """The page's visible text, squeezed."""
    body = html.split("<main>", 1)[1]
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_runs_show_their_status_and_why_they_are_not_complete(client: TestClient) -> None:
    text = _text(client.get("/").text)
    assert f"flaky endpoint eval incomplete {FAILED_MESSAGE}" in text
    assert "smollm2 bench bench complete" in text
    page = _text(client.get(f"/runs/{RUN_FAILED}").text)
    assert f"incomplete {FAILED_MESSAGE}" in page
    assert "exact_match 0.500 [0.150, 0.850] n=4" in page
    assert "judge 7.000 [7.000, 7.000] n=3, 1 unscored" in page


def test_failed_examples_show_as_failed_never_as_wrong(client: TestClient) -> None:
    page = client.get(f"/runs/{RUN_FAILED}").text
    rows = re.findall(r"<tr( class=\"failed\")?>\s*<td>(\d)</td>(.*?)</tr>", page, flags=re.S)
    failed = {position for cls, position, _ in rows if cls}
    assert failed == {"1", "4"}
    for cls, _, cells in rows:
        shown = _text("<main>" + cells)
        if cls:
            assert f"failed {FAILED_ERROR} – –" in shown and "0.000" not in shown
    assert "2 matching" in client.get(f"/runs/{RUN_FAILED}?failed=(error)").text
    wrong = client.get(f"/runs/{RUN_FAILED}?failed=exact_match").text
    assert "2 matching" in wrong and "ex1" not in wrong and "ex4" not in wrong
    _login(client)
    example = client.get(f"/runs/{RUN_FAILED}/examples/ex1").text
    assert f"generation failed {FAILED_ERROR}" in _text(example)
    assert "<del>" not in example and 'id="label-form"' not in example
    assert f"assay eval --retry-errors {RUN_FAILED}" in _text(example)


def test_a_bench_run_shows_per_question_scores_on_one_scale(client: TestClient) -> None:
    page = client.get(f"/runs/{RUN_BENCH}").text
    text = _text(page)
    for line in (
        "arc_challenge/acc 0.500 [0.150, 0.850] n=4",
        "arc_challenge/acc_norm 0.500 [0.150, 0.850] n=4",
        "truthfulqa_mc2/mc2 0.500 [0.375, 0.625] n=2",
    ):
        assert line in text
    assert "Jupiter Mars 0.000 1.000" in text and "no no 0.625" in text
    assert "wrong" not in text.lower()
    assert "2 matching" in client.get(f"/runs/{RUN_BENCH}?failed=acc").text


def test_every_response_carries_the_security_headers(client: TestClient, db: Path) -> None:
    responses = [
        client.get("/"),
        client.get(f"/runs/{RUN_A}"),
        client.get("/static/app.js"),
        client.get("/runs/zzzzzz"),
        TestClient(create_app(str(db), token=TOKEN)).get("/"),  # a 401 too
    ]
    for response in responses:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (response.url, name)
    policy = SECURITY_HEADERS["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    for page in ("/", f"/runs/{RUN_A}", f"/runs/{RUN_A}/examples/ex1", "/leaderboard", "/login"):
        html = client.get(page).text
        assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/app.js">']
        assert " style=" not in html and "<style" not in html  # no inline style either
        assert not re.search(r"<[^>]+\son\w+=", html)  # no inline event handler


@pytest.mark.parametrize(
    ("token", "fragment"),
    [
        ("", "blank"),
        ("                    ", "blank"),
        ("short", "has 5 characters; it needs 16 or more"),
        ("fifteen-chars-x", "has 15 characters"),
        (" padded-token-0123456789 ", "whitespace"),
        ("token-with-a-tab\t0123", "control character"),
        ("euro-€-token-0123456789", "outside ASCII"),
    ],
)
def test_a_weak_token_is_refused_with_how_to_make_one(db: Path, token: str, fragment: str) -> None:
    with pytest.raises(OptionError, match=re.escape(fragment)) as raised:
        create_app(str(db), token=token)
    assert raised.value.option == "token" and "secrets.token_urlsafe" in str(raised.value)


def test_ports_outside_1_to_65535_are_refused() -> None:
    check_port(1)
    check_port(65535)
    for port in (0, -1, 65536, 99999, 2**70):
        with pytest.raises(OptionError, match="must be from 1 to 65535"):
            check_port(port)

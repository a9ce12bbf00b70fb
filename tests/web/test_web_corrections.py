"""The review app's reference corrections: one reviewer flags a reference and proposes a
correction on the example's page, another accepts or rejects it on the corrections page."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from tests.web.review_data import RUN_A, XSS

from assay.review.corrections import list_flags
from assay.store import Store
from assay.web import create_app


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match
    return match.group(1)


def _login(client: TestClient, name: str) -> str:
    token = _csrf(client.get("/login").text)
    assert (
        client.post("/login", data={"csrf": token, "reviewer": name, "next": "/"}).status_code
        == 200
    )
    return token


def test_flag_then_a_second_reviewer_accepts(db: Path, store: Store) -> None:
    app = create_app(str(db))
    ann, bob = TestClient(app), TestClient(app)
    token = _login(ann, "ann")
    page = ann.get(f"/runs/{RUN_A}/examples/ex1").text
    assert 'id="flag-form"' in page
    flagged = ann.post(
        f"/runs/{RUN_A}/flag",
        data={
            "csrf": token,
            "example_id": "ex1",
            "reason": "wrong",
            "proposed": "Paris is the capital of France",
            "note": XSS,
        },
        follow_redirects=False,
    )
    assert flagged.status_code == 303
    (flag,) = list_flags(store, status="open")
    assert flag.reviewer == "ann" and flag.original == "Paris is the capital 1"
    listing = ann.get("/corrections").text
    assert "yours: another reviewer decides" in listing
    assert "<script>window.pwned" not in listing and "&lt;script&gt;" in listing

    bob_token = _login(bob, "bob")
    assert f'action="/corrections/{flag.id}"' in bob.get("/corrections").text
    decided = bob.post(
        f"/corrections/{flag.id}",
        data={"csrf": bob_token, "decision": "accept", "note": "right"},
        follow_redirects=False,
    )
    assert decided.status_code == 303
    (done,) = list_flags(store, status="accepted")
    assert done.decided_by == "bob" and done.decision_note == "right"
    assert "accepted by bob" in bob.get(f"/runs/{RUN_A}/examples/ex1").text


def test_the_flagger_cannot_decide_and_bad_forms_are_refused(db: Path, store: Store) -> None:
    client = TestClient(create_app(str(db)))
    token = _login(client, "ann")
    data = {"csrf": token, "example_id": "ex2", "reason": "outdated", "proposed": "Lyon"}
    assert client.post(f"/runs/{RUN_A}/flag", data=data, follow_redirects=False).status_code == 303
    (flag,) = list_flags(store)
    own = client.post(f"/corrections/{flag.id}", data={"csrf": token, "decision": "accept"})
    assert own.status_code == 400 and "second reviewer" in own.text
    odd = client.post(f"/corrections/{flag.id}", data={"csrf": token, "decision": "maybe"})
    assert odd.status_code == 400
    bad = client.post(f"/runs/{RUN_A}/flag", data={**data, "reason": "boring"})
    assert bad.status_code == 400 and "reason must be one of" in bad.text
    forged = client.post(f"/runs/{RUN_A}/flag", data={**data, "csrf": "forged"})
    assert forged.status_code == 403
    missing = client.post("/corrections/nope", data={"csrf": token, "decision": "reject"})
    assert missing.status_code == 404

"""Chromium (Debian's, driven by Playwright) against a real server: open a run, label
with the keyboard, vote blind and see the leaderboard change, XSS shows as text.
Screenshots of each page go to the test's screenshot folder."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import Server
from tests.web.review_data import RUN_A, RUN_B, XSS

from assay.review import load_labels
from assay.store import open_store

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-browser.sh")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, serve: Callable[..., Server]) -> Iterator[Any]:
    server = serve()
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(15000)
    yield opened
    context.close()


def _sign_in(page: Any, name: str = "ann") -> None:
    page.goto("/login")
    page.fill("#reviewer", name)
    page.click("button[type=submit]")
    page.wait_for_url("**/")


def test_open_a_run_and_xss_shows_as_text(page: Any, shots: Path) -> None:
    page.goto("/")
    page.screenshot(path=str(shots / "runs.png"), full_page=True)
    page.click(f"a[href='/runs/{RUN_A}'] >> nth=1")
    page.wait_for_selector("table.examples")
    assert page.locator("table.examples tbody tr").count() == 6
    page.screenshot(path=str(shots / "run.png"), full_page=True)
    page.goto(f"/runs/{RUN_A}/examples/ex1")
    assert page.inner_text("#prediction") == XSS
    assert page.evaluate("window.pwned") is None
    assert page.locator("#prediction img, #prediction script").count() == 0
    page.screenshot(path=str(shots / "example-xss.png"), full_page=True)


def test_label_with_the_keyboard(page: Any, db: Path, shots: Path) -> None:
    _sign_in(page)
    page.goto(f"/runs/{RUN_A}/examples/ex0")
    page.keyboard.press("j")
    page.wait_for_url("**/examples/ex1")
    page.keyboard.press("n")
    page.keyboard.type("made up a city")
    page.keyboard.press("Escape")
    page.check("input[name=category][value=hallucination]")
    page.screenshot(path=str(shots / "example-labelling.png"), full_page=True)
    page.keyboard.press("3")
    page.wait_for_url("**/examples/ex2")
    page.keyboard.press("1")
    page.wait_for_url("**/examples/ex3")
    page.keyboard.press("k")
    page.wait_for_url("**/examples/ex2")
    assert "correct" in page.inner_text(".panel")
    with open_store(str(db)) as store:
        found = {x.example_id: x for x in load_labels(store, RUN_A)}
    assert found["ex1"].verdict == "incorrect" and found["ex1"].note == "made up a city"
    assert found["ex1"].categories == ["hallucination"] and found["ex2"].verdict == "correct"
    page.goto(f"/runs/{RUN_A}?verdict=incorrect")
    assert page.locator("table.examples tbody tr").count() == 1
    page.screenshot(path=str(shots / "run-filtered.png"), full_page=True)


def test_blind_vote_changes_the_leaderboard(page: Any, shots: Path) -> None:
    _sign_in(page)
    page.goto("/leaderboard")
    assert "No human battles yet" in page.inner_text("#board-human")
    page.goto("/")
    page.check(f"input[name=run][value='{RUN_A}']")
    page.check(f"input[name=run][value='{RUN_B}']")
    page.click("#compare")
    page.wait_for_selector("#vote-form")
    main = page.inner_text("main").lower()
    assert "base" not in main and "tuned" not in main
    page.screenshot(path=str(shots / "pairwise.png"), full_page=True)
    answer_a = page.inner_text("#answer-a")
    page.keyboard.press("a")
    page.wait_for_selector("#name-a")
    page.screenshot(path=str(shots / "reveal.png"), full_page=True)
    winner = page.text_content("#name-a")
    assert {winner, page.text_content("#name-b")} == {"base", "tuned"}
    assert answer_a in page.inner_text("main")
    page.keyboard.press("j")
    page.wait_for_selector("#vote-form")
    page.goto("/leaderboard")
    board = page.locator("#board-human")
    assert "(1 battles)" in board.inner_text().lower()
    assert board.locator("td.model").first.inner_text() == winner
    page.screenshot(path=str(shots / "leaderboard.png"), full_page=True)

"""Chromium (Debian's, driven by Playwright) against a real server, every page under the
app's Content-Security-Policy: open a run, label with the keyboard, vote blind and see
the leaderboard change, XSS shows as text, a bench run and a run with failed examples
read honestly; no page trips the policy, and an injected inline script does not run.
Screenshots of each page go to the test's screenshot folder (ASSAY_SCREENSHOTS, when
set, keeps them)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import Server
from tests.web.review_data import FAILED_ERROR, RUN_A, RUN_B, RUN_BENCH, RUN_FAILED, XSS

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
    """A page on a fresh server; the test fails if anything on it trips the CSP."""
    server = serve()
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(15000)
    violations: list[str] = []
    opened.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    opened.violations = violations
    yield opened
    context.close()
    assert violations == [], violations


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


def test_a_bench_run_and_a_run_with_failed_examples(page: Any, shots: Path) -> None:
    page.goto(f"/runs/{RUN_BENCH}")
    summary = page.inner_text("#summary")
    assert "arc_challenge/acc_norm\t0.500\t[0.150, 0.850]\tn=4" in summary
    cells = page.locator("table.examples tbody tr").nth(4).locator("td")
    assert cells.nth(7).inner_text() == "0.625"  # truthfulqa_mc2/0's mc2, 0-1, three decimals
    assert (
        page.locator("table.examples tbody tr").first.locator("td").nth(5).inner_text() == "1.000"
    )
    page.screenshot(path=str(shots / "run-bench.png"), full_page=True)
    page.goto(f"/runs/{RUN_FAILED}")
    assert "incomplete" in page.inner_text("#run-status")
    assert "--retry-errors" in page.inner_text("#run-status")
    assert "n=3, 1 unscored" in page.inner_text("#summary")
    failed = page.locator("table.examples tbody tr.failed")
    assert failed.count() == 2 and FAILED_ERROR in failed.first.inner_text()
    page.screenshot(path=str(shots / "run-failed.png"), full_page=True)
    page.click("tr.failed a.mono >> nth=0")
    page.wait_for_selector("#failed")
    assert FAILED_ERROR in page.inner_text("#error")
    page.keyboard.press("j")
    page.wait_for_url("**/examples/ex2")
    page.go_back()
    page.wait_for_selector("#failed")
    page.screenshot(path=str(shots / "example-failed.png"), full_page=True)


def test_an_injected_inline_script_does_not_run(page: Any) -> None:
    page.goto(f"/runs/{RUN_A}")
    ran = page.evaluate(
        """() => new Promise((done) => {
            document.addEventListener("securitypolicyviolation", (e) => done(e.violatedDirective));
            const script = document.createElement("script");
            script.textContent = "window.inlined = 1";
            document.body.appendChild(script);
            setTimeout(() => done(window.inlined === 1 ? "ran" : "silent"), 2000);
        })"""
    )
    assert ran.startswith("script-src"), ran
    assert page.evaluate("window.inlined") is None
    page.violations.clear()  # the refusal this test provoked

"""The review web app shows a conversation turn by turn, in Chromium against a real server:
a stored run of examples/tools (the replay backend over answers written for it), the
example page of a tool row with history: its tools, each speaker, the earlier call and
the tool's result, and the call expected; no JSON of the messages anywhere on the page.
The screenshot goes to the test's screenshot folder (ASSAY_SCREENSHOTS keeps it)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.test_web_browser import ARGS, CHROMIUM

import assay

pytestmark = pytest.mark.slow  # a real browser

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "examples" / "tools" / "test.jsonl"
PREDICTIONS = ROOT / "tests" / "error_analysis" / "files" / "tool_predictions.jsonl"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A store holding one run of the tool rows (this module's store, for `serve`)."""
    path = tmp_path / "assay.db"
    assay.evaluate(
        f"replay:{PREDICTIONS}",
        TOOLS,
        ["tool_name", "tool_args"],
        store=str(path),
        name="tools",
        progress=False,
    )
    return path


@pytest.fixture
def page(serve: Any) -> Iterator[Any]:
    """Chromium on a fresh server over this module's store; nothing may trip the CSP."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(base_url=serve().url, viewport={"width": 1280, "height": 900})
        opened = context.new_page()
        opened.set_default_timeout(15000)
        violations: list[str] = []
        opened.on(
            "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
        )
        yield opened
        browser.close()
    assert violations == [], violations


def test_a_conversation_reads_turn_by_turn(page: Any, db: Path, shots: Path) -> None:
    with assay.open_store(str(db)) as store:
        [run] = store.list_runs()
    page.goto(f"/runs/{run.id}/examples/tools-015")
    conversation = page.locator("#question.conversation")
    speakers = conversation.locator(".speaker").all_inner_texts()
    assert speakers == [
        "Tools", "System", "User", "Assistant", "Tool (get_weather)", "Assistant", "User",
        "Expected",
    ]  # fmt: skip
    bodies = conversation.locator(".body").all_inner_texts()
    assert bodies[0].startswith("get_weather(city, unit?), convert_currency(amount, from, to)")
    assert bodies[3] == '→ get_weather({"city": "Paris"})'
    assert bodies[6] == "And in Berlin?"
    assert bodies[7] == '→ get_weather({"city": "Berlin"})'
    text = page.inner_text("main")
    assert '"role"' not in text and '"tool_calls"' not in text  # no message JSON shown
    assert page.locator("h2", has_text="Conversation").count() == 1
    page.screenshot(path=str(shots / "conversation.png"), full_page=True)
    # A row that expects a text answer says so.
    page.goto(f"/runs/{run.id}/examples/tools-012")
    expects = page.locator("#question .turn.expects .body").inner_text()
    assert expects == "a text answer, no call"


def test_the_run_list_shows_the_turn_each_row_answers(page: Any, db: Path, shots: Path) -> None:
    """Not the transcript's opening (the tools, the system turn), the same on every row."""
    with assay.open_store(str(db)) as store:
        [run] = store.list_runs()
    page.goto(f"/runs/{run.id}")
    questions = page.locator("table.examples tbody tr td:nth-child(3)").all_inner_texts()
    assert len(questions) == 20 and len(set(questions)) == 20
    assert questions[0] == "User: What's the weather in Paris right now?"
    assert questions[14] == "User: And in Berlin?"  # tools-015: after a call and its result
    assert not any(q.startswith("Tools:") for q in questions)
    page.screenshot(path=str(shots / "run-of-tool-rows.png"), full_page=True)
    # The search still reads the whole transcript: the 18 rows that declare the tool.
    page.goto(f"/runs/{run.id}?q=convert_currency(amount")
    assert page.locator("text=18 matching").count() == 1


def test_assay_show_lists_the_turn_each_row_answers(db: Path) -> None:
    with assay.open_store(str(db)) as store:
        [run] = store.list_runs()
    shown = subprocess.run(
        [sys.executable, "-m", "assay", "show", run.id, "--db", str(db), "--limit", "3"],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, check=True,
    ).stdout  # fmt: skip
    assert "User: What's the weather in Paris right now?" in shown
    assert "Tools:" not in shown

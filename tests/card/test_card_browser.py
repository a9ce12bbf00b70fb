"""The card and the report in headless Chromium at 1280 and 800 pixels wide: nothing cut
off, charts drawn, the example filters work, no script or style but the page's own.

Screenshots are written to the test's folder, and to $ASSAY_SCREENSHOTS when it is set
(to look at them)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.card.card_data import BASE_RIGHT, TUNED_RIGHT, write_loop

from assay.card import build_card, write_card
from assay.report import write_report
from assay.store import open_store

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = (1280, 800)


@pytest.fixture
def pages(tmp_path: Path) -> dict[str, Path]:
    db = tmp_path / "loop.db"
    with open_store(str(db)) as store:
        write_loop(store)
        card = write_card(build_card(store, "base", ["ft-v1"], by="topic"), tmp_path / "card.html")
        report = write_report(
            store,
            ["base00000001", "tune00000001", "base00000002", "tune00000002"],
            tmp_path / "report.html",
            by="topic",
        )
    return {"card": card, "report": report}


def _browser(p: Any) -> Any:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-browser.sh")
    return p.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def _open(browser: Any, path: Path, width: int, violations: list[str]) -> Any:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.route(
        "**/*",
        lambda route: (
            route.abort()
            if not route.request.url.startswith(("file:", "data:"))
            else route.continue_()
        ),
    )
    page.goto(path.as_uri())
    return page


def _overflow(page: Any) -> dict[str, Any]:
    """What sticks out: the page wider than the window, tables wider than their box,
    charts wider than the page, text cut inside a cell."""
    return page.evaluate(
        """() => {
        const root = document.documentElement;
        const tables = Array.from(document.querySelectorAll(".table-wrap"))
          .filter(w => w.scrollWidth > w.clientWidth + 1).map(w => w.querySelector("table").id);
        const charts = Array.from(document.querySelectorAll("img.chart"))
          .filter(i => !i.complete || i.naturalWidth === 0 || i.getBoundingClientRect().right > root.clientWidth + 1)
          .map(i => i.id);
        const cards = Array.from(document.querySelectorAll(".example .text"))
          .filter(t => t.scrollWidth > t.clientWidth + 1).length;
        return {page: root.scrollWidth - root.clientWidth, tables, charts, cards};
    }"""
    )


def _shoot(page: Any, path: Path) -> None:
    page.screenshot(path=str(path), full_page=True)
    target = os.environ.get("ASSAY_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


@pytest.mark.slow
def test_the_card_reads_at_1280_and_800_pixels(pages: dict[str, Path], tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = _browser(p)
        for width in WIDTHS:
            violations: list[str] = []
            page = _open(browser, pages["card"], width, violations)
            found = _overflow(page)
            assert found["page"] <= 0 and found["charts"] == [] and found["cards"] == 0, found
            assert found["tables"] == [], found  # every table fits whole, no scrolling
            _shoot(page, tmp_path / f"card-{width}.png")
            cards = "#example-cards-1-1 .example"
            assert page.locator(f"{cards}:visible").count() == 30
            page.click("#example-cards-1-1 button[data-outcome=fixed]")
            assert page.locator(f"{cards}:visible").count() == len(TUNED_RIGHT - BASE_RIGHT)
            page.click("#example-cards-1-1 button[data-outcome='']")
            page.select_option("#example-cards-1-1 select.category", "verbose")
            assert page.locator(f"{cards}:visible").count() == 30 - len(BASE_RIGHT)
            text = page.inner_text("#general-ability-1")
            assert text.startswith("General ability dropped beyond noise on arc_challenge")
            assert violations == []
            page.close()
        browser.close()


@pytest.mark.slow
def test_the_report_reads_at_1280_and_800_pixels(pages: dict[str, Path], tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = _browser(p)
        for width in WIDTHS:
            violations: list[str] = []
            page = _open(browser, pages["report"], width, violations)
            found = _overflow(page)
            assert found["page"] <= 0 and found["charts"] == [] and found["cards"] == 0, found
            assert found["tables"] == [], found
            _shoot(page, tmp_path / f"report-{width}.png")
            assert page.locator("#eval-runs tbody tr").count() == 2
            assert page.locator("#bench-runs tbody tr").count() == 2
            page.click("#examples button[data-outcome=fixed]")
            fixed = len(TUNED_RIGHT - BASE_RIGHT)
            assert page.locator("#examples .example:visible").count() == fixed
            assert violations == []
            page.close()
        browser.close()

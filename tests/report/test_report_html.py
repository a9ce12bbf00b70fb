"""The HTML report: content, escaping, self-containment; and opened in Chromium."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.arena import Battle, save_battles
from assay.cli import app
from assay.metrics.base import MetricSummary, Score
from assay.review import Label, save_label
from assay.runs.records import ExampleResult, RunInfo
from assay.store import Store, open_store

XSS = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
CHROMIUM = "/usr/bin/chromium"


def _run(store: Store, run_id: str, name: str, right: set[int]) -> None:
    store.create_run(
        RunInfo(
            run_id,
            name,
            "eval",
            "running",
            run_id,
            f"replay:{name}",
            "fp",
            "qa.jsonl",
            "dfp",
            4,
            metrics=["exact_match"],
        )
    )
    store.add_results(
        run_id,
        [
            ExampleResult(
                f"ex{i}",
                i,
                f"question {i}",
                f"answer {i}",
                f"Q{i}",
                f"answer {i}" if i in right else (XSS if i == 3 else "nope"),
                scores={"exact_match": Score(float(i in right))},
            )
            for i in range(4)
        ],
    )
    mean = len(right) / 4
    store.save_summary(
        run_id, {"exact_match": MetricSummary("exact_match", mean, mean / 2, 1.0, 4)}
    )
    store.end_run(run_id, "complete", seconds=2.0)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "assay.db"
    with open_store(str(path)) as store:
        _run(store, "rrrr00000001", "base", {0})
        _run(store, "rrrr00000002", "tuned", {0, 1, 2})
        save_label(store, Label("rrrr00000001", "ex3", "ann", "incorrect", ["hallucination"]))
        save_battles(store, [Battle("tuned", "base", "model_a", source="human", decided_by="ann")])
    return path


def _report(db: Path, tmp_path: Path, *ids: str) -> str:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", *ids, "-o", str(out), "--db", str(db)])
    assert result.exit_code == 0, result.output
    return out.read_text()


def test_report_has_everything_and_escapes_model_text(db: Path, tmp_path: Path) -> None:
    html = _report(db, tmp_path, "rrrr00000001", "rrrr00000002")
    for part in (
        'id="runs"',
        'id="metrics"',
        'id="comparison"',
        'id="categories"',
        'id="ratings-human"',
        'id="examples"',
        'id="metrics-plot"',
        'id="categories-plot"',
    ):
        assert part in html
    assert "<script>window.pwned" not in html and "<img src=x" not in html
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in html
    assert "0.250" in html and "+0.500" in html  # base mean, tuned minus base
    # Self-contained: no outside references (images are data: URIs).
    assert not re.search(r'(src|href)="(?!data:|#)', html)


def test_unknown_run_is_a_one_line_error(db: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["report", "zzzz9999", "-o", str(tmp_path / "r.html"), "--db", str(db)]
    )
    assert result.exit_code == 1 and "no run 'zzzz9999'" in result.output


@pytest.mark.slow
def test_report_opens_in_the_browser(db: Path, tmp_path: Path) -> None:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-browser.sh")
    sync_api = pytest.importorskip("playwright.sync_api")
    _report(db, tmp_path, "rrrr00000001", "rrrr00000002")
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.route(
            "**/*",
            lambda route: (
                route.abort()
                if not route.request.url.startswith(("file:", "data:"))
                else route.continue_()
            ),
        )
        page.goto((tmp_path / "report.html").as_uri())
        assert page.evaluate("window.pwned") is None
        assert XSS in page.inner_text("#examples")
        assert page.evaluate("document.getElementById('metrics-plot').naturalWidth") > 100
        assert "tuned" in page.inner_text("#ratings-human")
        page.fill("#search", "question 3")
        assert page.locator("#examples tbody tr:visible").count() == 1
        page.fill("#search", "")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()

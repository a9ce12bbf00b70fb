"""The HTML report: content, escaping, self-containment; and opened in Chromium."""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import re
import shutil
from pathlib import Path

import pytest
from tests.web.review_data import (
    FAILED_ERROR,
    FAILED_MESSAGE,
    RUN_BENCH,
    RUN_FAILED,
    write_bench_run,
    write_failed_run,
)
from typer.testing import CliRunner

from assay.arena import Battle, save_battles
from assay.cli import app
from assay.error_analysis import ExampleError, save_errors
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
        save_errors(store, "rrrr00000001", [ExampleError("ex3", "incorrect", "high", "em 0")])
        save_battles(store, [Battle("tuned", "base", "model_a", source="human", decided_by="ann")])
    return path


def _report(db: Path, tmp_path: Path, *ids: str) -> str:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", *ids, "-o", str(out), "--db", str(db), "--force"])
    assert result.exit_code == 0, result.output
    return out.read_text()


def test_report_has_everything_and_escapes_model_text(db: Path, tmp_path: Path) -> None:
    html = _report(db, tmp_path, "rrrr00000001", "rrrr00000002")
    for part in (
        'id="eval-runs"',
        'id="metrics"',
        'id="comparison"',
        'id="categories"',
        'id="label-categories"',
        'id="ratings-human"',
        'id="examples"',
        'id="metrics-plot"',
        'id="categories-plot"',
    ):
        assert part in html, part
    assert 'id="bench-runs"' not in html  # no bench run: no bench section
    assert "<script>window.pwned" not in html and "<img src=x" not in html
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in html
    assert "0.250" in html and "+0.500" in html  # base mean, tuned minus base
    # Self-contained: no outside references (images are data: URIs).
    assert not re.search(r'(src|href)="(?!data:|#)', html)


@pytest.fixture
def honest_db(tmp_path: Path) -> Path:
    """A bench run and a run whose endpoint failed on two of six examples."""
    path = tmp_path / "honest.db"
    with open_store(str(path)) as store:
        write_bench_run(store)
        write_failed_run(store)
    return path


def _cells(html: str, table: str) -> list[list[str]]:
    body = re.search(rf'<table id="{table}">.*?<tbody>(.*?)</tbody>', html, flags=re.S)
    assert body, table
    rows = re.findall(r"<tr>(.*?)</tr>", body.group(1), flags=re.S)
    return [
        [_text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
        for row in rows
    ]


def _text(cell: str) -> str:
    """A cell's text as shown: tags dropped, entities read, whitespace squeezed."""
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", cell)).split())


def _cards(html: str) -> dict[str, list[str]]:
    """Example id -> each answer's text and scores, as the cards show them."""
    cards = {}
    for card in re.findall(r'<article class="example"(.*?)</article>', html, flags=re.S):
        example_id = _text(re.search(r'<span class="mono dim">(.*?)</span>', card).group(1))  # type: ignore[union-attr]
        answers = re.findall(r'<div class="answer[^"]*">(.*?)\n</div>', card, flags=re.S)
        cards[example_id] = [_text(a) for a in answers]
    return cards


def test_a_bench_run_shows_its_per_question_scores(honest_db: Path, tmp_path: Path) -> None:
    html = _report(honest_db, tmp_path, RUN_BENCH)
    metrics = {row[0]: row[1] for row in _cells(html, "bench-metrics")}
    assert metrics == {
        "arc_challenge/acc": "0.500 [0.150, 0.850] n=4",
        "arc_challenge/acc_norm": "0.500 [0.150, 0.850] n=4",
        "truthfulqa_mc2/mc2": "0.500 [0.375, 0.625] n=2",
    }
    assert 'id="eval-runs"' not in html and 'id="bench-plot"' in html
    scores = [answer.split(" ", 3)[-1] for (answer,) in _cards(html).values()]
    assert [re.sub(r"^.*?((acc|mc2) )", r"\1", s) for s in scores] == [
        "acc 1.000 · acc_norm 1.000",
        "acc 0.000 · acc_norm 1.000",
        "acc 0.000 · acc_norm 0.000",
        "acc 1.000 · acc_norm 0.000",
        "mc2 0.625",
        "mc2 0.375",
    ]


def test_a_run_with_failed_examples_says_so(honest_db: Path, tmp_path: Path) -> None:
    html = _report(honest_db, tmp_path, RUN_FAILED)
    (run,) = _cells(html, "eval-runs")
    assert run[5] == f"incomplete {FAILED_MESSAGE}"
    metrics = {row[0]: row[1] for row in _cells(html, "metrics")}
    assert metrics["judge"] == "7.000 [7.000, 7.000] n=3, 1 unscored"
    assert metrics["exact_match"] == "0.500 [0.150, 0.850] n=4"
    cards = _cards(html)
    for failed in ("ex1", "ex4"):
        assert cards[failed] == [f"flaky endpoint failed {FAILED_ERROR}"]
    assert cards["ex3"] == ["flaky endpoint Paris is the capital 3 exact_match 0.000 · judge 7.000"]
    assert cards["ex5"] == ["flaky endpoint Paris is the capital 5 exact_match 0.000 · judge –"]


def test_the_report_allows_only_its_own_script_and_style(db: Path, tmp_path: Path) -> None:
    html = _report(db, tmp_path, "rrrr00000001", "rrrr00000002")
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert meta
    policy = html_lib.unescape(meta.group(1))
    (script,) = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    (style,) = re.findall(r"<style>(.*?)</style>", html, flags=re.S)
    for kind, text in (("script", script), ("style", style)):
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        assert f"{kind}-src 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy and "img-src data:" in policy
    assert "unsafe-inline" not in policy and " style=" not in html


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
        violations: list[str] = []
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
        page.goto((tmp_path / "report.html").as_uri())
        assert page.evaluate("window.pwned") is None
        assert XSS in page.inner_text("#examples")
        assert page.evaluate("document.getElementById('metrics-plot').naturalWidth") > 100
        assert "tuned" in page.inner_text("#ratings-human")
        page.fill("#examples input[type=search]", "question 3")
        assert page.locator("#examples .example:visible").count() == 1
        page.fill("#examples input[type=search]", "")
        page.click("#examples button[data-outcome=fixed]")
        assert page.locator("#examples .example:visible").count() == 2
        page.click("#examples button[data-outcome='']")
        page.select_option("#examples select.category", "incorrect")
        assert page.locator("#examples .example:visible").count() == 1
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        assert violations == []  # the hashed script and style run, nothing else is asked for
        blocked = page.evaluate(
            """() => { const s = document.createElement("script");
                s.textContent = "window.inlined = 1"; document.body.appendChild(s);
                return window.inlined === undefined; }"""
        )
        assert blocked  # an inline script that is not the report's own does not run
        browser.close()


def test_an_existing_report_is_kept_without_force(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    out.write_text("yesterday's report")
    result = CliRunner().invoke(app, ["report", "rrrr00000001", "-o", str(out), "--db", str(db)])
    assert result.exit_code != 0 and "--force" in result.output
    assert out.read_text() == "yesterday's report"

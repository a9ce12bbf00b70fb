"""The openai backend against real servers on loopback: `assay serve` end to end, and a
flaky server that rate-limits, fails and drops connections before it answers."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from assay import evaluate, load_model
from assay.data.prompts import Prompt
from assay.evaluation.retry import retry_errors
from assay.models.base import GenerationParams, ModelOptions
from assay.models.openai import OpenAIModel, parse_target
from assay.serve import BackgroundServer, ServeOptions
from assay.store import open_store

FILES = Path(__file__).parent.parent / "files"


class FlakyHandler(BaseHTTPRequestHandler):
    """Per prompt: 429 (Retry-After 0), then 500, then a dropped connection, then an answer.
    A prompt containing "forbidden" always gets 400; "down" always 503."""

    tries: ClassVar[Counter[str]] = Counter()
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text = body["messages"][-1]["content"] if "messages" in body else body["prompt"]
        with self.lock:
            self.tries[text] += 1
            attempt = self.tries[text]
        if "forbidden" in text:
            return self._send(400, {"error": {"message": "bad request"}})
        if "down" in text:
            return self._send(503, {"error": "unavailable"}, {"Retry-After": "0"})
        if attempt == 1:
            return self._send(429, {"error": "slow down"}, {"Retry-After": "0"})
        if attempt == 2:
            return self._send(500, {"error": "oops"})
        if attempt == 3:
            self.close_connection = True  # drop it: no status line at all
            return
        if "messages" in body:
            choice = {"message": {"content": f"echo {text}"}, "finish_reason": "stop"}
        else:
            choice = {"text": f"echo {text}", "finish_reason": "length"}
        usage = {"prompt_tokens": 3, "completion_tokens": 2}
        self._send(200, {"choices": [choice], "usage": usage})

    def _send(self, status: int, data: object, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def flaky_url() -> Iterator[str]:
    FlakyHandler.tries = Counter()
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def _flaky_model(url: str, retries: int = 4) -> OpenAIModel:
    return OpenAIModel(
        f"openai:m@{url}",
        "m",
        url,
        options=ModelOptions(batch_size=4),
        max_retries=retries,
        backoff_base=0.01,
        backoff_max=0.05,
        timeout=5,
    )


def test_spec_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_target("gpt-4o-mini@http://127.0.0.1:8000/v1/") == (
        "gpt-4o-mini",
        "http://127.0.0.1:8000/v1",
    )
    monkeypatch.setenv("OPENAI_BASE_URL", "http://example.test/v1")
    assert parse_target("gpt-4o-mini") == ("gpt-4o-mini", "http://example.test/v1")
    model = load_model("openai:gpt-4o-mini@http://127.0.0.1:9/v1")
    assert model.info.details["base_url"] == "http://127.0.0.1:9/v1"


def test_retries_429_500_and_dropped_connections_then_succeeds(flaky_url: str) -> None:
    model = _flaky_model(flaky_url)
    prompts = [Prompt(f"q{i}") for i in range(5)] + [Prompt("raw", chat=False)]
    generations = model.generate(prompts, GenerationParams(max_new_tokens=4))
    assert [g.text for g in generations] == [f"echo q{i}" for i in range(5)] + ["echo raw"]
    assert generations[-1].finish_reason == "length"
    assert all(FlakyHandler.tries[t] == 4 for t in ["q0", "raw"])


def test_failures_are_recorded_per_example_and_the_run_completes(
    flaky_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": i, "question": q, "answer": "x"}) + "\n"
            for i, q in enumerate(["fine", "forbidden", "down"])
        )
    )
    db = str(tmp_path / "a.db")
    model = _flaky_model(flaky_url, retries=1)  # too few tries for "fine" and "down"
    run = evaluate(model, data, store=db, progress=False)
    assert run.info.status == "incomplete" and run.info.stats.failed == 3
    assert run.info.message is not None and run.info.message.startswith("3 of 3 failed")
    assert run.info.summary["exact_match"].n == 0  # nothing is scored that has no output
    by_id = {r.example_id: r for r in run.results}
    assert "HTTP 400" in (by_id["1"].error or "") and FlakyHandler.tries["forbidden"] == 1
    assert "failed after 2 tries" in (by_id["2"].error or "")
    # --retry-errors: the same spec, with its default retries, fills in what it can.
    run = retry_errors(run.info.id, store=db)
    by_id = {r.example_id: r for r in run.results}
    assert by_id["0"].prediction == "echo fine" and by_id["0"].finish_reason == "stop"
    assert by_id["1"].finish_reason == "error" and run.info.stats.failed == 2
    assert run.info.status == "incomplete"
    assert run.info.summary["exact_match"].n == 1  # only the example with an answer


@pytest.mark.slow
def test_openai_backend_against_assay_serve_end_to_end(tmp_path: Path) -> None:
    local = load_model("smollm2-135m-instruct", ModelOptions(batch_size=8))
    with BackgroundServer(local, ServeOptions(name="smol")) as server:
        listed = httpx.get(f"{server.base_url}/models").json()
        assert [m["id"] for m in listed["data"]] == ["smol"]
        reply = httpx.post(
            f"{server.base_url}/completions",
            json={"prompt": "The capital of France is", "max_tokens": 4, "temperature": 0},
            timeout=120,
        ).json()
        assert reply["usage"]["completion_tokens"] >= 1 and reply["choices"][0]["text"]
        unknown = httpx.post(
            f"{server.base_url}/chat/completions",
            json={"model": "other", "messages": [{"role": "user", "content": "hi"}]},
            timeout=30,
        )
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "model_not_found"

        db = str(tmp_path / "a.db")
        spec = f"openai:smol@{server.base_url}"
        run = evaluate(spec, FILES / "qa_tiny.jsonl", store=db, max_new_tokens=8, progress=False)
        assert run.info.stats.failed == 0 and len(run.results) == 4
        assert all(r.completion_tokens > 0 and r.prediction for r in run.results)
        assert max(server.app.state.batcher.batches) > 1  # concurrent requests batched
        again = evaluate(spec, FILES / "qa_tiny.jsonl", store=db, max_new_tokens=8, progress=False)
        assert again.info.stats.cached == 4  # the same cache as every backend

    with open_store(db) as store:
        assert store.get_run_info(run.info.id).model_details["backend"] == "openai"

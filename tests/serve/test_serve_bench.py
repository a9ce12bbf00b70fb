"""`assay bench --model openai:<name>@<url>`: log-likelihoods through /v1/completions (echo
with prompt log-probabilities). Through a real `assay serve` the scores equal the in-process
engine's; a server that cannot score prompts is a clear error naming what it lacks."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from assay.bench.run import BenchOptions, run_bench
from assay.exceptions import ModelError
from assay.models.base import LoglikelihoodStats, ModelOptions
from assay.models.hf import HFModel
from assay.models.openai import OpenAIModel
from assay.models.registry import load_model
from assay.serve import BackgroundServer
from assay.store import open_store

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="module")
def shared_data() -> Path:
    if not (SHARED_DATA / "arc").is_dir():
        pytest.skip(f"the offline benchmark data is not at {SHARED_DATA}")
    return SHARED_DATA


@pytest.mark.slow
def test_bench_through_assay_serve_equals_bench_in_process(
    smol: HFModel, server: BackgroundServer, shared_data: Path, tmp_path: Path
) -> None:
    options = BenchOptions(
        tasks=("arc_challenge", "arc_easy", "mmlu_anatomy"),
        num_fewshot=1,
        limit=3,
        data_dir=shared_data,
        progress=False,
    )
    local = run_bench(smol, options=options, store=str(tmp_path / "local.db"))
    remote_model = load_model(f"openai:smol@{server.base_url}", ModelOptions(batch_size=4))
    remote = run_bench(remote_model, options=options, store=str(tmp_path / "remote.db"))

    def results(db: Path, run_id: str) -> dict[str, tuple[str, list[float]]]:
        with open_store(str(db)) as store:
            run = store.load_run(run_id)
        return {r.example_id: (r.prediction, r.metadata["logliks"]) for r in run.results}

    here = results(tmp_path / "local.db", local.run_id)
    there = results(tmp_path / "remote.db", remote.run_id)
    assert here.keys() == there.keys() and len(here) == 9
    for key, (prediction, logliks) in here.items():
        assert there[key][0] == prediction  # the same choice, question by question
        assert there[key][1] == pytest.approx(logliks, abs=1e-4)
    assert remote_model.info.details["backend"] == "openai"


class NoPromptLogprobs(BaseHTTPRequestHandler):
    """A server like TGI's: /completions answers, but echoes no prompt log-probabilities.
    The first request of each body gets 429, to show scoring retries like generation."""

    tries: ClassVar[Counter[str]] = Counter()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        NoPromptLogprobs.tries[body.decode()] += 1
        if NoPromptLogprobs.tries[body.decode()] == 1:
            return self._send(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
        prompts = json.loads(body)["prompt"]
        choices = [{"index": i, "text": "", "logprobs": None} for i in range(len(prompts))]
        self._send(200, {"choices": choices, "usage": {"completion_tokens": 0}})

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
def lacking_url() -> Iterator[str]:
    NoPromptLogprobs.tries = Counter()
    server = ThreadingHTTPServer(("127.0.0.1", 0), NoPromptLogprobs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_a_server_without_prompt_logprobs_is_a_clear_error(lacking_url: str) -> None:
    model = OpenAIModel(f"openai:m@{lacking_url}", "m", lacking_url, backoff_max=0.01)
    with pytest.raises(ModelError, match="returned no prompt log-probabilities") as caught:
        model.loglikelihood([("Question: 2+2?\nAnswer:", " 4")])
    assert "vLLM or `assay serve`" in str(caught.value)
    assert max(NoPromptLogprobs.tries.values()) == 2  # the 429 was retried


def test_an_empty_context_cannot_be_scored_remotely(lacking_url: str) -> None:
    model = OpenAIModel(f"openai:m@{lacking_url}", "m", lacking_url)
    with pytest.raises(ModelError, match="empty context"):
        model.loglikelihood([("", "Hello")])


@pytest.mark.slow
def test_results_arrive_as_each_context_is_scored(server: BackgroundServer) -> None:
    model = load_model(f"openai:smol@{server.base_url}", ModelOptions(batch_size=2))
    requests = [("The sky is", " blue"), ("The sky is", " green"), ("Two and two make ", "four")]
    seen: list[int] = []
    stats = LoglikelihoodStats()
    scores = model.loglikelihood(
        requests, on_result=lambda index, *_: seen.append(index), stats=stats
    )
    assert sorted(seen) == [0, 1, 2] and stats.requests == 3 and stats.contexts == 2
    assert scores[0][0] > scores[1][0]  # blue is likelier than green
    assert all(lp < 0 for lp, _ in scores)

"""Who may use `assay serve` and how much one client can take: the bearer token beyond
loopback, the body cap, the bounded queue and its timeout, and a client that goes away
(real servers on loopback over the bundled model)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import openai
import pytest

from assay.exceptions import OptionError
from assay.models.hf import HFModel
from assay.serve import BackgroundServer, ServeOptions
from assay.serve.security import check_bind, check_port, check_token

TOKEN = "k3Jx9-vQ2mZr8LpW4sTy"
LONG = {"prompt": "1, 2, 3, 4, 5,", "max_tokens": 400, "temperature": 0}


@contextmanager
def serving(model: HFModel, **options: object) -> Iterator[BackgroundServer]:
    with BackgroundServer(model, ServeOptions(name="smol", **options)) as server:  # type: ignore[arg-type]
        yield server


def test_binding_beyond_loopback_needs_a_token() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "[::1]"):
        check_bind(host, None)
    for host in ("0.0.0.0", "::", "192.168.1.5", "example.com"):
        with pytest.raises(OptionError, match=r"give a token \(or set ASSAY_SERVE_TOKEN\)"):
            check_bind(host, None)
        check_bind(host, TOKEN)


@pytest.mark.parametrize("token", ["short", " " * 20, f" {TOKEN} ", TOKEN[:10] + "\x07" + TOKEN])
def test_weak_tokens_are_refused(token: str) -> None:
    with pytest.raises(OptionError) as caught:
        check_token(token)
    assert caught.value.option == "token" and "secrets.token_urlsafe" in caught.value.problem


@pytest.mark.parametrize("port", [0, -1, 65536, 10**20])
def test_ports_outside_1_to_65535_are_refused(port: int) -> None:
    with pytest.raises(OptionError, match="must be from 1 to 65535"):
        check_port(port)


@pytest.mark.slow
def test_every_request_needs_the_bearer_token(smol: HFModel) -> None:
    with serving(smol, token=TOKEN) as server:
        url = f"{server.base_url}/models"
        for headers in (
            {},
            {"Authorization": "Bearer wrong-token-of-some-length"},
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": "Bearer ключ-не-тот-совсем".encode()},
        ):
            response = httpx.get(url, headers=headers)
            assert response.status_code == 401, headers
            assert response.json()["error"]["code"] == "invalid_api_key"
        allowed = openai.OpenAI(base_url=server.base_url, api_key=TOKEN, max_retries=0)
        assert [m.id for m in allowed.models.list()] == ["smol"]
        refused = openai.OpenAI(base_url=server.base_url, api_key="nope", max_retries=0)
        with pytest.raises(openai.AuthenticationError, match="valid API key"):
            refused.models.list()


@pytest.mark.slow
def test_bodies_over_the_cap_are_refused(smol: HFModel) -> None:
    with serving(smol, max_body_bytes=4096) as server:
        big = {"model": "smol", "prompt": "x" * 10_000, "max_tokens": 1}
        response = httpx.post(f"{server.base_url}/completions", json=big)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "request_too_large"

        def chunks() -> Iterator[bytes]:  # no Content-Length: the cap counts what arrives
            yield b'{"prompt": "'
            for _ in range(10):
                yield b"x" * 1000
            yield b'"}'

        response = httpx.post(
            f"{server.base_url}/completions",
            content=chunks(),
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 413


@pytest.mark.slow
def test_a_full_queue_answers_503_and_a_client_that_leaves_stops_costing(smol: HFModel) -> None:
    with serving(smol, batch_size=1, max_queue=1) as server:
        batcher = server.app.state.batcher
        url = f"{server.base_url}/completions"
        with httpx.stream("POST", url, json={**LONG, "stream": True}, timeout=120) as long:
            lines = long.iter_lines()
            assert next(line for line in lines if line).startswith("data: ")  # it runs
            waiting: list[httpx.Response] = []
            second = threading.Thread(
                target=lambda: waiting.append(
                    httpx.post(url, json={"prompt": "Hi", "max_tokens": 2}, timeout=120)
                )
            )
            second.start()
            deadline = time.monotonic() + 30
            while not batcher._waiting and time.monotonic() < deadline:
                time.sleep(0.02)
            refused = httpx.post(url, json={"prompt": "Hi", "max_tokens": 2})
            assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
            assert refused.json()["error"]["code"] == "server_busy"
        # The long stream is closed: its generation stops, and the waiting request runs.
        second.join(timeout=120)
        assert waiting and waiting[0].status_code == 200
        assert batcher.abandoned and batcher.abandoned[0] < LONG["max_tokens"]


@pytest.mark.slow
def test_a_request_that_cannot_start_in_time_gets_503(smol: HFModel) -> None:
    with serving(smol, batch_size=1, queue_timeout=0.5) as server:
        url = f"{server.base_url}/completions"
        with httpx.stream("POST", url, json={**LONG, "stream": True}, timeout=120) as long:
            lines = long.iter_lines()  # kept: a dropped iterator closes the stream
            assert next(line for line in lines if line).startswith("data: ")
            started = time.monotonic()
            late = httpx.post(url, json={"prompt": "Hi", "max_tokens": 2}, timeout=60)
            assert late.status_code == 503 and "without starting" in late.json()["error"]["message"]
            assert time.monotonic() - started < 10

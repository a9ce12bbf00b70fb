"""Bad requests against a real `assay serve`: each case (tests/serve/cases/errors.json) is
answered with its 4xx status and an OpenAI-shaped body naming the parameter, never a 500.

A case: name, method, path, body (JSON, or {"raw": text} sent as is), status, and
optionally the error's param, code and a fragment of its message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from assay.serve import BackgroundServer

pytestmark = pytest.mark.slow  # a real model behind a real server

CASES = json.loads((Path(__file__).parent / "cases" / "errors.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_bad_request_is_a_4xx_in_openai_shape(
    case: dict[str, Any], server: BackgroundServer
) -> None:
    root = server.base_url.removesuffix("/v1")
    body = case["body"]
    if isinstance(body, dict) and set(body) == {"raw"}:
        content = body["raw"].encode("utf-8", "surrogatepass")
    else:
        content = json.dumps(body).encode() if body is not None else None
    response = httpx.request(
        case["method"],
        root + case["path"],
        content=content,
        headers={"Content-Type": "application/json"},
        timeout=120,
    )
    assert response.status_code == case["status"], response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == ("invalid_request_error" if case["status"] < 500 else "server_error")
    assert error["message"] and "Traceback" not in error["message"]
    if "param" in case:
        assert error["param"] == case["param"], error
    if "code" in case:
        assert error["code"] == case["code"], error
    if "expect" in case:
        assert case["expect"] in error["message"], error

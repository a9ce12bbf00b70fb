"""A real `assay serve` on loopback over the bundled SmolLM2-135M-Instruct, shared by the
serve tests, and the official `openai` client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

import assay
from assay.models.hf import HFModel
from assay.serve import BackgroundServer, ServeOptions

NAME = "smol"


@pytest.fixture(scope="session")
def smol() -> HFModel:
    """The bundled model in float32, loaded once."""
    model = assay.load_model("smollm2-135m-instruct", assay.ModelOptions(batch_size=8))
    assert isinstance(model, HFModel)
    model.load()
    return model


@pytest.fixture(scope="session")
def server(smol: HFModel) -> Iterator[BackgroundServer]:
    """The shared server, serving the model as "smol"."""
    with BackgroundServer(smol, ServeOptions(name=NAME)) as running:
        yield running


@pytest.fixture(scope="session")
def client(server: BackgroundServer) -> openai.OpenAI:
    """The official openai client (its retries off, so each test sees the first answer)."""
    return openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=300)

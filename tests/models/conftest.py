"""The bundled SmolLM2-135M-Instruct in float32, loaded once per batch size for the session."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import assay
from assay.models.hf import HFModel

ALIAS = "smollm2-135m-instruct"

ModelWithBatch = Callable[[int], HFModel]


@pytest.fixture(scope="session")
def model_with_batch() -> ModelWithBatch:
    """Factory: the loaded float32 model with `batch_size` sequences in flight (cached)."""
    loaded: dict[int, HFModel] = {}

    def get(batch_size: int) -> HFModel:
        if batch_size not in loaded:
            model = assay.load_model(
                ALIAS, assay.ModelOptions(dtype="float32", batch_size=batch_size)
            )
            assert isinstance(model, HFModel)
            model.load()
            loaded[batch_size] = model
        return loaded[batch_size]

    return get


@pytest.fixture(scope="session")
def smollm2(model_with_batch: ModelWithBatch) -> HFModel:
    """The shared model at the default batch size (16)."""
    return model_with_batch(16)

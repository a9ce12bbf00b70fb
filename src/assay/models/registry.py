"""Model specs: which backend a spec string names, and the registry of backends.

A spec is `<backend>:<target>` (`hf:HuggingFaceTB/SmolLM2-135M-Instruct`,
`gguf:./model.gguf`, `replay:preds.jsonl`) or a bundled alias
(`smollm2-135m-instruct`). Factories import their heavy modules when called,
so listing or parsing specs costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assay.exceptions import ModelError, did_you_mean
from assay.models.base import Model, ModelOptions
from assay.models.bundled import BUNDLED_MODELS

BackendFactory = Callable[[str, str, ModelOptions], Model]
"""(target, full spec, options) -> a Model."""


@dataclass(frozen=True)
class Backend:
    prefix: str
    description: str
    factory: BackendFactory


_BACKENDS: dict[str, Backend] = {}


def register_backend(prefix: str, description: str) -> Callable[[BackendFactory], BackendFactory]:
    """Register a backend factory under `prefix:` (one file per backend, no if-chains)."""

    def decorate(factory: BackendFactory) -> BackendFactory:
        _BACKENDS[prefix] = Backend(prefix, description, factory)
        return factory

    return decorate


def list_backends() -> list[Backend]:
    return sorted(_BACKENDS.values(), key=lambda b: b.prefix)


def load_model(spec: str | Model, options: ModelOptions | None = None) -> Model:
    """Resolve a spec string (or pass a Model through) to a ready model."""
    if not isinstance(spec, str):
        return spec
    options = options or ModelOptions()
    if spec in BUNDLED_MODELS:
        path = BUNDLED_MODELS[spec].gguf_path()
        from assay.models.hf import HFModel

        return HFModel(spec, str(path.parent), gguf_file=path.name, options=options)
    prefix, colon, target = spec.partition(":")
    backend = _BACKENDS.get(prefix) if colon else None
    if backend is None or not target:
        hint = did_you_mean(spec, BUNDLED_MODELS)
        raise ModelError(f"unknown model '{spec}'.{hint} {_known_models()}")
    return backend.factory(target, spec, options)


def _known_models() -> str:
    aliases = ", ".join(BUNDLED_MODELS)
    forms = ", ".join(f"{b.prefix}:<...> ({b.description})" for b in list_backends())
    return f"Bundled aliases: {aliases}. Or a backend spec: {forms}."


def _is_local(target: str) -> bool:
    return target.startswith((".", "/", "~")) or Path(target).exists()


@register_backend("hf", "a transformers model: hub id or local folder")
def _hf(target: str, spec: str, options: ModelOptions) -> Model:
    from assay.models.hf import HFModel

    if _is_local(target):
        folder = Path(target).expanduser()
        if not folder.is_dir():
            raise ModelError(f"{spec}: no such model folder '{folder}'")
        return HFModel(spec, str(folder), options=options)
    return HFModel(spec, target, options=options)


@register_backend("gguf", "a GGUF file, loaded through transformers")
def _gguf(target: str, spec: str, options: ModelOptions) -> Model:
    from assay.models.hf import HFModel

    path = Path(target).expanduser()
    if not path.is_file():
        raise ModelError(f"{spec}: no such GGUF file '{path}'")
    return HFModel(spec, str(path.parent), gguf_file=path.name, options=options)


@register_backend("replay", "predictions made elsewhere, from a JSONL/CSV file")
def _replay(target: str, spec: str, options: ModelOptions) -> Model:
    from assay.models.replay import ReplayModel

    return ReplayModel(spec, Path(target).expanduser())


@register_backend("openai", "an OpenAI-compatible server: <model>[@<base_url>]")
def _openai(target: str, spec: str, options: ModelOptions) -> Model:
    from assay.models.openai import OpenAIModel, parse_target

    model, base_url = parse_target(target)
    return OpenAIModel(spec, model, base_url, options=options)

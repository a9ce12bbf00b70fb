"""Models: one protocol (base.py) that every backend implements, and the registry that
turns a spec string ("smollm2-135m-instruct", "hf:./ft", "openai:m@url") into a model."""

from assay.models.base import (
    Generation,
    GenerationParams,
    LoglikelihoodStats,
    Model,
    ModelInfo,
    ModelOptions,
)
from assay.models.registry import list_backends, load_model, register_backend

__all__ = [
    "Generation",
    "GenerationParams",
    "LoglikelihoodStats",
    "Model",
    "ModelInfo",
    "ModelOptions",
    "list_backends",
    "load_model",
    "register_backend",
]

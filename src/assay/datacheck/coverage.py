"""Coverage of a test set: embedding clusters of its inputs, and training clusters it misses.

Inputs are embedded with the bundled all-MiniLM-L6-v2 (see
:mod:`assay.metrics.embedding`) and grouped with k-means; at most ``sample`` texts
of each set are embedded, so a large set costs no more than a small one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assay.exceptions import MissingDependencyError

REPRESENTATIVES = 3


@dataclass(frozen=True)
class Cluster:
    """A group of similar inputs.

    Attributes:
        index: The cluster's number.
        size: Inputs in it (of those embedded).
        share: size / inputs embedded.
        examples: The inputs closest to its centre.
    """

    index: int
    size: int
    share: float
    examples: list[str]


@dataclass(frozen=True)
class Coverage:
    """Clusters of the test inputs, and training clusters with no test example.

    Attributes:
        clusters: Test clusters, largest first.
        blind_spots: Training clusters that no test input falls into.
        n_embedded: Test inputs embedded (a sample when the set is large).
    """

    clusters: list[Cluster]
    blind_spots: list[Cluster]
    n_embedded: int


def coverage(
    test_inputs: Sequence[str],
    train_inputs: Sequence[str] | None = None,
    *,
    clusters: int = 8,
    sample: int = 2000,
    seed: int = 0,
) -> Coverage:
    """Cluster the test inputs, and find training clusters the test set does not reach.

    Raises:
        ModelError: sentence-transformers, scikit-learn or the bundled model is missing.
    """
    rng = np.random.default_rng(seed)
    test = _sample(test_inputs, sample, rng)
    encode = _encoder()
    test_vectors = encode(test)
    labels, centres = _kmeans(test_vectors, clusters, seed)
    found = _clusters(test, test_vectors, labels, centres)
    blind: list[Cluster] = []
    if train_inputs:
        train = _sample(train_inputs, sample, rng)
        train_vectors = encode(train)
        train_labels, train_centres = _kmeans(train_vectors, clusters, seed)
        reached = set(np.argmax(test_vectors @ train_centres.T, axis=1).tolist())
        blind = [
            c
            for c in _clusters(train, train_vectors, train_labels, train_centres)
            if c.index not in reached
        ]
    return Coverage(found, blind, len(test))


def _sample(texts: Sequence[str], size: int, rng: np.random.Generator) -> list[str]:
    if len(texts) <= size:
        return list(texts)
    return [texts[i] for i in sorted(rng.choice(len(texts), size, replace=False))]


def _kmeans(vectors: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.cluster import KMeans
    except ImportError:
        raise MissingDependencyError("scikit-learn", "coverage clusters") from None
    k = max(1, min(k, len(np.unique(vectors, axis=0))))
    model = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(vectors)
    centres = model.cluster_centers_
    centres = centres / np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    return model.labels_, centres


def _clusters(
    texts: list[str], vectors: np.ndarray, labels: np.ndarray, centres: np.ndarray
) -> list[Cluster]:
    found = []
    for index in range(len(centres)):
        members = np.nonzero(labels == index)[0]
        if members.size == 0:
            continue
        closest = members[np.argsort(-(vectors[members] @ centres[index]))[:REPRESENTATIVES]]
        found.append(
            Cluster(
                index, int(members.size), members.size / len(texts), [texts[i] for i in closest]
            )
        )
    return sorted(found, key=lambda c: (-c.size, c.index))


def _encoder() -> Callable[[list[str]], np.ndarray]:
    from assay.metrics.embedding import bundled_model_path

    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise MissingDependencyError("sentence-transformers", "coverage clusters") from None
    model = SentenceTransformer(bundled_model_path(), device="cpu")

    def encode(texts: list[str]) -> np.ndarray:
        vectors = model.encode(texts, batch_size=64, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)

    return encode

"""Near-duplicate search that scales: vectorised MinHash over character shingles, LSH
banding, and word n-gram hashes, all in numpy (no all-pairs comparison, no Python
loop over shingles).

Texts are normalised (NFKC, lower case, punctuation to spaces), cut into
character ``SHINGLE``-grams hashed with splitmix64, and each of ``NUM_PERM``
universal hashes keeps its minimum: the fraction of equal signature entries of two
texts estimates the Jaccard similarity of their shingle sets. LSH splits the
signature into ``BANDS`` bands of ``ROWS`` values; texts that agree on a whole band
become candidates, which are then checked on the full signature.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence

import numpy as np

SHINGLE = 5
NUM_PERM = 125
BANDS = 25
ROWS = 5
MAX_BUCKET = 64
"""Most partners one text takes from one LSH bucket (a degenerate bucket cannot explode)."""
_CHUNK_SHINGLES = 200_000
_NON_WORD = re.compile(r"[\W_]+")


def normalize(text: str | None) -> str:
    """NFKC, lower case, every run of non-word characters to one space, trimmed."""
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text or "").lower()).strip()


def splitmix64(values: np.ndarray) -> np.ndarray:
    """A strong 64-bit mix of each value (uint64 in, uint64 out)."""
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def shingle_hashes(texts: Sequence[str], k: int = SHINGLE) -> tuple[np.ndarray, np.ndarray]:
    """The hashed character k-grams of normalised texts, flattened, and their count per text.

    A non-empty text shorter than k is padded to one shingle; an empty one has none.
    """
    encoded = [t.encode() for t in texts]
    lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
    padded = [b.ljust(k) if 0 < len(b) < k else b for b in encoded]
    lengths = np.maximum(lengths, np.where(lengths > 0, k, 0))
    buffer = np.frombuffer(b"".join(padded) + b"\0" * k, dtype=np.uint8).astype(np.uint64)
    total = int(lengths.sum())
    value = np.zeros(total, dtype=np.uint64)
    for j in range(k):
        value |= buffer[j : j + total] << np.uint64(8 * j)
    ends = np.cumsum(lengths)
    row = np.repeat(np.arange(len(texts)), lengths)
    position = np.arange(total)
    valid = position + k <= ends[row] if total else np.zeros(0, dtype=bool)
    counts = np.maximum(lengths - k + 1, 0)
    return splitmix64(value[valid]), counts


def signatures(hashes: np.ndarray, counts: np.ndarray, num_perm: int = NUM_PERM) -> np.ndarray:
    """MinHash signatures (texts x num_perm, uint32); texts with no shingles get all-max rows."""
    rng = np.random.default_rng(1)
    a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    out = np.full((len(counts), num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    for lo, hi in _row_chunks(counts):
        rows = np.arange(lo, hi)
        rows = rows[counts[lo:hi] > 0]
        if rows.size == 0:
            continue
        first, last = starts[rows[0]], starts[rows[-1]] + counts[rows[-1]]
        with np.errstate(over="ignore"):
            mixed = hashes[first:last, None] * a
            mixed ^= b
        minima = np.minimum.reduceat(mixed, starts[rows] - first, axis=0)
        out[rows] = (minima >> np.uint64(32)).astype(np.uint32)
    return out


def band_keys(signature: np.ndarray, bands: int = BANDS, rows: int = ROWS) -> np.ndarray:
    """One uint64 key per (text, band): texts agreeing on a band share its key."""
    weights = splitmix64(np.arange(rows, dtype=np.uint64))
    keys = np.empty((signature.shape[0], bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for band in range(bands):
            block = signature[:, band * rows : (band + 1) * rows].astype(np.uint64)
            keys[:, band] = splitmix64((block * weights).sum(axis=1) + np.uint64(band))
    return keys


def candidates_between(query: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(query row, index row) pairs that share at least one band key, each pair once."""
    pairs: list[np.ndarray] = []
    for band in range(query.shape[1]):
        order = np.argsort(index[:, band], kind="stable")
        sorted_keys = index[order, band]
        left = np.searchsorted(sorted_keys, query[:, band], side="left")
        right = np.searchsorted(sorted_keys, query[:, band], side="right")
        sizes = np.minimum(right - left, MAX_BUCKET)
        hit = np.nonzero(sizes)[0]
        if hit.size == 0:
            continue
        q = np.repeat(hit, sizes[hit])
        offsets = np.arange(q.size) - np.repeat(np.cumsum(sizes[hit]) - sizes[hit], sizes[hit])
        t = order[left[q] + offsets]
        pairs.append(q.astype(np.int64) * index.shape[0] + t)
    if not pairs:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    unique = np.unique(np.concatenate(pairs))
    return unique // index.shape[0], unique % index.shape[0]


def candidates_within(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) pairs with i < j of rows that share at least one band key, each pair once."""
    n = keys.shape[0]
    found: list[np.ndarray] = []
    for band in range(keys.shape[1]):
        left, right = candidates_between(keys[:, band : band + 1], keys[:, band : band + 1])
        keep = left < right
        found.append(left[keep] * n + right[keep])
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    unique = np.unique(np.concatenate(found))
    return unique // n, unique % n


def similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of row-aligned signatures."""
    return (a == b).mean(axis=1) if len(a) else np.zeros(0)


def word_ngrams(
    texts: Sequence[str], n: int, vocabulary: dict[str, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every word n-gram of normalised texts, and the text each comes from.

    ``vocabulary`` maps words to ids and grows; share it between the texts compared.
    """
    tokens = [t.split() for t in texts]
    lengths = np.fromiter((len(t) for t in tokens), dtype=np.int64, count=len(tokens))
    ids = np.fromiter(
        (vocabulary.setdefault(w, len(vocabulary)) for ts in tokens for w in ts),
        dtype=np.uint64,
        count=int(lengths.sum()),
    )
    mixed = splitmix64(ids)
    grams = np.maximum(lengths - n + 1, 0)
    total = int(grams.sum())
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    gram_row = np.repeat(np.arange(len(texts)), grams)
    first_gram = np.concatenate([[0], np.cumsum(grams)[:-1]]).astype(np.int64)
    position = starts[gram_row] + (np.arange(total) - first_gram[gram_row])
    value = np.zeros(total, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):
            value = value * np.uint64(0x100000001B3) + mixed[position + j]
    return value, gram_row


def _row_chunks(counts: np.ndarray) -> Iterator[tuple[int, int]]:
    """Row ranges holding about _CHUNK_SHINGLES shingles each."""
    cumulative = np.cumsum(counts)
    lo = 0
    while lo < len(counts):
        base = cumulative[lo - 1] if lo else 0
        hi = int(np.searchsorted(cumulative, base + _CHUNK_SHINGLES, side="right"))
        hi = max(hi, lo + 1)
        yield lo, min(hi, len(counts))
        lo = hi

"""Content hashes that identify weights, adapters and tokenizers.

Hashing a large weights file takes a moment, so digests are remembered in a
small JSON file keyed by the file's path, size and modification time: the same
file is read once, a changed file is read again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path


def cache_root() -> Path:
    """Where assay keeps derived files (digests, converted GGUF weights)."""
    root = os.environ.get("ASSAY_CACHE_DIR")
    return Path(root) if root else Path.home() / ".cache" / "assay"


def text_digest(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def file_digest(path: Path) -> str:
    """sha256 (first 16 hex) of a file's content, remembered across processes."""
    path = path.resolve()
    stat = path.stat()
    memo_key = f"{path}:{stat.st_size}:{stat.st_mtime_ns}"
    memo_file = cache_root() / "digests.json"
    memo = _read_memo(memo_file)
    if memo_key in memo:
        return memo[memo_key]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()[:16]
    memo[memo_key] = value
    _write_memo(memo_file, memo)
    return value


def folder_digest(folder: Path, patterns: Iterable[str]) -> str:
    """One digest over the files of a folder matching the patterns (weights, configs)."""
    files = sorted({p for pattern in patterns for p in folder.glob(pattern) if p.is_file()})
    return text_digest(*(f"{p.name}={file_digest(p)}" for p in files))


def _read_memo(memo_file: Path) -> dict[str, str]:
    try:
        data = json.loads(memo_file.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_memo(memo_file: Path, memo: dict[str, str]) -> None:
    try:
        memo_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = memo_file.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(memo))
        temporary.replace(memo_file)
    except OSError:
        pass  # a read-only home only costs re-hashing next time

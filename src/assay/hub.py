"""Reaching the Hugging Face hub, or knowing at once that it cannot be reached.

Without a network, transformers and datasets retry a hub download with backoff for
tens of seconds before they fail with a message about something else. assay asks
first: is the hub's host reachable (one TCP connection, a few seconds at most)? If
it is, the libraries go ahead as usual. If it is not, what the local cache holds is
used offline, and anything it does not hold fails at once with a message that says
so. Users with internet see no difference.
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

from assay.exceptions import ModelError

PROBE_SECONDS = 3.0
"""Longest wait for the hub's host to accept a connection."""


def endpoint() -> str:
    """The hub's address: $HF_ENDPOINT, else huggingface.co."""
    return os.environ.get("HF_ENDPOINT") or "https://huggingface.co"


@functools.cache
def reachable() -> bool:
    """Whether the hub's host accepts a TCP connection (asked once per process)."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    url = urlparse(endpoint())
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=PROBE_SECONDS):
            return True
    except OSError:
        return False


def model_files_offline(repo_id: str, spec: str) -> bool:
    """Whether a hub model must load from the local cache alone (``local_files_only``).

    Raises:
        ModelError: The hub cannot be reached and the model is not in the local cache.
    """
    if reachable():
        return False
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(repo_id, "config.json")
    if isinstance(cached, str):
        return True
    raise ModelError(
        f"{spec}: '{repo_id}' is not in the local hub cache, and the hub ({endpoint()}) "
        "cannot be reached from here; connect to the internet, set HF_ENDPOINT to a "
        "mirror, or give a local folder (hf:./path)"
    )


@contextmanager
def datasets_offline_unless_reachable() -> Iterator[bool]:
    """Within it, `datasets` reads only its local cache when the hub cannot be reached
    (instead of retrying for tens of seconds); yields whether the hub is reachable."""
    if reachable():
        yield True
        return
    import datasets

    before = datasets.config.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = True
    try:
        yield False
    finally:
        datasets.config.HF_HUB_OFFLINE = before

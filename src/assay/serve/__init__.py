"""`assay serve`: any assay model behind an OpenAI-compatible API, with request batching."""

from __future__ import annotations

from assay.serve.app import ServeOptions, create_app
from assay.serve.server import BackgroundServer, serve

__all__ = ["BackgroundServer", "ServeOptions", "create_app", "serve"]

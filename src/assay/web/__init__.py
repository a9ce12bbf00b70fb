"""The review web app: runs, examples with labels, blind pairwise votes, leaderboard.

A thin FastAPI layer over :mod:`assay.review` and :mod:`assay.arena`; pages are
rendered on the server with Jinja2 (autoescape on) and a little JavaScript for
keyboard shortcuts. Start it with ``assay review`` or :func:`create_app`.
"""

from __future__ import annotations

from assay.web.app import create_app
from assay.web.security import LOOPBACK, check_bind, check_port, check_token

__all__ = ["LOOPBACK", "check_bind", "check_port", "check_token", "create_app"]

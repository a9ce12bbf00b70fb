"""The run store: runs, their results and scores, and the generation and log-likelihood
caches, in SQL.

SQLite by default (.assay/assay.db, or $ASSAY_DB), PostgreSQL by URL.
"""

from assay.store.connection import DEFAULT_URL, resolve_url
from assay.store.store import RunFilter, Store, open_store

__all__ = ["DEFAULT_URL", "RunFilter", "Store", "open_store", "resolve_url"]

"""The run store: runs, their results and scores, and the generation cache, in SQL.

SQLite by default (.assay/assay.db, or $ASSAY_DB), PostgreSQL by URL.
"""

from assay.store.engine import DEFAULT_URL, resolve_url
from assay.store.store import Store, open_store

__all__ = ["DEFAULT_URL", "Store", "open_store", "resolve_url"]

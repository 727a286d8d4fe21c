"""kg: the fact store. ``open_store(config)`` is the one entry point the other stages use.

Example:
    >>> from kg import StoreConfig, open_store          # doctest: +SKIP
    >>> with open_store(StoreConfig()) as store:         # doctest: +SKIP
    ...     print(store.stats())
"""

from __future__ import annotations

from kg.bolt import BoltFactStore
from kg.config import StoreConfig
from kg.embedded import EmbeddedServer
from kg.errors import DocumentNotFound, StoreBusy, StoreError, StoreUnavailable
from kg.store import FactStore
from kg.types import DeleteSummary, DocumentInfo, Edge, StoredFact, StoreStats, WriteOutcome

__all__ = [
    "BoltFactStore",
    "DeleteSummary",
    "DocumentInfo",
    "DocumentNotFound",
    "Edge",
    "EmbeddedServer",
    "FactStore",
    "StoreBusy",
    "StoreConfig",
    "StoreError",
    "StoreStats",
    "StoreUnavailable",
    "StoredFact",
    "WriteOutcome",
    "open_store",
]


def open_store(config: StoreConfig) -> FactStore:
    """Connect to the configured store and ensure its schema.

    Neo4j when ``config.neo4j_uri`` is set; else the embedded server, started first if needed.
    """
    if config.embedded:
        info = EmbeddedServer(config).ensure_running()
        store: FactStore = BoltFactStore(info.uri, ("root", info.password), config.database_name)
    else:
        if config.password is None:
            raise StoreUnavailable("FACTLOOM_NEO4J_PASSWORD is not set (needed with FACTLOOM_NEO4J_URI)")
        store = BoltFactStore(config.neo4j_uri or "", (config.user, config.password), config.database_name)
    try:
        store.ensure_schema()
    except BaseException:
        store.close()
        raise
    return store

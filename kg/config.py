"""Where the fact store lives. Built by ``app.settings`` from the environment / ``factloom.toml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StoreConfig:
    """How to reach the fact store.

    Args:
        neo4j_uri: a Bolt URI (``neo4j://host:7687``) of a Neo4j 5 server. When ``None`` the embedded ArcadeDB
            server under ``data_dir`` is used (and started on first use).
        user, password: credentials for ``neo4j_uri``; the embedded server makes and keeps its own.
        database: database name; default ``neo4j`` for Neo4j and ``factloom`` for the embedded server.
        data_dir: the embedded server's directory (databases, credentials, log, pid/state files).
        bolt_port, http_port: the embedded server's loopback ports.
        heap: the embedded server's JVM heap size.
        start_timeout_s: how long to wait for the embedded server to accept connections.
        autostart: start the embedded server when it is not running (else fail with a clear message).
    """

    neo4j_uri: str | None = None
    user: str = "neo4j"
    password: str | None = None
    database: str | None = None
    data_dir: Path = Path(".factloom")
    bolt_port: int = 17687
    http_port: int = 12480
    heap: str = "2g"
    start_timeout_s: float = 120.0
    autostart: bool = True

    @property
    def embedded(self) -> bool:
        return not self.neo4j_uri

    @property
    def database_name(self) -> str:
        if self.database:
            return self.database
        return "factloom" if self.embedded else "neo4j"

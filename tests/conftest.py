"""Shared fixtures: one real embedded store server per test session (or Neo4j when FACTLOOM_NEO4J_URI is set),
and a private one (``private_store``) for a test whose command acts on everything stored.

Tests never wipe the store: each test writes documents whose ids are unique to it and asserts on what it
wrote (or on deltas), so the same suite is safe to run against a real Neo4j.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg import EmbeddedServer, FactStore, StoreConfig, open_store

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "patents"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def embedded_server(data_dir: Path) -> Iterator[StoreConfig]:
    """A fresh embedded server in ``data_dir`` on free loopback ports, stopped on exit."""
    config = StoreConfig(data_dir=data_dir, bolt_port=free_port(), http_port=free_port(), heap="1g")
    server = EmbeddedServer(config)
    server.start()
    try:
        yield config
    finally:
        server.stop()


@pytest.fixture(scope="session")
def store_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreConfig]:
    """The store every test shares: Neo4j when FACTLOOM_NEO4J_URI is set, else a fresh embedded server."""
    uri = os.environ.get("FACTLOOM_NEO4J_URI")
    if uri:
        yield StoreConfig(
            neo4j_uri=uri,
            user=os.environ.get("FACTLOOM_NEO4J_USER", "neo4j"),
            password=os.environ.get("FACTLOOM_NEO4J_PASSWORD"),
            database=os.environ.get("FACTLOOM_NEO4J_DATABASE"),
        )
        return
    with embedded_server(tmp_path_factory.mktemp("store")) as config:
        yield config


@pytest.fixture(scope="session")
def store(store_config: StoreConfig) -> Iterator[FactStore]:
    with open_store(store_config) as opened:
        yield opened


def env_for(config: StoreConfig) -> dict[str, str]:
    """Environment for a ``factloom`` subprocess that talks to the store of ``config`` (offline hub)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACTLOOM_")}
    if config.embedded:
        env.update(
            FACTLOOM_DATA_DIR=str(config.data_dir),
            FACTLOOM_BOLT_PORT=str(config.bolt_port),
            FACTLOOM_HTTP_PORT=str(config.http_port),
        )
    else:
        env.update({k: v for k, v in os.environ.items() if k.startswith("FACTLOOM_NEO4J_")})
    env["HF_HUB_OFFLINE"] = "1"
    return env


@pytest.fixture
def store_env(store_config: StoreConfig) -> dict[str, str]:
    """Environment for a ``factloom`` subprocess that talks to the session's store."""
    return env_for(store_config)


@pytest.fixture
def private_store(tmp_path: Path) -> Iterator[tuple[FactStore, dict[str, str]]]:
    """A fresh embedded store of the test's own, and the environment that reaches it: for a command that
    acts on everything stored (``factloom extract``), which on the shared store would read every other
    test's sentences (and, against Neo4j, write into that database)."""
    with embedded_server(tmp_path / "store") as config, open_store(config) as opened:
        yield opened, env_for(config)


@pytest.fixture
def unique() -> str:
    """A short token to make a test's documents and entities its own."""
    return uuid.uuid4().hex[:10]

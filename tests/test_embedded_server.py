"""Lifecycle of the embedded ArcadeDB server: start, share, refuse a second server, stop cleanly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import free_port

from kg import EmbeddedServer, StoreBusy, StoreConfig, StoreUnavailable, open_store
from kg.embedded_main import EXIT_BUSY


@pytest.fixture
def config(tmp_path: Path) -> StoreConfig:
    return StoreConfig(data_dir=tmp_path / "data", bolt_port=free_port(), http_port=free_port(), heap="512m")


def test_start_share_refuse_stop(config: StoreConfig) -> None:
    server = EmbeddedServer(config)
    assert server.status() is None
    info = server.start()
    try:
        assert info.uri == f"bolt://127.0.0.1:{config.bolt_port}"
        assert (config.data_dir / "credentials").stat().st_mode & 0o077 == 0  # the password is private
        # a second handle (another process would do the same) finds it running and shares it
        assert EmbeddedServer(config).ensure_running() == info
        with pytest.raises(StoreBusy, match="already runs"):
            EmbeddedServer(config).start()
        # a raw second server process on the same data refuses to start, with a clear message
        other = subprocess.run(
            [
                sys.executable,
                "-m",
                "kg.embedded_main",
                "--data-dir",
                str(config.data_dir),
                "--bolt-port",
                str(free_port()),
                "--http-port",
                str(free_port()),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert other.returncode == EXIT_BUSY
        assert "already runs on" in other.stderr
        with open_store(config) as store:
            assert store.stats().documents == 0
    finally:
        assert server.stop() is True
    assert server.status() is None
    assert not (config.data_dir / "server.json").exists()
    assert server.stop() is False  # stopping twice is harmless


def test_data_survives_restart(config: StoreConfig) -> None:
    from test_store_contract import make_document

    doc = make_document("restart", ["The lid covers the bowl."])
    with open_store(config) as store:  # autostart on first use
        store.write_document(doc)
    server = EmbeddedServer(config)
    server.stop()
    with open_store(config) as store:
        assert store.sentences(doc.id) == list(doc.sentences)
    server.stop()


def test_no_autostart_gives_clear_error(config: StoreConfig) -> None:
    from dataclasses import replace

    with pytest.raises(StoreUnavailable, match="factloom store start"):
        open_store(replace(config, autostart=False))


def test_port_taken_gives_clear_error(config: StoreConfig) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", config.bolt_port))
        sock.listen()
        with pytest.raises(StoreUnavailable, match="taken by another program"):
            EmbeddedServer(config).start()


def test_unreachable_neo4j_gives_clear_error() -> None:
    config = StoreConfig(neo4j_uri=f"bolt://127.0.0.1:{free_port()}", password="x")
    with pytest.raises(StoreUnavailable, match="cannot reach the graph store"):
        open_store(config)

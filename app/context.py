"""What every command shares: the global ``--data-dir`` option, the settings, and opening the store."""

from __future__ import annotations

from pathlib import Path

from app.settings import Settings, load_settings
from kg import open_store
from kg.store import FactStore


class CommandContext:
    """Set once by the ``factloom`` callback from global options; read by every command."""

    data_dir: Path | None = None


def settings() -> Settings:
    return load_settings(data_dir=CommandContext.data_dir)


def store() -> FactStore:
    """The configured store (the embedded server is started if needed); use it as a context manager."""
    return open_store(settings().store_config())

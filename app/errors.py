"""Errors raised by the app layer (see ``ingest.errors`` for the whole tree)."""

from __future__ import annotations

from ingest.errors import FactloomError


class ConfigError(FactloomError):
    """A setting is missing or invalid; the message names it."""

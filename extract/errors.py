"""Errors of the extract stage (children of :class:`ingest.errors.FactloomError`)::

FactloomError
└── ExtractError            extraction could not run
    ├── ExtractDataError    a training/eval/input record is malformed (names ``file:line`` and the field)
    └── ModelLoadError      a model folder is missing files or does not match its config
"""

from __future__ import annotations

from ingest.errors import FactloomError


class ExtractError(FactloomError):
    """Base class of extract-stage errors."""


class ExtractDataError(ExtractError):
    """A record could not be used. ``str()`` is ``"<where>: <reason>"`` on one line."""

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = " ".join(reason.split())
        super().__init__(f"{where}: {self.reason}")

    def __reduce__(self) -> tuple[type[ExtractDataError], tuple[str, str]]:
        return (type(self), (self.where, self.reason))


class ModelLoadError(ExtractError):
    """A model folder cannot be loaded (missing files, wrong design name, config mismatch)."""

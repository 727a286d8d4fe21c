"""The exception tree every stage extends.

``FactloomError`` is the one base class callers catch. Each stage adds its own subclasses next to the code
that raises them (``kg.errors.StoreError``, ...), so the tree stays small and documented where it is used::

    FactloomError
    ├── IngestError            a file could not be turned into documents (names the file and the reason)
    ├── ExtractError           (extract) extraction could not run
    │   ├── ExtractDataError   a training/eval/input record is malformed (names file:line and the field)
    │   └── ModelLoadError     a model folder is missing files or does not match its design
    ├── StoreError             (kg) the fact store failed or refused a request
    │   ├── StoreUnavailable   the server could not be reached or started
    │   └── DocumentNotFound   a delete or lookup named a document the store does not hold
    └── ConfigError            (app) a setting is missing or invalid
"""

from __future__ import annotations

from pathlib import Path


class FactloomError(Exception):
    """Base class of every error Factloom raises on purpose."""


class IngestError(FactloomError):
    """A file (or one record of it) could not be parsed.

    Args:
        source: the file that failed; for a record inside a file, ``path:line``.
        reason: one line saying what is wrong, for a human.

    Example:
        >>> str(IngestError("a/b.xml", "not well-formed XML (line 3)"))
        'a/b.xml: not well-formed XML (line 3)'
    """

    def __init__(self, source: str | Path, reason: str) -> None:
        self.source = str(source)
        # One line, always: reasons are logged and shown in tables, and lxml/OS messages may hold newlines.
        self.reason = " ".join(reason.split())
        super().__init__(f"{self.source}: {self.reason}")

    def __reduce__(self) -> tuple[type[IngestError], tuple[str, str]]:
        # Exceptions pickle their ``args``; ours has two named fields, so say how to rebuild it.
        return (type(self), (self.source, self.reason))

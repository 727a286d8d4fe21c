"""The parser contract and the byte-level checks every parser shares.

A parser turns one file into :class:`~ingest.types.ParsedDocument` values. Two kinds of failure are kept
apart, because a caller treats them differently:

* **the whole file is unusable** (unreadable, binary, empty, not UTF-8, one XML document that is not
  well-formed): ``parse`` *raises* :class:`~ingest.errors.IngestError`;
* **one record inside a file is bad** (a JSON line, one patent of a concatenated bulk file): ``parse``
  *yields* the :class:`~ingest.errors.IngestError` in place of that record and carries on with the rest.

So ``parse`` yields ``ParsedDocument | IngestError`` (:data:`ParseResult`). :func:`ingest.walk.load` folds
both kinds into one stream, which is what most callers want.
"""

from __future__ import annotations

import codecs
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from ingest.errors import IngestError
from ingest.types import ParsedDocument

#: What ``Parser.parse`` yields: a document, or the error that replaced one bad record.
ParseResult = ParsedDocument | IngestError

#: How many leading bytes :meth:`Parser.sniff` is shown.
SNIFF_BYTES = 8192


class Parser(ABC):
    """Base class of a format parser.

    Subclasses set :attr:`name` (the registry key used in configuration) and :attr:`suffixes` (lower-case
    file suffixes, with the dot), implement :meth:`parse`, and may override :meth:`sniff`.

    Example:
        >>> from ingest.parsers import parser_for
        >>> parser = parser_for(Path("notes.txt"))         # doctest: +SKIP
        >>> for item in parser.parse(Path("notes.txt")):   # doctest: +SKIP
        ...     print(item.title)  # doctest: +SKIP
    """

    name: ClassVar[str] = ""
    suffixes: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def sniff(cls, head: bytes) -> bool:
        """Whether the first bytes of a file look like this format (used when the suffix is unknown)."""
        return False

    @abstractmethod
    def parse(self, path: Path) -> Iterator[ParseResult]:
        """Yield the documents of ``path`` (and an IngestError for each bad record).

        Raises:
            IngestError: the file as a whole cannot be used.
        """


# --- shared byte-level checks ------------------------------------------------------------------------


def _os_error(path: Path, exc: OSError) -> IngestError:
    """Translate an OS error into a one-line, human reason."""
    if isinstance(exc, PermissionError):
        return IngestError(path, "permission denied")
    if isinstance(exc, IsADirectoryError):
        return IngestError(path, "is a directory, not a file")
    if isinstance(exc, FileNotFoundError):
        return IngestError(path, "broken symbolic link" if path.is_symlink() else "no such file")
    return IngestError(path, f"cannot read file: {exc.strerror or exc}")


def read_bytes(path: Path) -> bytes:
    """Read a whole file, turning every OS error into an :class:`IngestError` with a plain reason.

    Example:
        >>> read_bytes(Path("/nonexistent"))
        Traceback (most recent call last):
        ...
        ingest.errors.IngestError: /nonexistent: no such file
    """
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _os_error(path, exc) from None


def read_head(path: Path, size: int = SNIFF_BYTES) -> bytes:
    """Read the first ``size`` bytes (for sniffing), with the same error mapping as :func:`read_bytes`."""
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except OSError as exc:
        raise _os_error(path, exc) from None


def check_content(raw: bytes, source: str | Path) -> None:
    """Reject empty and binary files.

    A NUL byte is the binary signal (text formats never contain one). UTF-16/32 text also contains NULs;
    it gets its own message because converting it to UTF-8 is the fix.

    Raises:
        IngestError: ``empty file`` or ``binary file (NUL byte at offset N)``.
    """
    if not raw.strip():
        raise IngestError(source, "empty file" if not raw else "empty file (only whitespace)")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise IngestError(source, "UTF-16 text is not supported; convert the file to UTF-8")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise IngestError(source, f"binary file (NUL byte at offset {nul})")


def decode_utf8(raw: bytes, source: str | Path) -> str:
    """Decode strict UTF-8, dropping a leading byte-order mark.

    Strict, not ``errors="replace"``: silently inventing U+FFFD characters would put text into the graph
    that the file never held. The error names the byte offset in the file so the bad byte can be found.

    Example:
        >>> decode_utf8(b"\\xef\\xbb\\xbfhi", "a.txt")
        'hi'
        >>> decode_utf8(b"ok \\xff", "a.txt")
        Traceback (most recent call last):
        ...
        ingest.errors.IngestError: a.txt: invalid UTF-8 at byte offset 3
    """
    bom = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        return raw[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IngestError(source, f"invalid UTF-8 at byte offset {exc.start + bom}") from None


def read_text(path: Path) -> tuple[bytes, str]:
    """Read, check and decode a UTF-8 text file; returns ``(raw bytes, text)``.

    Line endings are normalised to ``\\n`` (``\\r\\n`` and lone ``\\r``).
    """
    raw = read_bytes(path)
    check_content(raw, path)
    text = decode_utf8(raw, path)
    return raw, text.replace("\r\n", "\n").replace("\r", "\n")

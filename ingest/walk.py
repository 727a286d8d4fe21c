"""Find input files and turn them into documents: the entry points callers use.

* :func:`iter_files` expands paths (files and directories) into the files to ingest.
* :func:`load` parses and sentence-splits one file.
* :func:`load_paths` does both for many paths (``iter_files`` + ``load`` when a caller needs per-file
  progress).

Nothing but :class:`~ingest.errors.IngestError` *values* come out for bad input: ``load`` and
``load_paths`` never raise for a bad file or record. Each error names the file (``path`` or
``path:line``) and gives a one-line reason: permission denied, is a directory, broken symbolic link,
empty file, binary file, invalid UTF-8 at byte offset N, not well-formed XML at line N, invalid JSON, ...

Encoding policy: text formats must be UTF-8 (a leading BOM is accepted and dropped). Decoding is strict —
an invalid byte is an error naming its offset rather than a silently replaced character. XML files use
the encoding their declaration names.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ingest.assemble import assemble
from ingest.errors import IngestError
from ingest.parsers import parser_for
from ingest.sentences import SentenceSplitter
from ingest.types import Document, ParsedDocument

#: File names skipped while walking a directory (case-insensitive globs): corpus paperwork, not content.
#: A file named explicitly in ``paths`` is never skipped.
CORPUS_METADATA: tuple[str, ...] = (
    "readme*", "license*", "licence*", "*_license*", "*-license*", "notice*", "copying*", "sources.md",
)  # fmt: skip


def iter_files(paths: Iterable[Path], *, skip_names: Iterable[str] = CORPUS_METADATA) -> Iterator[Path]:
    """Expand files and directories into the files to ingest.

    Directories are walked recursively, entries sorted by name at every level (so runs are reproducible
    and ``a/x`` comes before ``b.txt``). Hidden files and directories (name starts with ``.``) and corpus
    paperwork (:data:`CORPUS_METADATA`: README, LICENSE, SOURCES.md, ...) are skipped; symlinked
    directories are not followed (no link cycles). Nothing is silently lost: a path that is not a
    directory is yielded as given (even when missing or a broken link), and a directory that cannot be
    listed is yielded itself — :func:`load` turns each of these into an IngestError.

    Args:
        paths: files and/or directories.
        skip_names: case-insensitive glob patterns of file names to skip inside directories.

    Example:
        >>> [p.name for p in iter_files([Path("samples/patents")])][-3:]
        ['v4-5-B1.xml', 'v4-5-B2.xml', 'test.xml']
    """
    patterns = tuple(pattern.lower() for pattern in skip_names)

    def wanted(name: str) -> bool:
        lowered = name.lower()
        return not name.startswith(".") and not any(fnmatch.fnmatchcase(lowered, p) for p in patterns)

    def walk(directory: Path) -> Iterator[Path]:
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError:
            yield directory  # load() reports why it cannot be listed
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                yield from walk(Path(entry.path))
            elif entry.is_symlink() and entry.is_dir():
                continue  # a symlinked directory: not followed
            elif wanted(entry.name):
                yield Path(entry.path)

    for path in map(Path, paths):
        if path.is_dir():
            yield from walk(path)
        else:
            yield path


def load(
    path: Path,
    *,
    splitter: SentenceSplitter | None = None,
    jsonl_text_field: str = "text",
    kind: str | None = None,
) -> Iterator[Document | IngestError]:
    """Parse and sentence-split one file; bad files and bad records come out as IngestError values.

    Args:
        path: the file.
        splitter: sentence splitter (default: the shared one).
        jsonl_text_field: the JSON key holding the text, for JSON-lines files.
        kind: force a parser by name (``"text"``, ``"markdown"``, ``"jsonl"``, ``"log"``, ``"uspto"``).

    Example:
        >>> items = list(load(Path("samples/patents/test.xml")))
        >>> [(type(i).__name__, i.title) for i in items]
        [('Document', 'Wheeled hand truck'), ('Document', 'Middle mounted implement tractor')]
    """
    path = Path(path)
    if path.is_dir():
        yield _directory_error(path)
        return
    try:
        parser = parser_for(path, jsonl_text_field=jsonl_text_field, kind=kind)
        for item in parser.parse(path):
            yield item if isinstance(item, IngestError) else _assemble(item, splitter)
    except IngestError as exc:
        yield exc
    except Exception as exc:  # a parser bug must not stop the run; it is reported against the file
        yield IngestError(path, f"unexpected {type(exc).__name__}: {exc}")


def _directory_error(path: Path) -> IngestError:
    try:
        with os.scandir(path):
            pass
    except OSError as exc:
        return IngestError(path, f"cannot list directory: {exc.strerror or exc}")
    return IngestError(path, "is a directory, not a file")


def _assemble(parsed: ParsedDocument, splitter: SentenceSplitter | None) -> Document | IngestError:
    try:
        document = assemble(parsed, splitter)
    except Exception as exc:
        return IngestError(parsed.source, f"sentence splitting failed: {type(exc).__name__}: {exc}")
    if not document.sentences:
        return IngestError(parsed.source, "no text found")
    return document


def load_paths(
    paths: Iterable[Path],
    *,
    splitter: SentenceSplitter | None = None,
    jsonl_text_field: str = "text",
    kind: str | None = None,
    skip_names: Iterable[str] = CORPUS_METADATA,
) -> Iterator[Document | IngestError]:
    """Ingest files and directories: :func:`iter_files` + :func:`load`, one stream of results.

    Args:
        paths: files and/or directories.
        splitter, jsonl_text_field, kind: passed to :func:`load`.
        skip_names: passed to :func:`iter_files`.

    Example:
        >>> documents, errors = [], []
        >>> for item in load_paths([Path("samples/patents")]):
        ...     (errors if isinstance(item, IngestError) else documents).append(item)
        >>> len(documents), errors
        (16, [])
    """
    for path in iter_files(paths, skip_names=skip_names):
        yield from load(path, splitter=splitter, jsonl_text_field=jsonl_text_field, kind=kind)

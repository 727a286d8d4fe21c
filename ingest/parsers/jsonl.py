"""JSON lines (``.jsonl``, ``.ndjson``): one document per line.

Each line is a JSON object. The text lives in a configurable field (``text_field``, default ``"text"``)
and is split into ``"body"`` paragraphs on blank lines, like a ``.txt`` file. A string ``"title"`` field
becomes the title; every other field (``"id"`` included) is copied into ``metadata``. The source of each
document is ``path:lineno`` (1-based).

A bad line does not stop the file: it is *yielded* as an :class:`~ingest.errors.IngestError` whose
source is ``path:lineno`` and whose reason says what is wrong (invalid JSON, not an object, text field
missing or not a string, empty text, invalid UTF-8). Blank lines are skipped silently.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.errors import IngestError
from ingest.parsers.base import Parser, ParseResult, check_content, read_bytes
from ingest.parsers.text import TITLE_MAX, split_paragraphs
from ingest.types import Paragraph, ParsedDocument


class JsonlParser(Parser):
    """One document per JSON line; bad lines are yielded as errors, the rest still parse.

    Args:
        text_field: the JSON key that holds the document text.

    Example:
        >>> parser = JsonlParser(text_field="sentence")
        >>> for item in parser.parse(Path("facts.jsonl")):  # doctest: +SKIP
        ...     if isinstance(item, IngestError):  # doctest: +SKIP
        ...         print("skipped", item)  # e.g. "facts.jsonl:7: invalid JSON (...)"  # doctest: +SKIP
    """

    name = "jsonl"
    suffixes = (".jsonl", ".ndjson")

    def __init__(self, text_field: str = "text") -> None:
        self.text_field = text_field

    def parse(self, path: Path) -> Iterator[ParseResult]:
        raw = read_bytes(path)
        check_content(raw, path)
        if raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        for lineno, line in enumerate(raw.split(b"\n"), start=1):
            if line.strip():
                yield self._record(path, lineno, line.removesuffix(b"\r"))

    def _record(self, path: Path, lineno: int, line: bytes) -> ParseResult:
        """Parse one line into a document, or the error that explains why it cannot be one."""
        source = f"{path}:{lineno}"
        try:
            record: Any = json.loads(line.decode("utf-8"))
        except UnicodeDecodeError as exc:
            return IngestError(source, f"invalid UTF-8 at byte {exc.start} of the line")
        except json.JSONDecodeError as exc:
            return IngestError(source, f"invalid JSON ({exc.msg} at column {exc.colno})")
        if not isinstance(record, dict):
            return IngestError(source, f"expected a JSON object, got {type(record).__name__}")
        if self.text_field not in record:
            return IngestError(source, f"missing text field {self.text_field!r}")
        text = record[self.text_field]
        if not isinstance(text, str):
            return IngestError(
                source, f"text field {self.text_field!r} is {type(text).__name__}, not a string"
            )
        paragraphs = tuple(Paragraph("body", p) for p in split_paragraphs(text.replace("\r\n", "\n")))
        if not paragraphs:
            return IngestError(source, f"text field {self.text_field!r} is empty")
        title = record.get("title")
        title = " ".join(title.split())[:TITLE_MAX] if isinstance(title, str) else ""
        metadata = {k: v for k, v in record.items() if k not in (self.text_field, "title")}
        return ParsedDocument(
            source=source, raw=line, title=title, paragraphs=paragraphs, kind=self.name, metadata=metadata
        )

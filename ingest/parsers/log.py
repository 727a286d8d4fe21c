"""Log files (``.log``): every non-empty line is one paragraph and one sentence, section ``"log"``.

Line text is kept exactly (only the line ending is removed), because log lines are matched and quoted
verbatim later. The title is the file name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ingest.parsers.base import Parser, ParseResult, check_content, decode_utf8, read_bytes
from ingest.types import Paragraph, ParsedDocument


class LogParser(Parser):
    """One document per file, one ``"log"`` paragraph per non-empty line.

    Example:
        >>> doc = next(LogParser().parse(Path("app.log")))  # doctest: +SKIP
        >>> [p.text for p in doc.paragraphs]  # doctest: +SKIP
        ['2024-01-01 start', '2024-01-01 stop']
    """

    name = "log"
    suffixes = (".log",)

    def parse(self, path: Path) -> Iterator[ParseResult]:
        raw = read_bytes(path)
        check_content(raw, path)
        text = decode_utf8(raw, path)
        # Split on "\n" only (not str.splitlines, which also breaks on \x0c, \x1c, U+2028, ...),
        # then drop the "\r" of a CRLF ending: the rest of the line is kept byte for byte.
        lines = (line.removesuffix("\r") for line in text.split("\n"))
        paragraphs = tuple(Paragraph("log", line) for line in lines if line.strip())
        yield ParsedDocument(
            source=str(path), raw=raw, title=path.name, paragraphs=paragraphs, kind=self.name
        )

"""Plain text (``.txt``): paragraphs are separated by blank lines.

Hard-wrapped lines inside a paragraph are joined with one space, so a sentence that the author wrapped
at 80 columns is still one sentence. Every paragraph gets the section ``"body"``; the title is the first
non-empty line (trimmed, at most :data:`TITLE_MAX` characters).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ingest.parsers.base import Parser, ParseResult, read_text
from ingest.types import Paragraph, ParsedDocument

TITLE_MAX = 200

_BLANK_LINE = re.compile(r"\n[ \t\f\v]*\n")
_LINE_BREAK = re.compile(r"[ \t]*\n[ \t]*")


def split_paragraphs(text: str) -> list[str]:
    """Split text on blank lines and unwrap each paragraph's line breaks.

    Example:
        >>> split_paragraphs("One\\nline.\\n\\n  \\nTwo.\\n")
        ['One line.', 'Two.']
    """
    paragraphs = (_LINE_BREAK.sub(" ", block).strip() for block in _BLANK_LINE.split(text))
    return [p for p in paragraphs if p]


def first_line_title(text: str) -> str:
    """The first non-empty line, trimmed to :data:`TITLE_MAX` characters ("" if there is none)."""
    for line in text.split("\n"):
        if line.strip():
            return line.strip()[:TITLE_MAX].rstrip()
    return ""


class TextParser(Parser):
    """One document per file; paragraphs split on blank lines, section ``"body"``.

    Example:
        >>> doc = next(TextParser().parse(Path("notes.txt")))  # doctest: +SKIP
        >>> doc.paragraphs[0].section  # doctest: +SKIP
        'body'
    """

    name = "text"
    suffixes = (".txt", ".text")

    def parse(self, path: Path) -> Iterator[ParseResult]:
        raw, text = read_text(path)
        paragraphs = tuple(Paragraph("body", p) for p in split_paragraphs(text))
        yield ParsedDocument(
            source=str(path), raw=raw, title=first_line_title(text), paragraphs=paragraphs, kind=self.name
        )

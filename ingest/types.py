"""Documents and sentences: the data Factloom is born with.

A parser turns a file into :class:`ParsedDocument` values (title, metadata and labelled paragraphs);
:func:`ingest.assemble.assemble` joins the paragraphs into one document text and splits it into
:class:`Sentence` values whose ``start``/``end`` are character offsets into ``Document.text``. Every later
stage refers to a sentence by :attr:`Sentence.id`, so provenance can always be traced back to a
character range of the document.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

#: Section labels used by the bundled parsers. Free text is allowed; these are the conventional ones.
SECTIONS = ("title", "abstract", "claims", "description", "body", "log")


def content_id(raw: bytes) -> str:
    """The id of a document: the first 16 hex digits of the SHA-256 of its raw bytes.

    Re-ingesting the same bytes gives the same id, which is how an unchanged document is recognised.
    """
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class Paragraph:
    """A block of text with its section label, as a parser found it (before sentence splitting)."""

    section: str
    text: str


@dataclass(frozen=True)
class ParsedDocument:
    """What a parser yields for one document.

    Args:
        source: where it came from (a path, or ``path:line`` for one record of a JSON-lines file).
        raw: the document's own bytes; their hash is the document id.
        title: a short human title ("" when the format has none).
        paragraphs: the text in reading order, each with its section label.
        kind: the parser's registry name (``"uspto"``, ``"text"``, ...).
        metadata: format-specific fields (patent number, kind code, dates, ...), JSON-serialisable.
    """

    source: str
    raw: bytes
    title: str
    paragraphs: tuple[Paragraph, ...]
    kind: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return content_id(self.raw)


@dataclass(frozen=True)
class Sentence:
    """One sentence of a document.

    ``start``/``end`` are ``[start, end)`` character offsets into the owning ``Document.text``, so
    ``document.text[s.start:s.end] == s.text`` always holds.
    """

    document_id: str
    index: int
    text: str
    section: str
    start: int
    end: int

    @property
    def id(self) -> str:
        return f"{self.document_id}:{self.index}"


@dataclass(frozen=True)
class Document:
    """A parsed, sentence-split document, ready to be written to the store.

    ``text`` is the paragraphs joined by blank lines; sentences point into it.
    """

    id: str
    source: str
    title: str
    kind: str
    text: str
    sentences: tuple[Sentence, ...]
    metadata: dict[str, Any] = field(default_factory=dict)

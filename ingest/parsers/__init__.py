"""Format parsers and the registry that picks one for a file.

``PARSERS`` maps the configuration name of a format to its class; :func:`parser_for` chooses by suffix
first and by content second:

=================== ================ ==========================================================
suffix              parser           notes
=================== ================ ==========================================================
``.txt .text``      ``text``         paragraphs split on blank lines, section ``body``
``.md .markdown``   ``markdown``     headings label sections, code fences dropped
``.jsonl .ndjson``  ``jsonl``        one document per line, text field configurable
``.log``            ``log``          one paragraph (and sentence) per non-empty line
``.xml``            ``uspto``        only when the content is USPTO patent XML; else an error
anything else       sniffed          patent XML → ``uspto``; UTF-8 text → ``text``; else an error
=================== ================ ==========================================================

Example:
    >>> from pathlib import Path
    >>> parser_for(Path("samples/patents/grant/v2-5-B2.xml")).name
    'uspto'
    >>> parser_for(Path("data.jsonl"), jsonl_text_field="sentence").text_field
    'sentence'
"""

from __future__ import annotations

import codecs
from pathlib import Path

from ingest.errors import IngestError
from ingest.parsers.base import SNIFF_BYTES, Parser, ParseResult, check_content, read_head
from ingest.parsers.jsonl import JsonlParser
from ingest.parsers.log import LogParser
from ingest.parsers.markdown import MarkdownParser
from ingest.parsers.text import TextParser
from ingest.parsers.uspto import UsptoParser

__all__ = ["PARSERS", "IngestError", "ParseResult", "Parser", "parser_for"]

#: Configuration name → parser class.
PARSERS: dict[str, type[Parser]] = {
    cls.name: cls for cls in (TextParser, MarkdownParser, JsonlParser, LogParser, UsptoParser)
}

_BY_SUFFIX: dict[str, type[Parser]] = {suffix: cls for cls in PARSERS.values() for suffix in cls.suffixes}


def _make(cls: type[Parser], jsonl_text_field: str) -> Parser:
    return JsonlParser(text_field=jsonl_text_field) if cls is JsonlParser else cls()


def parser_for(path: Path, *, jsonl_text_field: str = "text", kind: str | None = None) -> Parser:
    """Choose and build the parser for ``path``.

    Args:
        path: the file to parse. It is only opened when its suffix does not settle the format.
        jsonl_text_field: the JSON key holding the text, for JSON-lines files.
        kind: force a parser by its configuration name (a key of :data:`PARSERS`), skipping detection.

    Raises:
        IngestError: unknown ``kind``; an ``.xml`` file that is not USPTO patent XML; a file of unknown
            suffix that is neither patent XML nor UTF-8 text; or the file cannot be read for sniffing.
    """
    if kind is not None:
        if kind not in PARSERS:
            raise IngestError(path, f"unknown parser {kind!r}; choose one of {', '.join(sorted(PARSERS))}")
        return _make(PARSERS[kind], jsonl_text_field)

    suffix = path.suffix.lower()
    cls = _BY_SUFFIX.get(suffix)
    if cls is not None and cls is not UsptoParser:
        return _make(cls, jsonl_text_field)

    head = read_head(path)
    if UsptoParser.sniff(head):
        return UsptoParser()
    if len(head) < SNIFF_BYTES or b"\x00" in head:
        check_content(head, path)  # empty, binary or UTF-16: the same message whatever the suffix
    if cls is UsptoParser:
        raise IngestError(path, "XML file is not a USPTO patent document (no known patent root element)")
    # Incremental decoding: a character cut off at the end of the sniffed head is not an error.
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    bom = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    try:
        decoder.decode(head[bom:], final=len(head) < SNIFF_BYTES)
    except UnicodeDecodeError as exc:
        what = f"suffix {suffix!r}" if suffix else "no suffix"
        reason = f"not UTF-8 text (invalid byte at offset {exc.start + bom}) and unsupported {what}"
        raise IngestError(path, reason) from None
    return TextParser()

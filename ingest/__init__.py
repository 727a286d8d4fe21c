"""Ingest: turn files into sentence-split documents with character offsets.

The stage has three steps, each in its own module:

1. **parse** (:mod:`ingest.parsers`): a format parser turns a file into
   :class:`~ingest.types.ParsedDocument` values — title, metadata, paragraphs with section labels.
   Formats: ``text``, ``markdown``, ``jsonl``, ``log``, ``uspto`` (USPTO patent XML, all DTD generations).
2. **assemble** (:mod:`ingest.assemble`, :mod:`ingest.sentences`): paragraphs are joined into
   ``Document.text`` and split into :class:`~ingest.types.Sentence` values whose offsets point into it.
3. **walk** (:mod:`ingest.walk`): files and directories in, ``Document | IngestError`` out.

Typical use::

    from pathlib import Path
    from ingest import IngestError, load_paths

    for item in load_paths([Path("samples/patents")]):
        if isinstance(item, IngestError):
            print("skipped", item)          # "path[:line]: reason", one line
        else:
            store(item)                     # a Document

Importing this package is cheap: spaCy is only loaded when the first sentence splitter is built.
"""

from ingest.assemble import assemble
from ingest.errors import FactloomError, IngestError
from ingest.parsers import PARSERS, Parser, parser_for
from ingest.sentences import MAX_SENTENCE_CHARS, SentenceSplitter, default_splitter
from ingest.types import Document, Paragraph, ParsedDocument, Sentence
from ingest.walk import CORPUS_METADATA, iter_files, load, load_paths

__all__ = [
    "CORPUS_METADATA",
    "MAX_SENTENCE_CHARS",
    "PARSERS",
    "Document",
    "FactloomError",
    "IngestError",
    "Paragraph",
    "ParsedDocument",
    "Parser",
    "Sentence",
    "SentenceSplitter",
    "assemble",
    "default_splitter",
    "iter_files",
    "load",
    "load_paths",
    "parser_for",
]

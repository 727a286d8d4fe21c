"""Join a parsed document's paragraphs into one text and split it into sentences with offsets.

``Document.text`` is the paragraphs joined by ``"\\n\\n"``. Each sentence's ``start``/``end`` point into it,
so ``document.text[s.start:s.end] == s.text`` holds for every sentence. Sentences are stripped of
surrounding whitespace, empty ones are dropped, and none is longer than the splitter's ``max_chars``.
Paragraphs of the sections in :data:`UNSPLIT_SECTIONS` (``"title"``, ``"log"``) are one sentence each.
"""

from __future__ import annotations

from ingest.sentences import SentenceSplitter, default_splitter
from ingest.types import Document, ParsedDocument, Sentence

#: Sections whose paragraphs are never split into several sentences (only length-capped).
UNSPLIT_SECTIONS = frozenset({"title", "log"})

PARAGRAPH_SEPARATOR = "\n\n"


def assemble(doc: ParsedDocument, splitter: SentenceSplitter | None = None) -> Document:
    """Build the sentence-split :class:`~ingest.types.Document` of a parsed document.

    Args:
        doc: what a parser yielded.
        splitter: the sentence splitter; defaults to the shared :func:`~ingest.sentences.default_splitter`.

    Example:
        >>> from ingest.types import Paragraph
        >>> parsed = ParsedDocument("a.txt", b"raw", "Arm", (Paragraph("title", "Arm"),
        ...     Paragraph("body", "As shown in FIG. 1, the arm is attached. It bends.")), "text")
        >>> document = assemble(parsed)
        >>> [(s.section, s.text) for s in document.sentences]
        [('title', 'Arm'), ('body', 'As shown in FIG. 1, the arm is attached.'), ('body', 'It bends.')]
        >>> s = document.sentences[2]; document.text[s.start:s.end]
        'It bends.'
    """
    splitter = splitter or default_splitter()
    paragraphs = doc.paragraphs

    # Paragraph start offsets in the joined text.
    offsets, position = [], 0
    for paragraph in paragraphs:
        offsets.append(position)
        position += len(paragraph.text) + len(PARAGRAPH_SEPARATOR)

    to_split = [i for i, p in enumerate(paragraphs) if p.section not in UNSPLIT_SECTIONS]
    spans = dict(zip(to_split, splitter.split_many(paragraphs[i].text for i in to_split), strict=True))

    sentences: list[Sentence] = []
    for i, paragraph in enumerate(paragraphs):
        local = spans[i] if i in spans else splitter.whole(paragraph.text)
        for start, end in local:
            sentences.append(
                Sentence(
                    document_id=doc.id,
                    index=len(sentences),
                    text=paragraph.text[start:end],
                    section=paragraph.section,
                    start=offsets[i] + start,
                    end=offsets[i] + end,
                )
            )
    return Document(
        id=doc.id,
        source=doc.source,
        title=doc.title,
        kind=doc.kind,
        text=PARAGRAPH_SEPARATOR.join(p.text for p in paragraphs),
        sentences=tuple(sentences),
        metadata=dict(doc.metadata),
    )

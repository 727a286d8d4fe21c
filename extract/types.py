"""Facts as an extractor produces them: the data the extract stage is born with.

A fact is ``head :: relation :: tail`` read from one sentence. It carries everything needed to show where it
came from: the sentence and document ids, character spans of each part inside the sentence, a confidence in
[0, 1], and the name and version of the extractor that produced it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Span = tuple[int, int]
"""A ``[start, end)`` character range inside a sentence's text."""


@dataclass(frozen=True)
class ExtractedFact:
    """One fact read from one sentence.

    Args:
        head, relation, tail: the surface text of each part, as it reads in the sentence.
        confidence: the extractor's probability that the fact is right, in [0, 1].
        document_id, sentence_id: where the sentence lives (``Sentence.document_id`` / ``Sentence.id``).
        head_span, tail_span: ``[start, end)`` offsets of head and tail inside the sentence text.
        relation_spans: the pieces of the relation in order (a relation may be discontinuous, e.g.
            ``is mounted ... on``); empty when the relation is not a span of the sentence.
        extractor, extractor_version: who made the fact; re-extraction with a new version is detectable.

    Example:
        >>> f = ExtractedFact("the arm", "is attached to", "the frame", 0.93, "d1", "d1:0",
        ...                   (0, 7), (19, 28), ((8, 18),), "patent-two-stage", "1")
        >>> f.head
        'the arm'
    """

    head: str
    relation: str
    tail: str
    confidence: float
    document_id: str
    sentence_id: str
    head_span: Span
    tail_span: Span
    relation_spans: tuple[Span, ...] = field(default_factory=tuple)
    extractor: str = "unknown"
    extractor_version: str = "0"

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence!r}")
        for name, span in (
            ("head_span", self.head_span),
            ("tail_span", self.tail_span),
            *(("relation_spans", s) for s in self.relation_spans),
        ):
            if len(span) != 2 or span[0] < 0 or span[1] < span[0]:
                raise ValueError(f"{name} must be a [start, end) pair with 0 <= start <= end, got {span!r}")

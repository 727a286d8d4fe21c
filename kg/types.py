"""What the store gives back: stored facts with their provenance, counts, write outcomes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from extract.types import Span


class WriteOutcome(StrEnum):
    """What :meth:`kg.store.FactStore.write_document` did."""

    NEW = "new"
    UNCHANGED = "unchanged"  # the same bytes were already stored: nothing was written
    REPLACED = "replaced"  # the same source had other content: the old version was deleted


@dataclass(frozen=True)
class StoreStats:
    documents: int
    sentences: int
    entities: int
    facts: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class StoredFact:
    """A fact as stored, with everything needed to show where it came from.

    ``head_span``/``tail_span``/``relation_spans`` are offsets inside ``sentence``; add ``sentence_start`` to
    get offsets inside the document text.
    """

    id: str
    head: str
    relation: str
    tail: str
    head_key: str
    relation_key: str
    tail_key: str
    confidence: float
    head_span: Span
    tail_span: Span
    relation_spans: tuple[Span, ...]
    extractor: str
    extractor_version: str
    document_id: str
    sentence_id: str
    sentence: str | None = None
    sentence_start: int | None = None
    section: str | None = None
    source: str | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["head_span"] = list(self.head_span)
        data["tail_span"] = list(self.tail_span)
        data["relation_spans"] = [list(s) for s in self.relation_spans]
        return data


@dataclass(frozen=True)
class DocumentInfo:
    """A stored document, without its text."""

    id: str
    source: str
    title: str
    kind: str
    sentences: int

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Edge:
    """A fact as a graph edge, without provenance: what subgraph retrieval needs, cheap to fetch.

    ``head``/``tail`` are entity keys and ``relation`` is the relation key; ``id`` finds the full
    :class:`StoredFact`.
    """

    id: str
    head: str
    relation: str
    tail: str
    confidence: float


@dataclass(frozen=True)
class DeleteSummary:
    document_id: str
    sentences: int
    facts: int
    entities: int

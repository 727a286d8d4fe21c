"""The ``FactStore`` seam: everything the rest of Factloom asks of the graph store.

One implementation talks Cypher over Bolt (:class:`kg.bolt.BoltFactStore`, for both the embedded ArcadeDB
server and Neo4j 5). The contract tests in ``tests/test_store_contract.py`` define the behaviour.

Graph model (written down in ``docs/architecture.md``)::

    (:Document {id, source, title, kind, text, metadata})
        -[:HAS_SENTENCE]->(:Sentence {id, document_id, index, text, section, start, end})
    (:Entity {key, name})
        -[:FACT {id, relation, relation_key, confidence, spans, extractor, sentence_id, ...}]->(:Entity)
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator

from extract.types import ExtractedFact
from ingest.types import Document, Sentence
from kg.types import DeleteSummary, DocumentInfo, Edge, StoredFact, StoreStats, WriteOutcome


class FactStore(abc.ABC):
    """A provenance-keeping triple store. Use as a context manager, or call :meth:`close`."""

    @abc.abstractmethod
    def ensure_schema(self) -> None:
        """Create constraints and indexes; safe to call any number of times."""

    @abc.abstractmethod
    def write_document(self, document: Document) -> WriteOutcome:
        """Store a document and its sentences atomically (all or nothing).

        An unchanged document (same id) is left as it is. A document whose ``source`` is already stored with
        other content replaces that older version, its facts included, in the same transaction.
        """

    @abc.abstractmethod
    def has_document(self, document_id: str) -> bool: ...

    @abc.abstractmethod
    def documents(self, *, source: str | None = None, limit: int = 1000) -> list[DocumentInfo]:
        """Stored documents ordered by source; ``source`` keeps those whose source contains it."""

    @abc.abstractmethod
    def delete_document(self, document_id: str) -> DeleteSummary:
        """Remove a document, its sentences, its facts and the entities left without any fact.

        Raises:
            DocumentNotFound: no such document.
        """

    @abc.abstractmethod
    def write_facts(self, facts: Iterable[ExtractedFact]) -> int:
        """Store facts in batches; a fact already stored (same id) is not duplicated.

        Returns the number of facts written. Raises StoreError when a fact names a sentence not stored.
        """

    @abc.abstractmethod
    def facts(
        self,
        *,
        entity: str | None = None,
        relation: str | None = None,
        document_id: str | None = None,
        limit: int = 100,
    ) -> list[StoredFact]:
        """Facts with provenance. ``entity`` matches head or tail keys containing its normalised key;
        ``relation`` matches the normalised relation key exactly."""

    @abc.abstractmethod
    def neighbourhood(self, entity: str, *, hops: int = 2, limit: int = 500) -> list[Edge]:
        """Edges within ``hops`` of the entity whose key equals ``entity_key(entity)``, nearest first.

        At most ``limit`` edges; facts with provenance are one :meth:`facts` call away.
        """

    @abc.abstractmethod
    def iter_edges(self) -> Iterator[Edge]:
        """Every fact as an :class:`Edge` (entity and relation keys), streamed: the link-prediction graph."""

    @abc.abstractmethod
    def sentences(self, document_id: str) -> list[Sentence]:
        """The sentences of a document, in order."""

    @abc.abstractmethod
    def iter_sentences(self) -> Iterator[Sentence]:
        """Every stored sentence, document by document (one query per document)."""

    @abc.abstractmethod
    def sentences_to_extract(self, tag: str) -> Iterator[Sentence]:
        """Stored sentences not yet read by extractor ``tag`` (``name@version``), document by document."""

    @abc.abstractmethod
    def mark_extracted(self, sentence_ids: Iterable[str], tag: str) -> None:
        """Record that extractor ``tag`` has read these sentences (whether or not it found facts)."""

    @abc.abstractmethod
    def stats(self) -> StoreStats: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> FactStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

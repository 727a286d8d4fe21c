"""``FactStore`` over the official ``neo4j`` driver: one Cypher code path for ArcadeDB and Neo4j 5.

Writes go through batched ``UNWIND`` statements whose rows are plain lists (cheaper to pack than maps), in
explicit transactions. Queries never build Cypher from user text: filters are parameters.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import Any

import neo4j
from neo4j.exceptions import ConstraintError, Neo4jError, ServiceUnavailable

from extract.types import ExtractedFact, Span
from ingest.types import Document, Sentence
from kg import schema
from kg.errors import DocumentNotFound, StoreError, StoreUnavailable
from kg.keys import display_name, entity_key, fact_id, relation_key
from kg.store import FactStore
from kg.types import DeleteSummary, DocumentInfo, Edge, StoredFact, StoreStats, WriteOutcome

SENTENCE_BATCH = 2000
FACT_BATCH = 5000

_FACT_FIELDS = """h.name AS head, f.relation AS relation, t.name AS tail, h.key AS head_key,
    f.relation_key AS relation_key, t.key AS tail_key, f.id AS id, f.confidence AS confidence,
    f.head_span AS head_span, f.tail_span AS tail_span, f.relation_spans AS relation_spans,
    f.extractor AS extractor, f.extractor_version AS extractor_version, f.document_id AS document_id,
    f.sentence_id AS sentence_id"""


def _pairs(flat: Sequence[int] | None) -> tuple[Span, ...]:
    flat = list(flat or [])
    return tuple((flat[i], flat[i + 1]) for i in range(0, len(flat) - 1, 2))


def _fact_from_record(rec: dict[str, Any]) -> StoredFact:
    return StoredFact(
        id=rec["id"],
        head=rec["head"],
        relation=rec["relation"],
        tail=rec["tail"],
        head_key=rec["head_key"],
        relation_key=rec["relation_key"],
        tail_key=rec["tail_key"],
        confidence=float(rec["confidence"]),
        head_span=tuple(rec["head_span"]),
        tail_span=tuple(rec["tail_span"]),  # type: ignore[arg-type]
        relation_spans=_pairs(rec["relation_spans"]),
        extractor=rec["extractor"],
        extractor_version=rec["extractor_version"],
        document_id=rec["document_id"],
        sentence_id=rec["sentence_id"],
        sentence=rec.get("sentence"),
        sentence_start=rec.get("sentence_start"),
        section=rec.get("section"),
        source=rec.get("source"),
    )


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


@dataclass
class _Batch:
    """One batch of facts as UNWIND rows, ready to send."""

    rows: dict[str, list[Any]]  # fact id -> row (see the CREATE statement for the order)
    names: dict[str, str]  # entity key -> display name
    sentence_tags: dict[str, str]  # sentence id -> "extractor@version"

    @classmethod
    def prepare(cls, facts: list[ExtractedFact]) -> _Batch:
        batch = cls({}, {}, {})
        for f in facts:
            tag = f"{f.extractor}@{f.extractor_version}"
            fid = fact_id(f.sentence_id, f.head, f.relation, f.tail, f.head_span, f.tail_span, tag)
            hk, tk = entity_key(f.head), entity_key(f.tail)
            if not hk or not tk:
                raise StoreError(
                    f"fact {f.head!r} :: {f.relation!r} :: {f.tail!r} in sentence {f.sentence_id} "
                    "has an empty head or tail"
                )
            batch.names.setdefault(hk, display_name(f.head))
            batch.names.setdefault(tk, display_name(f.tail))
            if batch.sentence_tags.setdefault(f.sentence_id, tag) != tag:
                raise StoreError(f"one batch holds facts of sentence {f.sentence_id} from two extractors")
            batch.rows[fid] = [
                hk, tk, fid, f.relation, relation_key(f.relation), float(f.confidence), list(f.head_span),
                list(f.tail_span), [i for s in f.relation_spans for i in s], f.extractor, f.extractor_version,
                f.document_id, f.sentence_id,
            ]  # fmt: skip
        return batch


class BoltFactStore(FactStore):
    """A :class:`FactStore` on any Bolt server that speaks Cypher.

    Args:
        uri: ``bolt://`` or ``neo4j://`` URI.
        auth: ``(user, password)``.
        database: database name on the server.

    Example:
        >>> auth = ("neo4j", "secret")
        >>> with BoltFactStore("bolt://127.0.0.1:7687", auth, "neo4j") as store:  # doctest: +SKIP
        ...     print(store.stats())
    """

    def __init__(self, uri: str, auth: tuple[str, str], database: str) -> None:
        self.uri = uri
        self.database = database
        try:
            self._driver = neo4j.GraphDatabase.driver(uri, auth=auth)
            self._driver.verify_connectivity()
        except (ServiceUnavailable, OSError, ValueError) as exc:
            raise StoreUnavailable(f"cannot reach the graph store at {uri}: {exc}") from exc
        except Neo4jError as exc:
            raise StoreUnavailable(f"the graph store at {uri} refused the connection: {exc.message}") from exc

    # -- plumbing --------------------------------------------------------------------------------------
    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Driver errors as the store's own: a lost server, or ``<action> failed: <server message>``."""
        try:
            yield
        except ServiceUnavailable as exc:
            raise StoreUnavailable(f"lost the graph store at {self.uri}: {exc}") from exc
        except Neo4jError as exc:
            raise StoreError(f"{action} failed: {exc.message}") from exc

    def _read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        with self._errors("query"):
            records, _, _ = self._driver.execute_query(
                query, params, database_=self.database, routing_=neo4j.RoutingControl.READ
            )
        return [r.data() for r in records]

    def _write_tx(self, work: Any, action: str) -> Any:
        with self._errors(action), self._driver.session(database=self.database) as session:
            return session.execute_write(work)

    def close(self) -> None:
        self._driver.close()

    def ensure_schema(self) -> None:
        # Neo4j refuses schema changes mixed with other statements in one transaction: one each.
        for statement in schema.STATEMENTS:
            self._write_tx(lambda tx, s=statement: tx.run(s).consume(), "creating the schema")

    # -- documents -------------------------------------------------------------------------------------
    def has_document(self, document_id: str) -> bool:
        return bool(self._read("MATCH (d:Document {id: $id}) RETURN d.id AS id", id=document_id))

    def documents(self, *, source: str | None = None, limit: int = 1000) -> list[DocumentInfo]:
        where = "WHERE d.source CONTAINS $source " if source else ""
        rows = self._read(
            f"MATCH (d:Document) {where}RETURN d.id AS id, d.source AS source, d.title AS title, "
            "d.kind AS kind, d.sentences AS sentences ORDER BY source, id LIMIT $limit",
            source=source,
            limit=int(limit),
        )
        return [DocumentInfo(**r) for r in rows]

    def write_document(self, document: Document) -> WriteOutcome:
        def work(tx: neo4j.ManagedTransaction) -> WriteOutcome:
            if tx.run("MATCH (d:Document {id: $id}) RETURN d.id", id=document.id).single():
                return WriteOutcome.UNCHANGED
            older = [
                r["id"]
                for r in tx.run(
                    "MATCH (d:Document {source: $source}) WHERE d.id <> $id RETURN d.id AS id",
                    source=document.source,
                    id=document.id,
                )
            ]
            for old_id in older:
                _delete_in(tx, old_id)
            tx.run(
                "CREATE (:Document {id: $id, source: $source, title: $title, kind: $kind, text: $text, "
                "metadata: $metadata, sentences: $n})",
                id=document.id,
                source=document.source,
                title=document.title,
                kind=document.kind,
                text=document.text,
                metadata=json.dumps(document.metadata, sort_keys=True, default=str),
                n=len(document.sentences),
            ).consume()
            for chunk in _chunks(document.sentences, SENTENCE_BATCH):
                rows = [[s.id, s.index, s.text, s.section, s.start, s.end] for s in chunk]
                tx.run(
                    "MATCH (d:Document {id: $id}) UNWIND $rows AS r "
                    "CREATE (d)-[:HAS_SENTENCE]->(:Sentence {id: r[0], document_id: $id, index: r[1], "
                    "text: r[2], section: r[3], start: r[4], end: r[5]})",
                    id=document.id,
                    rows=rows,
                ).consume()
            return WriteOutcome.REPLACED if older else WriteOutcome.NEW

        try:
            return self._write_tx(work, f"writing document {document.source}")
        except StoreError as exc:
            if isinstance(exc.__cause__, ConstraintError):
                return WriteOutcome.UNCHANGED  # another writer stored the same document first
            raise

    def delete_document(self, document_id: str) -> DeleteSummary:
        summary = self._write_tx(lambda tx: _delete_in(tx, document_id), f"deleting document {document_id}")
        if summary is None:
            raise DocumentNotFound(document_id)
        return summary

    def sentences(self, document_id: str) -> list[Sentence]:
        return [sentence for sentence, _ in self._tagged_sentences(document_id)]

    def _tagged_sentences(self, document_id: str) -> list[tuple[Sentence, list[str]]]:
        """A document's sentences in order, each with the extractor tags that have read it."""
        rows = self._read(
            "MATCH (s:Sentence {document_id: $id}) RETURN s.index AS index, s.text AS text, "
            "s.section AS section, s.start AS start, s.end AS end, s.extracted_by AS tags "
            "ORDER BY s.index",
            id=document_id,
        )
        return [
            (
                Sentence(document_id, r["index"], r["text"], r["section"], r["start"], r["end"]),
                r["tags"] or [],
            )
            for r in rows
        ]

    def _document_ids(self) -> list[str]:
        return [r["id"] for r in self._read("MATCH (d:Document) RETURN d.id AS id ORDER BY id")]

    def iter_sentences(self) -> Iterator[Sentence]:
        for document_id in self._document_ids():
            yield from self.sentences(document_id)

    def sentences_to_extract(self, tag: str) -> Iterator[Sentence]:
        for document_id in self._document_ids():
            yield from (s for s, tags in self._tagged_sentences(document_id) if tag not in tags)

    def mark_extracted(self, sentence_ids: Iterable[str], tag: str) -> None:
        ids = sorted(set(sentence_ids))
        if not ids:
            return

        def work(tx: neo4j.ManagedTransaction) -> None:
            rows = tx.run(
                "UNWIND $ids AS sid MATCH (s:Sentence {id: sid}) RETURN s.id AS id, s.extracted_by AS tags",
                ids=ids,
            )
            # read-modify-write in one transaction: list append in Cypher differs between servers
            fresh = [[r["id"], [*(r["tags"] or []), tag]] for r in rows if tag not in (r["tags"] or [])]
            tx.run(
                "UNWIND $rows AS r MATCH (s:Sentence {id: r[0]}) SET s.extracted_by = r[1]", rows=fresh
            ).consume()

        self._write_tx(work, "marking sentences as extracted")

    # -- facts -----------------------------------------------------------------------------------------
    def write_facts(self, facts: Iterable[ExtractedFact]) -> int:
        # Preparing a batch (keys, ids) is Python work; overlap it with the server writing the previous one.
        written = 0
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending: Future[_Batch] | None = None
            for chunk in _chunks(facts, FACT_BATCH):
                ready, pending = pending, pool.submit(_Batch.prepare, chunk)
                if ready is not None:
                    written += self._write_batch(ready.result())
            if pending is not None:
                written += self._write_batch(pending.result())
        return written

    def _write_batch(self, batch: _Batch) -> int:
        def work(tx: neo4j.ManagedTransaction) -> int:
            tags = {
                r["id"]: r["tags"] or []
                for r in tx.run(
                    "UNWIND $ids AS sid MATCH (s:Sentence {id: sid}) "
                    "RETURN s.id AS id, s.extracted_by AS tags",
                    ids=sorted(batch.sentence_tags),
                )
            }
            missing = sorted(set(batch.sentence_tags) - set(tags))
            if missing:
                raise StoreError(
                    f"facts refer to sentences the store does not hold: {', '.join(missing[:5])}"
                )
            # Only sentences this extractor version already wrote to can hold one of these facts. The lookup
            # is anchored on the head entity: an unanchored relationship lookup scans every node on ArcadeDB.
            seen = {sid for sid, tag in batch.sentence_tags.items() if tag in tags[sid]}
            recheck = [[row[0], fid] for fid, row in batch.rows.items() if row[12] in seen]
            existing = (
                {
                    r["id"]
                    for r in tx.run(
                        "UNWIND $rows AS r MATCH (:Entity {key: r[0]})-[f:FACT {id: r[1]}]->() "
                        "RETURN f.id AS id",
                        rows=recheck,
                    )
                }
                if recheck
                else set()
            )
            new_rows = [row for fid, row in batch.rows.items() if fid not in existing]
            if not new_rows:
                return 0
            keys = {k for row in new_rows for k in (row[0], row[1])}
            tx.run(
                "UNWIND $rows AS r MERGE (e:Entity {key: r[0]}) ON CREATE SET e.name = r[1]",
                rows=[[k, batch.names[k]] for k in keys],
            ).consume()
            tx.run(
                "UNWIND $rows AS r MATCH (h:Entity {key: r[0]}) MATCH (t:Entity {key: r[1]}) "
                "CREATE (h)-[:FACT {id: r[2], relation: r[3], relation_key: r[4], confidence: r[5], "
                "head_span: r[6], tail_span: r[7], relation_spans: r[8], extractor: r[9], "
                "extractor_version: r[10], document_id: r[11], sentence_id: r[12]}]->(t)",
                rows=new_rows,
            ).consume()
            fresh = [[sid, tags[sid] + [tag]] for sid, tag in batch.sentence_tags.items() if sid not in seen]
            tx.run(
                "UNWIND $rows AS r MATCH (s:Sentence {id: r[0]}) SET s.extracted_by = r[1]", rows=fresh
            ).consume()
            return len(new_rows)

        return self._write_tx(work, "writing facts")

    def facts(
        self,
        *,
        entity: str | None = None,
        relation: str | None = None,
        document_id: str | None = None,
        limit: int = 100,
    ) -> list[StoredFact]:
        where, params = [], {"limit": int(limit)}
        if entity:
            where.append("(h.key CONTAINS $entity OR t.key CONTAINS $entity)")
            params["entity"] = entity_key(entity)
        if relation:
            where.append("f.relation_key = $relation")
            params["relation"] = relation_key(relation)
        if document_id:
            where.append("f.document_id = $document_id")
            params["document_id"] = document_id
        query = (
            "MATCH (h:Entity)-[f:FACT]->(t:Entity) "
            + (f"WHERE {' AND '.join(where)} " if where else "")
            + "WITH h, f, t ORDER BY f.confidence DESC, f.id LIMIT $limit "
            "OPTIONAL MATCH (s:Sentence {id: f.sentence_id}) "
            "OPTIONAL MATCH (d:Document {id: f.document_id}) "
            f"RETURN {_FACT_FIELDS}, s.text AS sentence, s.start AS sentence_start, s.section AS section, "
            "d.source AS source"
        )
        return [_fact_from_record(r) for r in self._read(query, **params)]

    def neighbourhood(self, entity: str, *, hops: int = 2, limit: int = 500) -> list[Edge]:
        edges: dict[str, Edge] = {}
        visited = {entity_key(entity)}
        frontier = sorted(visited)
        for _ in range(hops):
            if not frontier or len(edges) >= limit:
                break
            # Few fields on purpose: each returned property costs more on ArcadeDB than the traversal.
            rows = self._read(
                "UNWIND $keys AS k MATCH (:Entity {key: k})-[f:FACT]-(:Entity) "
                "RETURN f.id AS id, startNode(f).key AS h, f.relation_key AS r, endNode(f).key AS t, "
                "f.confidence AS c",
                keys=frontier,
            )
            reached: set[str] = set()
            for r in rows:
                if r["id"] not in edges and len(edges) < limit:
                    edges[r["id"]] = Edge(r["id"], r["h"], r["r"], r["t"], float(r["c"]))
                reached.update((r["h"], r["t"]))
            frontier = sorted(reached - visited)
            visited |= reached
        return list(edges.values())

    def iter_edges(self) -> Iterator[Edge]:
        query = (
            "MATCH (h:Entity)-[f:FACT]->(t:Entity) RETURN f.id AS id, h.key AS h, f.relation_key AS r, "
            "t.key AS t, f.confidence AS c"
        )
        with (
            self._errors("query"),
            self._driver.session(database=self.database, default_access_mode=neo4j.READ_ACCESS) as session,
        ):
            for r in session.run(query):
                yield Edge(r["id"], r["h"], r["r"], r["t"], float(r["c"]))

    def stats(self) -> StoreStats:
        def count(query: str) -> int:
            return int(self._read(query)[0]["n"])

        return StoreStats(
            documents=count("MATCH (d:Document) RETURN count(d) AS n"),
            sentences=count("MATCH (s:Sentence) RETURN count(s) AS n"),
            entities=count("MATCH (e:Entity) RETURN count(e) AS n"),
            facts=count("MATCH ()-[f:FACT]->() RETURN count(f) AS n"),
        )


def _delete_in(tx: neo4j.ManagedTransaction, document_id: str) -> DeleteSummary | None:
    """Delete a document inside an open transaction; ``None`` when it does not exist."""
    if not tx.run("MATCH (d:Document {id: $id}) RETURN d.id", id=document_id).single():
        return None
    ends = tx.run(
        "MATCH (h:Entity)-[f:FACT {document_id: $id}]->(t:Entity) RETURN h.key AS h, t.key AS t",
        id=document_id,
    ).data()
    keys = sorted({r["h"] for r in ends} | {r["t"] for r in ends})
    heads = sorted({r["h"] for r in ends})
    tx.run(
        "UNWIND $keys AS k MATCH (:Entity {key: k})-[f:FACT {document_id: $id}]->() DELETE f",
        keys=heads,
        id=document_id,
    ).consume()
    orphans = tx.run(
        "UNWIND $keys AS k MATCH (e:Entity {key: k}) WHERE NOT (e)-[:FACT]-() RETURN e.key AS key", keys=keys
    ).data()
    tx.run(
        "UNWIND $keys AS k MATCH (e:Entity {key: k}) DETACH DELETE e", keys=[r["key"] for r in orphans]
    ).consume()
    n_sentences = tx.run(
        "MATCH (s:Sentence {document_id: $id}) RETURN count(s) AS n", id=document_id
    ).single()["n"]
    tx.run("MATCH (s:Sentence {document_id: $id}) DETACH DELETE s", id=document_id).consume()
    tx.run("MATCH (d:Document {id: $id}) DETACH DELETE d", id=document_id).consume()
    return DeleteSummary(document_id, sentences=int(n_sentences), facts=len(ends), entities=len(orphans))

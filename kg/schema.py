"""Constraints and indexes, created idempotently (``IF NOT EXISTS``) on every connect.

The same statements run on Neo4j 5 and on ArcadeDB's Cypher engine. Relationship property indexes serve fact
lookups by document and relation (Neo4j's planner uses them). Fact ids have no index: they are looked up from
the head entity, which is faster on both servers. The uniqueness constraints make concurrent writers safe.
"""

from __future__ import annotations

STATEMENTS: tuple[str, ...] = (
    "CREATE CONSTRAINT document_id IF NOT EXISTS FOR (d:Document) REQUIRE d.id IS UNIQUE",
    "CREATE CONSTRAINT sentence_id IF NOT EXISTS FOR (s:Sentence) REQUIRE s.id IS UNIQUE",
    "CREATE CONSTRAINT entity_key IF NOT EXISTS FOR (e:Entity) REQUIRE e.key IS UNIQUE",
    "CREATE INDEX document_source IF NOT EXISTS FOR (d:Document) ON (d.source)",
    "CREATE INDEX sentence_document IF NOT EXISTS FOR (s:Sentence) ON (s.document_id)",
    "CREATE INDEX fact_document IF NOT EXISTS FOR ()-[f:FACT]-() ON (f.document_id)",
    "CREATE INDEX fact_relation IF NOT EXISTS FOR ()-[f:FACT]-() ON (f.relation_key)",
)

"""Fact-store benchmark: batched fact writes and 2-hop neighbourhood queries on the embedded store.

Writes N synthetic facts over E entities (uniformly random heads/tails, 50 relations) through
``FactStore.write_facts``, then times ``FactStore.neighbourhood(hops=2)`` from S seed entities.
Baselines, in the same run and on the same server:

* writes: one ``MERGE (h)-[:FACT]->(t)`` statement per fact with map parameters (how most graph-RAG
  loaders write), on a 5,000-fact slice;
* 2-hop: a single variable-length Cypher query ``(s)-[:FACT*1..2]-()`` returning the same facts.

Targets (issue #2): >= 15,000 facts/s and 2-hop p95 <= 20 ms.

Usage: python bench/kg_write.py [--facts 100000] [--entities 20000] [--seeds 50] [--data-dir DIR]
The server runs on a fresh temporary data directory (removed afterwards) unless --data-dir is given.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from extract.types import ExtractedFact
from ingest.types import Document, Sentence
from kg import EmbeddedServer, StoreConfig, open_store
from kg.bolt import BoltFactStore

SENTENCES_PER_DOC = 1000
# The reference outputs state 711 facts in 110 sentences (6.5 per sentence); we use 6.
FACTS_PER_SENTENCE = 6


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def synthetic(
    n_facts: int, n_entities: int, seed: int, per_sentence: int = FACTS_PER_SENTENCE
) -> tuple[list[Document], list[ExtractedFact]]:
    """Documents whose sentences each state ``per_sentence`` facts ("entity 17 relation 3 entity 912; ..."),
    and those facts, with spans pointing into the sentence."""
    rng = random.Random(seed)
    documents, facts = [], []
    n_sentences = -(-n_facts // per_sentence)
    for d in range(0, n_sentences, SENTENCES_PER_DOC):
        doc_id = f"bench{d // SENTENCES_PER_DOC:05d}"
        sentences, texts, pos = [], [], 0
        for i in range(min(SENTENCES_PER_DOC, n_sentences - d)):
            text, pieces = "", []
            for _ in range(min(per_sentence, n_facts - len(facts) - len(pieces))):
                h, t = rng.sample(range(n_entities), 2)
                head, rel, tail = f"entity {h}", f"relation {rng.randrange(50)}", f"entity {t}"
                if text:
                    text += "; "
                hs = (len(text), len(text) + len(head))
                rs = (hs[1] + 1, hs[1] + 1 + len(rel))
                ts = (rs[1] + 1, rs[1] + 1 + len(tail))
                text += f"{head} {rel} {tail}"
                pieces.append((head, rel, tail, hs, rs, ts))
            text += "."
            sentences.append(Sentence(doc_id, i, text, "body", pos, pos + len(text)))
            texts.append(text)
            pos += len(text) + 1
            for head, rel, tail, hs, rs, ts in pieces:
                facts.append(
                    ExtractedFact(
                        head, rel, tail, rng.random(), doc_id, f"{doc_id}:{i}", hs, ts, (rs,), "bench", "1"
                    )
                )
        documents.append(
            Document(doc_id, f"bench://{doc_id}", doc_id, "text", " ".join(texts), tuple(sentences))
        )
    return documents, facts


def naive_write(store: BoltFactStore, facts: list[ExtractedFact]) -> float:
    query = (
        "MERGE (h:Entity {key: $h}) ON CREATE SET h.name = $h "
        "MERGE (t:Entity {key: $t}) ON CREATE SET t.name = $t "
        "CREATE (h)-[:FACT {id: $id, relation: $r, relation_key: $r, confidence: $c, document_id: $d, "
        "sentence_id: $s, head_span: $hs, tail_span: $ts}]->(t)"
    )
    start = time.perf_counter()
    with store._driver.session(database=store.database) as session:
        for i, f in enumerate(facts):
            session.run(
                query,
                h=f"naive {f.head}",
                t=f"naive {f.tail}",
                id=f"naive{i}",
                r=f.relation,
                c=f.confidence,
                d=f.document_id,
                s=f.sentence_id,
                hs=list(f.head_span),
                ts=list(f.tail_span),
            ).consume()
    return time.perf_counter() - start


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--facts", type=int, default=100_000)
    parser.add_argument("--entities", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--naive", type=int, default=5_000, help="facts written by the naive baseline")
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="factloom-bench-"))
    config = StoreConfig(data_dir=data_dir, bolt_port=free_port(), http_port=free_port(), heap="4g")
    server = EmbeddedServer(config)
    documents, facts = synthetic(args.facts, args.entities, seed=7)
    try:
        with open_store(config) as store:
            assert isinstance(store, BoltFactStore)
            t0 = time.perf_counter()
            for doc in documents:
                store.write_document(doc)
            doc_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            written = store.write_facts(facts)
            fact_s = time.perf_counter() - t0
            assert written == len(facts), (written, len(facts))
            stats = store.stats()

            rng = random.Random(11)
            seeds = [f"entity {rng.randrange(args.entities)}" for _ in range(args.seeds)]
            for seed in seeds[:5]:  # warm-up (JIT, caches); not timed
                store.neighbourhood(seed, hops=2, limit=100_000)
            ours, sizes = [], []
            for seed in seeds:
                t0 = time.perf_counter()
                sizes.append(len(store.neighbourhood(seed, hops=2, limit=100_000)))
                ours.append((time.perf_counter() - t0) * 1000)
            # The same edges as neighbourhood() returns, in one variable-length query.
            varlen_q = (
                "MATCH (:Entity {key: $k})-[p:FACT*1..2]-(:Entity) UNWIND p AS f "
                "WITH DISTINCT f RETURN f.id AS id, startNode(f).key AS h, f.relation_key AS r, "
                "endNode(f).key AS t, f.confidence AS c"
            )
            base = []
            for seed in seeds:
                t0 = time.perf_counter()
                store._read(varlen_q, k=seed)
                base.append((time.perf_counter() - t0) * 1000)

            naive_n = min(args.naive, len(facts))
            naive_s = naive_write(store, facts[:naive_n])
    finally:
        server.stop()
        if args.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)

    machine = f"{platform.node()} {platform.machine()}, {os.cpu_count()} cpus"
    print(f"machine: {machine}; python {platform.python_version()}")
    print(f"store after run: {stats.as_dict()}")
    print(f"{'measure':44} {'factloom':>12} {'baseline':>12} {'ratio':>7}")
    rate, naive_rate = written / fact_s, naive_n / naive_s
    label = "fact writes, facts/s (target >= 15000)"
    print(f"{label:44} {rate:12.0f} {naive_rate:12.0f} {rate / naive_rate:7.1f}")
    print(
        f"{'2-hop p50 ms':44} {statistics.median(ours):12.2f} {statistics.median(base):12.2f} "
        f"{statistics.median(base) / statistics.median(ours):7.1f}"
    )
    print(
        f"{'2-hop p95 ms (target <= 20)':44} {pct(ours, 0.95):12.2f} {pct(base, 0.95):12.2f} "
        f"{pct(base, 0.95) / pct(ours, 0.95):7.1f}"
    )
    print(
        f"document writes: {len(documents)} docs / {stats.sentences} sentences in {doc_s:.1f} s; "
        f"2-hop facts per seed: median {statistics.median(sizes):.0f}"
    )
    print(
        f"baselines: writes = one MERGE statement per fact (map params, {naive_n} facts); "
        "2-hop = the same edges from one variable-length Cypher query"
    )


if __name__ == "__main__":
    main()

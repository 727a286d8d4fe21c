"""The FactStore contract. Runs against the embedded ArcadeDB server, and against Neo4j when
FACTLOOM_NEO4J_URI is set (unchanged). Every test uses its own document ids and entity names."""

from __future__ import annotations

import dataclasses

import pytest

from extract.types import ExtractedFact
from ingest.types import Document, Sentence, content_id
from kg import DocumentNotFound, FactStore, StoreError, WriteOutcome
from kg.keys import entity_key


def make_document(tag: str, texts: list[str], source: str | None = None) -> Document:
    text = " ".join(texts)
    doc_id = content_id(f"{tag}|{text}".encode())
    sentences, pos = [], 0
    for i, sentence in enumerate(texts):
        sentences.append(Sentence(doc_id, i, sentence, "body", pos, pos + len(sentence)))
        pos += len(sentence) + 1
    return Document(doc_id, source or f"mem://{tag}", tag, "text", text, tuple(sentences), {"tag": tag})


def fact_in(
    doc: Document, index: int, head: str, relation: str, tail: str, conf: float = 0.9
) -> ExtractedFact:
    """A fact whose spans are found in the sentence text (so provenance can be checked)."""
    s = doc.sentences[index].text
    h, r, t = s.index(head), s.index(relation), s.index(tail)
    return ExtractedFact(
        head,
        relation,
        tail,
        conf,
        doc.id,
        doc.sentences[index].id,
        (h, h + len(head)),
        (t, t + len(tail)),
        ((r, r + len(relation)),),
        "test",
        "1",
    )


def test_schema_is_idempotent(store: FactStore) -> None:
    store.ensure_schema()
    store.ensure_schema()


def test_document_roundtrip_and_unchanged(store: FactStore, unique: str) -> None:
    doc = make_document(unique, ["The arm is attached to the frame.", "The frame holds a motor."])
    before = store.stats()
    assert store.write_document(doc) is WriteOutcome.NEW
    assert store.write_document(doc) is WriteOutcome.UNCHANGED
    assert store.has_document(doc.id)
    assert store.sentences(doc.id) == list(doc.sentences)
    after = store.stats()
    assert (after.documents - before.documents, after.sentences - before.sentences) == (1, 2)


def test_documents_listing(store: FactStore, unique: str) -> None:
    doc = make_document(unique, ["One sentence.", "Two sentences."], source=f"mem://{unique}/a.txt")
    store.write_document(doc)
    [info] = store.documents(source=unique)
    assert (info.id, info.source, info.title, info.kind, info.sentences) == (
        doc.id,
        doc.source,
        unique,
        "text",
        2,
    )
    assert store.documents(source=f"{unique}-nothing") == []


def test_changed_source_replaces_old_version(store: FactStore, unique: str) -> None:
    old = make_document(unique, [f"Old {unique} wheel turns the axle."], source=f"file://{unique}.txt")
    new = make_document(unique, [f"New {unique} wheel drives the belt."], source=f"file://{unique}.txt")
    store.write_document(old)
    store.write_facts([fact_in(old, 0, f"Old {unique} wheel", "turns", "the axle")])
    assert store.write_document(new) is WriteOutcome.REPLACED
    assert not store.has_document(old.id)
    assert store.facts(document_id=old.id) == []
    assert store.facts(entity=f"old {unique} wheel") == []


def test_document_write_is_atomic(store: FactStore, unique: str) -> None:
    doc = make_document(unique, ["A first good sentence.", "A second sentence."])
    # A map is not a valid property value: the second statement of the transaction fails on the server.
    bad = dataclasses.replace(
        doc, sentences=(doc.sentences[0], dataclasses.replace(doc.sentences[1], section={"not": "a string"}))
    )  # type: ignore[arg-type]
    before = store.stats()
    with pytest.raises(StoreError):
        store.write_document(bad)
    assert not store.has_document(doc.id)
    assert store.stats() == before


def test_facts_keep_provenance(store: FactStore, unique: str) -> None:
    doc = make_document(unique, [f"The {unique} arm is attached to the frame.", "Nothing here."])
    store.write_document(doc)
    fact = fact_in(doc, 0, f"{unique} arm", "is attached to", "the frame", conf=0.75)
    assert store.write_facts([fact]) == 1
    assert store.write_facts([fact]) == 0  # same fact again: not duplicated
    [stored] = store.facts(entity=f"{unique} ARM")
    sentence = doc.sentences[0]
    assert stored.sentence == sentence.text and stored.sentence_start == sentence.start
    assert stored.source == doc.source and stored.document_id == doc.id and stored.section == "body"
    assert sentence.text[slice(*stored.head_span)] == f"{unique} arm"
    assert sentence.text[slice(*stored.tail_span)] == "the frame"
    assert [sentence.text[slice(*s)] for s in stored.relation_spans] == ["is attached to"]
    assert doc.text[stored.sentence_start + stored.head_span[0] :][: len(unique)] == unique
    assert (stored.confidence, stored.extractor, stored.extractor_version) == (0.75, "test", "1")
    assert stored.tail_key == "frame" and stored.relation_key == "is attached to"


def test_facts_need_their_sentence(store: FactStore, unique: str) -> None:
    doc = make_document(unique, [f"{unique} gear meshes with pinion."])
    fact = fact_in(doc, 0, f"{unique} gear", "meshes with", "pinion")  # document never written
    with pytest.raises(StoreError, match="sentences the store does not hold"):
        store.write_facts([fact])
    assert store.facts(entity=f"{unique} gear") == []


def test_fact_filters(store: FactStore, unique: str) -> None:
    doc = make_document(
        unique, [f"The {unique}pump feeds the {unique}tank.", f"The {unique}tank has a {unique}valve."]
    )
    store.write_document(doc)
    store.write_facts(
        [
            fact_in(doc, 0, f"{unique}pump", "feeds", f"{unique}tank", 0.6),
            fact_in(doc, 1, f"{unique}tank", "has", f"{unique}valve", 0.8),
        ]
    )
    by_entity = store.facts(entity=f"{unique}tank")
    assert [f.relation for f in by_entity] == ["has", "feeds"]  # highest confidence first
    assert [f.tail for f in store.facts(entity=unique, relation="HAS ")] == [f"{unique}valve"]
    assert len(store.facts(document_id=doc.id)) == 2
    assert len(store.facts(entity=unique, limit=1)) == 1


def test_neighbourhood_hops(store: FactStore, unique: str) -> None:
    names = [f"{unique}n{i}" for i in range(4)]
    doc = make_document(
        unique,
        [f"{names[0]} drives {names[1]}.", f"{names[1]} turns {names[2]}.", f"{names[2]} moves {names[3]}."],
    )
    store.write_document(doc)
    store.write_facts(
        [
            fact_in(doc, 0, names[0], "drives", names[1]),
            fact_in(doc, 1, names[1], "turns", names[2]),
            fact_in(doc, 2, names[2], "moves", names[3]),
        ]
    )
    one = store.neighbourhood(names[0], hops=1)
    two = store.neighbourhood(names[0], hops=2)
    assert {f.relation for f in one} == {"drives"}
    assert {f.relation for f in two} == {"drives", "turns"}
    assert {f.relation for f in store.neighbourhood(names[1], hops=1)} == {"drives", "turns"}


def test_delete_document_cleans_up(store: FactStore, unique: str) -> None:
    shared = f"{unique}frame"
    doc_a = make_document(unique + "a", [f"The {unique}arm is fixed to the {shared}."])
    doc_b = make_document(unique + "b", [f"The {unique}leg is fixed to the {shared}."])
    for doc in (doc_a, doc_b):
        store.write_document(doc)
    store.write_facts(
        [
            fact_in(doc_a, 0, f"{unique}arm", "is fixed to", shared),
            fact_in(doc_b, 0, f"{unique}leg", "is fixed to", shared),
        ]
    )
    before = store.stats()
    summary = store.delete_document(doc_a.id)
    assert (summary.sentences, summary.facts, summary.entities) == (1, 1, 1)  # the arm; the frame is shared
    after = store.stats()
    assert (before.documents - after.documents, before.facts - after.facts) == (1, 1)
    assert before.entities - after.entities == 1 and before.sentences - after.sentences == 1
    assert not store.has_document(doc_a.id) and store.sentences(doc_a.id) == []
    assert {entity_key(f.head) for f in store.facts(entity=unique)} == {f"{unique}leg"}
    with pytest.raises(DocumentNotFound):
        store.delete_document(doc_a.id)


def test_batches_larger_than_one_transaction_chunk(
    store: FactStore, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kg import bolt

    monkeypatch.setattr(bolt, "FACT_BATCH", 40)
    monkeypatch.setattr(bolt, "SENTENCE_BATCH", 30)
    texts = [f"{unique}part{i} touches {unique}part{i + 1}." for i in range(97)]
    doc = make_document(unique, texts)
    assert store.write_document(doc) is WriteOutcome.NEW
    assert len(store.sentences(doc.id)) == len(texts)
    facts = [
        fact_in(doc, i, f"{unique}part{i}", "touches", f"{unique}part{i + 1}") for i in range(len(texts))
    ]
    assert store.write_facts(facts[:50]) == 50
    assert store.write_facts(facts) == len(texts) - 50  # the first 50 are not written twice
    assert len(store.facts(document_id=doc.id, limit=len(texts) + 10)) == len(texts)
    store.delete_document(doc.id)
    assert store.facts(document_id=doc.id) == []


def test_facts_of_one_sentence_written_in_two_calls(store: FactStore, unique: str) -> None:
    doc = make_document(unique, [f"The {unique}hub carries the {unique}rim and the {unique}tyre."])
    store.write_document(doc)
    first = fact_in(doc, 0, f"{unique}hub", "carries", f"{unique}rim")
    second = fact_in(doc, 0, f"{unique}hub", "carries", f"{unique}tyre")
    assert store.write_facts([first]) == 1
    assert store.write_facts([first, second]) == 1  # the sentence was seen: only the new fact is written
    assert store.write_facts([second, first]) == 0
    assert len(store.facts(document_id=doc.id)) == 2
    newer = dataclasses.replace(first, extractor_version="2")
    assert store.write_facts([newer]) == 1  # another extractor version keeps its own provenance
    assert store.write_facts([newer]) == 0
    assert sorted(f.extractor_version for f in store.facts(document_id=doc.id)) == ["1", "1", "2"]


def test_iter_edges_streams_every_fact(store: FactStore, unique: str) -> None:
    doc = make_document(
        unique, [f"The {unique}lid covers the {unique}cup.", f"The {unique}cup holds {unique}tea."]
    )
    store.write_document(doc)
    store.write_facts([fact_in(doc, 0, f"{unique}lid", "covers", f"{unique}cup", 0.7),
                       fact_in(doc, 1, f"{unique}cup", "holds", f"{unique}tea", 0.6)])  # fmt: skip
    mine = {(e.head, e.relation, e.tail, e.confidence) for e in store.iter_edges() if unique in e.head}
    assert mine == {
        (f"{unique}lid", "covers", f"{unique}cup", 0.7),
        (f"{unique}cup", "holds", f"{unique}tea", 0.6),
    }


def test_iter_sentences_covers_every_document(store: FactStore, unique: str) -> None:
    doc = make_document(unique, [f"{unique} first.", f"{unique} second."])
    store.write_document(doc)
    mine = [s for s in store.iter_sentences() if s.document_id == doc.id]
    assert mine == list(doc.sentences)

"""Subgraph retrievers, the cache, target-triple exclusion, and the reader's graph attention mask."""

from __future__ import annotations

import numpy as np
import pytest

from reader.graph_reader import graph_attention_mask
from retrieve.cache import Batch, SubgraphCache, cache_path
from retrieve.data import from_string_triples
from retrieve.graph import GraphIndex
from retrieve.retrievers import RETRIEVERS, BfsRetriever, OneHopRetriever, RelationAwareRetriever


@pytest.fixture
def graph() -> tuple[GraphIndex, dict[str, int]]:
    triples = [("a", "r", "b"), ("a", "s", "c"), ("b", "r", "d"), ("c", "s", "d"), ("d", "r", "e"),
               ("e", "s", "f"), ("a", "r", "g"), ("h", "s", "a")]  # fmt: skip
    data = from_string_triples({"train": triples})
    ids = {name: i for i, name in enumerate(data.entities)}
    return GraphIndex.build(data.train, data.num_entities, data.num_relations), ids


def edge_set(sub, entities) -> set[tuple[int, int, int]]:  # type: ignore[no-untyped-def]
    return {(int(entities[s]), int(r), int(entities[d])) for s, r, d, _ in sub.edges}


def check_subgraph(retriever, entity: int, relation: int) -> None:  # type: ignore[no-untyped-def]
    sub = retriever.retrieve(entity, relation)
    assert sub.entities[0] == entity
    assert len(sub.edges) <= retriever.max_edges + 1
    assert len(set(sub.entities.tolist())) == len(sub.entities)
    g = retriever.graph
    for s, r, d, eid in sub.edges.tolist():  # every edge exists in the graph with that orientation
        span = g.edges_of(int(sub.entities[s]))
        assert any(g.nbr[i] == sub.entities[d] and g.rel[i] == r and g.eid[i] == eid
                   for i in range(span.start, span.stop))  # fmt: skip
    assert retriever.retrieve(entity, relation).edges.tolist() == sub.edges.tolist()  # deterministic


def test_graph_index_both_directions(graph) -> None:  # type: ignore[no-untyped-def]
    g, ids = graph
    span = g.edges_of(ids["a"])
    out = {(int(g.nbr[i]), int(g.rel[i])) for i in range(span.start, span.stop)}
    # a -r-> b, a -s-> c, a -r-> g, and h -s-> a seen from a as inverse (s + R)
    assert out == {(ids["b"], 0), (ids["c"], 1), (ids["g"], 0), (ids["h"], 1 + 2)}


def test_onehop_retriever_takes_incident_edges(graph) -> None:  # type: ignore[no-untyped-def]
    g, ids = graph
    sub = OneHopRetriever(g, max_edges=10).retrieve(ids["a"], 0)
    assert len(sub.edges) == 4 and set(sub.edges[:, 0].tolist()) == {0}
    check_subgraph(OneHopRetriever(g, max_edges=2), ids["a"], 0)
    assert len(OneHopRetriever(g, max_edges=2).retrieve(ids["a"], 0).edges) == 3  # max + 1 spare


def test_bfs_retriever_expands_with_fanout_limit(graph) -> None:  # type: ignore[no-untyped-def]
    g, ids = graph
    r = BfsRetriever(g, max_edges=20, per_node=10)
    sub = r.retrieve(ids["a"], 0)
    assert len(sub.edges) == 8  # the whole connected graph, each edge once
    assert len(set(sub.edges[:, 3].tolist())) == 8
    sub = BfsRetriever(g, max_edges=20, per_node=1).retrieve(ids["a"], 0)
    srcs = sub.edges[:, 0].tolist()
    assert all(srcs.count(s) == 1 for s in set(srcs))
    check_subgraph(BfsRetriever(g, max_edges=3, per_node=2), ids["d"], 1)


def test_relation_retriever_prefers_cooccurring_relations(graph) -> None:  # type: ignore[no-untyped-def]
    g, ids = graph
    r = RelationAwareRetriever(g, max_edges=3, hop2_neighbours=2)
    check_subgraph(r, ids["a"], 0)
    sub = r.retrieve(ids["a"], 0)
    direct = [e for e in sub.edges.tolist() if e[0] == 0]
    assert len(direct) == 4 == len(sub.edges)  # max_edges + 1 = 4: the query entity's own edges come first
    wider = RelationAwareRetriever(g, max_edges=10, hop2_neighbours=2).retrieve(ids["a"], 0)
    assert len(wider.edges) > 4 and len(set(wider.edges[:, 3].tolist())) == len(wider.edges)
    assert r.cooc.shape == (4, 4) and np.allclose(np.diag(r.cooc)[r.cooc.diagonal() > 0], 1.0)


def test_cache_excludes_target_edge_and_isolated_answer(graph) -> None:  # type: ignore[no-untyped-def]
    g, ids = graph
    retriever = OneHopRetriever(g, max_edges=10)
    queries = np.array([[ids["a"], 0], [ids["b"], 2]])
    cache = SubgraphCache.build(retriever, queries)
    target = 6  # ("a", "r", "g"): g is reachable only through this edge
    batch = cache.batch(np.array([[ids["a"], 0]]), np.array([target]))
    ents = set(batch.entities[0][batch.entity_mask[0]].tolist())
    assert ids["g"] not in ents and ids["b"] in ents
    kept = {(int(batch.entities[0][s]), int(r), int(batch.entities[0][d]))
            for s, r, d, m in zip(batch.edge_src[0], batch.edge_rel[0], batch.edge_dst[0], batch.edge_mask[0],
                                  strict=True) if m}  # fmt: skip
    assert (ids["a"], 0, ids["g"]) not in kept and (ids["a"], 0, ids["b"]) in kept
    # the inverse query (g, r^-1) loses the same triple's edge
    cache2 = cache.merged(SubgraphCache.build(retriever, np.array([[ids["g"], 2]])))
    inv = cache2.batch(np.array([[ids["g"], 2]]), np.array([target]))
    assert inv.edge_mask.sum() == 0 and inv.entity_mask.sum() == 1
    with pytest.raises(KeyError):
        cache.batch(np.array([[ids["h"], 0]]))


def test_cache_save_load_roundtrip(graph, tmp_path) -> None:  # type: ignore[no-untyped-def]
    g, _ = graph
    retriever = BfsRetriever(g, max_edges=4, per_node=2)
    cache = SubgraphCache.build(retriever, np.array([[i, 0] for i in range(8)]))
    path = cache_path(tmp_path, "fp", retriever, "train")
    cache.save(path)
    loaded = SubgraphCache.load(path)
    assert (loaded.keys == cache.keys).all() and (loaded.edges == cache.edges).all()
    assert path != cache_path(tmp_path, "fp", BfsRetriever(g, max_edges=5, per_node=2), "train")


def test_a_failed_cache_save_keeps_the_previous_cache(graph, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    g, _ = graph
    retriever = BfsRetriever(g, max_edges=4, per_node=2)
    path = cache_path(tmp_path, "fp", retriever, "train")
    SubgraphCache.build(retriever, np.array([[0, 0]])).save(path)
    before = path.read_bytes()

    def disk_full(file, **arrays):  # type: ignore[no-untyped-def]
        file.write(b"PK half an archive")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(OSError, match="No space"):
        SubgraphCache.build(retriever, np.array([[i, 0] for i in range(8)])).save(path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_graph_attention_mask_by_hand() -> None:
    batch = Batch(entities=np.array([[5, 6, 7]]), entity_mask=np.array([[True, True, True]]),
                  edge_src=np.array([[0, 0]]), edge_rel=np.array([[1, 0]]), edge_dst=np.array([[1, 0]]),
                  edge_mask=np.array([[True, False]]))  # fmt: skip
    mask = graph_attention_mask(batch)[0].int().numpy()
    expected = np.array([
        # e0 e1 e2 x0 pad
        [1, 1, 1, 1, 0],  # e0: entities + its edge
        [1, 1, 1, 1, 0],  # e1
        [1, 1, 1, 0, 0],  # e2: not on the edge
        [1, 1, 0, 1, 0],  # edge x0 = e0 -> e1
        [0, 0, 0, 0, 1],  # padding sees only itself
    ])  # fmt: skip
    assert (mask == expected).all()


def test_retriever_registry() -> None:
    assert set(RETRIEVERS) == {"onehop", "bfs", "relation"}


def test_cache_built_in_processes_equals_serial(monkeypatch: pytest.MonkeyPatch) -> None:
    from retrieve import cache as cache_module

    monkeypatch.setattr(cache_module, "PARALLEL_MIN_QUERIES", 10)
    rng = np.random.default_rng(0)
    triples = rng.integers(0, 300, size=(3000, 3))
    triples[:, 1] %= 5
    g = GraphIndex.build(triples, 300, 5)
    retriever = RelationAwareRetriever(g, max_edges=6)
    queries = np.stack([np.repeat(np.arange(300), 10), np.tile(np.arange(10), 300)], axis=1)
    serial = SubgraphCache.build(retriever, queries, workers=1)
    parallel = SubgraphCache.build(retriever, queries, workers=2)
    for name in ("keys", "ent_ptr", "ents", "edge_ptr", "edges"):
        assert (getattr(serial, name) == getattr(parallel, name)).all(), name


def reference_batch(cache: SubgraphCache, queries: np.ndarray, exclude: np.ndarray) -> list[tuple]:
    """One query at a time, the obvious way: what :meth:`SubgraphCache.batch` must equal, as triples."""
    out = []
    for (entity, relation), target in zip(queries.tolist(), exclude.tolist(), strict=True):
        row = int(cache.rows(np.array([[entity, relation]]))[0])
        ents = cache.ents[cache.ent_ptr[row] : cache.ent_ptr[row + 1]]
        edges = [e for e in cache.edges[cache.edge_ptr[row] : cache.edge_ptr[row + 1]].tolist()
                 if target < 0 or e[3] != target][: cache.max_edges]  # fmt: skip
        used = [ents[0]] + [ents[i] for i in range(1, len(ents))
                            if any(i in (e[0], e[2]) for e in edges)]  # fmt: skip
        out.append(([int(x) for x in used], [(int(ents[s]), r, int(ents[d])) for s, r, d, _ in edges]))
    return out


def test_vectorised_batch_equals_one_query_at_a_time() -> None:
    rng = np.random.default_rng(0)
    names = [f"e{i}" for i in range(60)]
    picks = rng.zipf(1.6, size=(500, 2)) % 60  # skewed degrees: hubs with many edges, leaves with one
    raw = {(names[h], f"r{k}", names[t]) for (h, t), k in zip(picks, rng.integers(0, 5, 500), strict=True)
           if h != t}  # fmt: skip
    data = from_string_triples({"train": sorted(raw)})
    g = GraphIndex.build(data.train, data.num_entities, data.num_relations)
    r = data.num_relations
    triples = data.train[rng.permutation(len(data.train))[:150]]
    queries = np.concatenate([triples[:, :2], np.stack([triples[:, 2], triples[:, 1] + r], axis=1)])
    ids = {tuple(t): i for i, t in enumerate(data.train.tolist())}
    exclude = np.array([ids[tuple(t)] for t in np.concatenate([triples, triples]).tolist()])
    exclude[::7] = -1  # some queries keep every edge
    for name, args in (("onehop", {"max_edges": 5}), ("relation", {"max_edges": 8, "hop2_neighbours": 2})):
        cache = SubgraphCache.build(RETRIEVERS[name](g, **args), queries, workers=1)
        batch = cache.batch(queries, exclude)
        got = []
        for b in range(len(queries)):
            ents = batch.entities[b][batch.entity_mask[b]]
            assert not batch.entities[b][~batch.entity_mask[b]].any()  # padding is 0
            m = batch.edge_mask[b]
            got.append(([int(x) for x in ents], [(int(ents[s]), int(rel), int(ents[d])) for s, rel, d in
                                                 zip(batch.edge_src[b][m], batch.edge_rel[b][m],
                                                     batch.edge_dst[b][m], strict=True)]))  # fmt: skip
            assert m[: m.sum()].all()  # kept edges first
        assert got == reference_batch(cache, queries, exclude)
        assert batch.edge_mask.shape[1] == max(1, max(len(e) for _, e in got))
        assert any(len(e) == args["max_edges"] for _, e in got)  # the cap is exercised


def test_cache_reports_missing_queries(graph) -> None:  # type: ignore[no-untyped-def]
    g, ids = graph
    retriever = OneHopRetriever(g, max_edges=10)
    cache = SubgraphCache.build(retriever, np.array([[ids["a"], 0], [ids["d"], 1], [ids["b"], 2]]))
    asked = np.array(
        [[ids["h"], 3], [ids["a"], 0], [ids["a"], 1], [ids["b"], 2], [ids["h"], 3], [ids["g"], 0]]
    )
    expected = {(ids["h"], 3), (ids["a"], 1), (ids["g"], 0)}  # inside and beyond the cached key range
    assert {tuple(q) for q in cache.missing(asked).tolist()} == expected
    assert len(cache.missing(asked)) == 3  # each once
    assert len(cache.missing(cache.queries())) == 0

"""Relation-path rules mined from the training graph, and the evidence they give for a query's answers.

A rule reads the training graph around a query ``(x, q, ?)`` and names answers, each with a confidence.
Relations are read both ways, as everywhere in link prediction here: ``q`` in ``[0, 2R)``, ``q >= R`` the
inverse of ``q - R``. Three kinds, after AnyBURL (Meilicke et al., IJCAI 2019):

=============  ======================================  =====================================================
kind           rule                                    reads
=============  ======================================  =====================================================
``path1``      ``q(X, Y) <- b(X, Y)``                  another relation joins the same pair
``path2``      ``q(X, Y) <- b1(X, Z), b2(Z, Y)``       a two-step path leads from X to Y
``constant``   ``q(X, c) <- b(X, d)``                  one of X's facts points to a fixed answer c
=============  ======================================  =====================================================

A rule's confidence is ``support / (body + laplace)``: of the groundings of its body (pairs ``(X, Y)``, or
entities ``X`` for a constant rule), the share whose head holds in training, shrunk toward 0 for rare bodies
(AnyBURL's pessimistic confidence). :func:`mine_rules` counts every grounding exactly with sparse matrix
products (no sampling), so one training graph always gives the same rules. A path never runs through a
self-loop, so a rule's body can never use the very fact its head predicts.

:meth:`RuleSet.evidence` applies the rules to many queries at once, grouped by relation, and keeps per query
and kind the best confidence naming each candidate (:class:`RuleEvidence`); :meth:`RuleSet.explain` gives
the rules and facts behind one answer. ``reader.rules`` turns the evidence into a correction of a model's
scores.

Example:
    >>> triples = np.array([[0, 0, 1], [1, 1, 2], [0, 2, 2],    # 0 -a-> 1 -b-> 2, and 0 -c-> 2
    ...                     [3, 0, 4], [4, 1, 5], [3, 2, 5],    # the same pattern twice more
    ...                     [6, 0, 7], [7, 1, 8], [6, 2, 8],
    ...                     [9, 0, 10], [10, 1, 11]])           # ... and once without c
    >>> rules = mine_rules(triples, 12, 3, RuleConfig(laplace=0.0))
    >>> [(r.kind, r.relations, round(r.confidence, 2)) for r in rules.rules_for(2) if r.kind == "path2"]
    [('path2', (0, 1), 0.75)]
    >>> ev = rules.evidence(np.array([[9, 2]]))    # (9, c, ?): the path a, b ends at 11
    >>> ev.dense(np.array([[9, 2]]))[0, KINDS.index("path2"), 11].item()
    0.75
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ingest.files import write_file

KINDS: tuple[str, ...] = ("path1", "path2", "constant")
"""The rule kinds, in the order of :class:`RuleEvidence`'s kind axis."""


def query_keys(queries: np.ndarray, num_rel2: int) -> np.ndarray:
    """One integer per query ``(entity, relation)`` ``(n, 2)``: ``entity * 2R + relation``, relations in
    ``[0, 2R)`` (``num_rel2``); how rule evidence, and the rule reading's folds, name a query.

    Example:
        >>> query_keys(np.array([[3, 1], [0, 5]]), 6).tolist()
        [19, 5]
    """
    queries = np.asarray(queries, dtype=np.int64).reshape(-1, 2)
    return queries[:, 0] * num_rel2 + queries[:, 1]


@dataclass(frozen=True)
class RuleConfig:
    """What :func:`mine_rules` keeps.

    Args:
        min_support: a rule must hold for at least this many training groundings.
        min_confidence: the least confidence of a ``path1`` or ``path2`` rule.
        constant_min_support: the least support of a ``constant`` rule. Millions hold for two entities:
            on FB15k-237, 3 keeps half of them (5.6 of 11.8 million) at the same cross-validated gain, 5 a
            ninth at 0.001 less (bench/RESULTS.md).
        constant_min_confidence: the least confidence of a ``constant`` rule.
        max_path2: at most this many ``path2`` rules per query relation, the most confident.
        laplace: added to every body count (the pessimistic confidence's ``pc``).
        max_body: a ``constant`` rule whose body feature ``b(X, d)`` holds for more entities than this is
            not mined (``None``: no limit); it bounds the counting on graphs with huge hubs.
    """

    min_support: int = 2
    min_confidence: float = 0.01
    constant_min_support: int = 3
    constant_min_confidence: float = 0.1
    max_path2: int = 200
    laplace: float = 5.0
    max_body: int | None = None

    def as_json(self) -> dict[str, float | int]:
        return asdict(self)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.as_json(), sort_keys=True).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Rule:
    """One rule of query relation ``head``: its ``kind``, body ``relations`` (one for ``path1`` and
    ``constant``, two for ``path2``), for a constant rule the body entity ``d`` and the answer ``c``
    (``constants = (d, c)``), and its counts."""

    kind: str
    head: int
    relations: tuple[int, ...]
    constants: tuple[int, ...]
    support: int
    body: int
    confidence: float


@dataclass(frozen=True)
class Grounding:
    """Why a rule names an answer: the rule and the training facts of the query entity's that fire it,
    as ``(head, relation, tail)`` with relations in ``[0, 2R)`` oriented from the query entity."""

    rule: Rule
    path: tuple[tuple[int, int, int], ...]


class _Adjacency:
    """The training triples with inverses as one binary sparse matrix per relation, without self-loops."""

    def __init__(self, triples: np.ndarray, num_entities: int, num_relations: int) -> None:
        n, r2 = num_entities, 2 * num_relations
        h, r, t = (np.asarray(triples[:, i], dtype=np.int64) for i in range(3))
        src, rel, dst = np.concatenate([h, t]), np.concatenate([r, r + num_relations]), np.concatenate([t, h])
        loop = src == dst
        src, rel, dst = src[~loop], rel[~loop], dst[~loop]
        # distinct (relation, src, dst): a repeated triple counts once
        key = np.unique((rel * n + src) * n + dst)
        self.rel, self.src, self.dst = key // (n * n), (key // n) % n, key % n
        self.num_entities, self.num_relations = n, num_relations
        ones = np.ones(len(key), dtype=np.float32)
        # every relation side by side: row x lists x's facts as features (b, y), numbered compactly
        # (feature f is (feature_rel[f], feature_dst[f])); a product's workspace is one slot per column
        codes, feature = np.unique(self.rel * n + self.dst, return_inverse=True)
        self.feature_rel, self.feature_dst = codes // n, codes % n
        self.facts = sp.csr_matrix((ones, (self.src, feature)), shape=(n, len(codes)))
        bounds = np.searchsorted(self.rel, np.arange(r2 + 1))
        self.by_relation = [
            sp.csr_matrix((ones[lo:hi], (self.src[lo:hi], self.dst[lo:hi])), shape=(n, n))
            for lo, hi in itertools.pairwise(bounds)
        ]
        self._columns: list[sp.csc_matrix] | None = None
        # every (x, y) pair with a fact, sorted, and the relations on it
        pair = self.src * n + self.dst
        order = np.lexsort((self.rel, pair))
        self.pair_rel = self.rel[order]
        self.pairs, self.pair_start, self.pair_count = np.unique(
            pair[order], return_index=True, return_counts=True
        )

    def columns(self, relation: int) -> sp.csc_matrix:
        if self._columns is None:
            self._columns = [m.tocsc() for m in self.by_relation]
        return self._columns[relation]

    def relations_on(self, pair_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For pair keys ``x * N + y``: the index of each key that is a fact pair, repeated once per relation
        on it, and those relations."""
        if not len(self.pairs):
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.pairs, pair_keys), len(self.pairs) - 1)
        hit = np.nonzero(self.pairs[at] == pair_keys)[0]
        counts = self.pair_count[at[hit]]
        which = np.repeat(hit, counts)
        idx = _ranges(self.pair_start[at[hit]], counts)
        return which, self.pair_rel[idx]


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + c) for s, c in zip(starts, counts)])`` without the Python loop."""
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(np.asarray(starts, dtype=np.int64), counts) + offsets


def _rows_cols(m: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    return np.repeat(np.arange(m.shape[0]), np.diff(m.indptr)), m.indices.astype(np.int64)


@dataclass
class RuleSet:
    """Mined rules, as arrays, over the training graph they were mined from.

    ``path1`` rows ``(q, b)``; ``path2`` rows ``(q, b1, b2)``; ``constant`` rows ``(q, c, b, d)``; each kind
    with ``support``, ``body`` and ``confidence`` arrays in the same order (:func:`mine_rules`).
    """

    num_entities: int
    num_relations: int
    config: RuleConfig
    rules: dict[str, np.ndarray]
    support: dict[str, np.ndarray]
    body: dict[str, np.ndarray]
    confidence: dict[str, np.ndarray]
    graph: _Adjacency = field(repr=False)
    _found: RuleEvidence | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        r2, n = 2 * self.num_relations, self.num_entities
        # constant rules sorted by (q, body feature b * N + d), so a query finds its rules by binary search
        c = self.rules["constant"].astype(np.int64)
        self._const_key = (c[:, 0] * r2 + c[:, 2]) * n + c[:, 3]
        order = np.argsort(self._const_key, kind="stable")
        self._const_key = self._const_key[order]
        for table in (self.rules, self.support, self.body, self.confidence):
            table["constant"] = table["constant"][order]

    def __len__(self) -> int:
        return sum(len(v) for v in self.rules.values())

    def counts(self) -> dict[str, int]:
        return {kind: len(self.rules[kind]) for kind in KINDS}

    def rules_for(self, relation: int) -> list[Rule]:
        """Every rule whose head is query relation ``relation``, most confident first."""
        found = []
        for kind in KINDS:
            rows = np.nonzero(self.rules[kind][:, 0] == relation)[0]
            for i in rows.tolist():
                found.append(self._rule(kind, i))
        return sorted(found, key=lambda rule: (-rule.confidence, KINDS.index(rule.kind)))

    def _rule(self, kind: str, i: int) -> Rule:
        row = self.rules[kind][i].tolist()
        relations, constants = (tuple(row[1:]), ()) if kind != "constant" else ((row[2],), (row[3], row[1]))
        return Rule(kind, row[0], relations, constants, int(self.support[kind][i]), int(self.body[kind][i]),
                    float(self.confidence[kind][i]))  # fmt: skip

    # -- applying the rules -------------------------------------------------------------------------------
    def prepare(self, queries: np.ndarray, progress: Callable[[int, int], None] | None = None) -> None:
        """Find the evidence of any of ``queries`` not found yet, and keep it (:meth:`at` reads it): every
        reading of these rules shares it."""
        queries = np.asarray(queries, dtype=np.int64).reshape(-1, 2)
        todo = queries if self._found is None else self._found.missing(queries)
        if len(todo):
            found = self.evidence(todo, progress=progress)
            self._found = found if self._found is None else self._found.merged(found)

    def at(self, queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """``(B, K, len(KINDS))`` the best confidences naming each of ``candidates`` ``(B, K)`` for queries
        ``(B, 2)`` (:meth:`RuleEvidence.at`), finding the queries' evidence first if need be."""
        self.prepare(queries)
        assert self._found is not None
        return self._found.at(queries, candidates)

    def evidence(
        self,
        queries: np.ndarray,
        *,
        chunk: int = 512,
        progress: Callable[[int, int], None] | None = None,
    ) -> RuleEvidence:
        """For each distinct query ``(x, q)`` and kind, the best confidence of the rules naming each
        candidate (the query entity itself is never named).

        Args:
            queries: ``(n, 2)`` entity and relation ids (relations in ``[0, 2R)``).
            chunk: at most this many queries of one relation read together (fewer on a graph of over
                20,000 entities: the buffer is ``len(KINDS) x chunk x N`` floats).
            progress: called with (done, total) distinct queries.
        """
        r2, n = 2 * self.num_relations, self.num_entities
        chunk = max(1, min(chunk, 10_000_000 // max(n, 1)))  # len(KINDS) x chunk x N floats, bounded
        keys = np.unique(query_keys(queries, r2))
        ent, rel = keys // r2, keys % r2
        order = np.lexsort((ent, rel))  # by relation, so a relation's rules are looked up once
        rows: list[list[sp.csr_matrix]] = [[] for _ in KINDS]
        position = np.empty(len(keys), dtype=np.int64)
        done = 0
        for relation, members in _groups(rel[order], order, chunk):
            blocks = self._evidence_block(int(relation), ent[members])
            for k, block in enumerate(blocks):
                rows[k].append(block)
            position[members] = np.arange(done, done + len(members))
            done += len(members)
            if progress:
                progress(done, len(keys))
        kinds = [  # block rows back in key order: key i was read as block row position[i]
            sp.vstack(parts, format="csr")[position] if parts else sp.csr_matrix((0, n), dtype=np.float32)
            for parts in rows
        ]
        return RuleEvidence(keys, r2, n, kinds)

    def _evidence_block(self, relation: int, entities: np.ndarray) -> list[sp.csr_matrix]:
        """The evidence of ``entities``' queries of one ``relation``, per kind (dense while it is built:
        ``evidence`` bounds ``len(entities)`` so that the buffer stays near 120 MB)."""
        n, g = self.num_entities, self.graph
        dense = np.zeros((len(KINDS), len(entities), n), dtype=np.float32)
        own = (np.arange(len(entities)), entities)

        def take(k: int, rows: np.ndarray, cols: np.ndarray, conf: np.ndarray | float) -> None:
            np.maximum.at(dense[k], (rows, cols), conf)

        for kind in ("path1", "path2"):
            k = KINDS.index(kind)
            table, conf = self.rules[kind], self.confidence[kind]
            mine = np.nonzero(table[:, 0] == relation)[0]
            first_hops: dict[int, sp.csr_matrix] = {}
            for i in mine.tolist():
                first = int(table[i, 1])
                if first not in first_hops:
                    first_hops[first] = g.by_relation[first][entities]
                reached = first_hops[first]
                if kind == "path2":
                    reached = reached @ g.by_relation[table[i, 2]]
                r, c = _rows_cols(sp.csr_matrix(reached))
                take(k, r, c, conf[i])
        k = KINDS.index("constant")
        if len(self._const_key):
            r, f = _rows_cols(g.facts[entities])
            key = relation * (2 * self.num_relations * n) + g.feature_rel[f] * n + g.feature_dst[f]
            lo = np.searchsorted(self._const_key, key, "left")
            hi = np.searchsorted(self._const_key, key, "right")
            count = hi - lo
            idx = _ranges(lo, count)
            take(k, np.repeat(r, count), self.rules["constant"][idx, 1], self.confidence["constant"][idx])
        dense[:, own[0], own[1]] = 0.0  # never the query entity itself
        return [sp.csr_matrix(d) for d in dense]

    def explain(self, entity: int, relation: int, answer: int, limit: int = 3) -> list[Grounding]:
        """The most confident rules (at most ``limit``) that name ``answer`` for query
        ``(entity, relation)``, each with the training facts that fire it."""
        found = []
        for kind in KINDS:
            table = self.rules[kind]
            for i in np.nonzero(table[:, 0] == relation)[0].tolist():
                path = self._grounding(kind, table[i], entity, answer)
                if path is not None:
                    found.append(Grounding(self._rule(kind, i), path))
        found.sort(key=lambda gr: -gr.rule.confidence)
        return found[:limit]

    def _grounding(
        self, kind: str, row: np.ndarray, x: int, y: int
    ) -> tuple[tuple[int, int, int], ...] | None:
        g = self.graph
        if x == y:
            return None
        if kind == "path1":
            b = int(row[1])
            return ((x, b, y),) if g.by_relation[b][x, y] else None
        if kind == "path2":
            b1, b2 = int(row[1]), int(row[2])
            via = np.intersect1d(g.by_relation[b1][x].indices, g.columns(b2)[:, y].indices)
            return ((x, b1, int(via[0])), (int(via[0]), b2, y)) if len(via) else None
        _, c, b, d = (int(v) for v in row)
        return ((x, b, d),) if c == y and g.by_relation[b][x, d] else None

    # -- persistence --------------------------------------------------------------------------------------
    def save(self, path: Path, fingerprint: str) -> None:
        """Write the rules (not the graph) as one ``.npz``, with the dataset fingerprint they belong to."""
        arrays = {f"{part}_{kind}": table[kind] for kind in KINDS
                  for part, table in (("rules", self.rules), ("support", self.support), ("body", self.body),
                                      ("confidence", self.confidence))}  # fmt: skip
        meta = {"fingerprint": fingerprint, "config": self.config.as_json(),
                "num_entities": self.num_entities, "num_relations": self.num_relations}  # fmt: skip

        def write(target: Path) -> None:
            with target.open("wb") as f:
                np.savez_compressed(f, meta=np.array(json.dumps(meta)), **arrays)

        write_file(Path(path), write)

    @classmethod
    def load(
        cls, path: Path, triples: np.ndarray, fingerprint: str, config: RuleConfig | None = None
    ) -> RuleSet | None:
        """The rules saved at ``path`` for the dataset ``fingerprint`` (with its training ``triples``), or
        ``None`` when the file is missing, unreadable, of another dataset or (given ``config``) mined with
        other settings."""
        try:
            with np.load(Path(path)) as f:
                meta = json.loads(str(f["meta"]))
                if meta["fingerprint"] != fingerprint:
                    return None
                if config is not None and meta["config"] != config.as_json():
                    return None
                tables = {part: {kind: f[f"{part}_{kind}"] for kind in KINDS}
                          for part in ("rules", "support", "body", "confidence")}  # fmt: skip
        except (OSError, ValueError, KeyError):
            return None
        n, r = int(meta["num_entities"]), int(meta["num_relations"])
        return cls(n, r, RuleConfig(**meta["config"]), tables["rules"], tables["support"], tables["body"],
                   tables["confidence"], _Adjacency(triples, n, r))  # fmt: skip


def _groups(sorted_rel: np.ndarray, order: np.ndarray, chunk: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(relation, positions)`` runs of equal relations, each cut into pieces of at most ``chunk``."""
    if not len(order):
        return
    bounds = np.concatenate([[0], np.nonzero(np.diff(sorted_rel))[0] + 1, [len(order)]])
    for lo, hi in itertools.pairwise(bounds):
        for start in range(lo, hi, chunk):
            yield int(sorted_rel[lo]), order[start : min(hi, start + chunk)]


@dataclass
class RuleEvidence:
    """Per distinct query (sorted ``keys = entity * 2R + relation``) and kind (:data:`KINDS`), the best
    rule confidence naming each candidate entity, as CSR rows."""

    keys: np.ndarray
    num_rel2: int
    num_entities: int
    kinds: list[sp.csr_matrix]

    def rows_of(self, queries: np.ndarray) -> np.ndarray:
        """Each query's row; -1 for a query without one."""
        key = query_keys(queries, self.num_rel2)
        at = np.minimum(np.searchsorted(self.keys, key), max(len(self.keys) - 1, 0))
        found = (self.keys[at] == key) if len(self.keys) else np.zeros(len(key), dtype=bool)
        return np.where(found, at, -1)

    def missing(self, queries: np.ndarray) -> np.ndarray:
        """The queries that have no row yet."""
        queries = np.asarray(queries, dtype=np.int64).reshape(-1, 2)
        return queries[self.rows_of(queries) < 0]

    def _rows(self, queries: np.ndarray) -> np.ndarray:
        rows = self.rows_of(np.asarray(queries).reshape(-1, 2))
        if (rows < 0).any():
            raise KeyError(f"no rule evidence for {int((rows < 0).sum())} of the queries")
        return rows

    def dense(self, queries: np.ndarray) -> np.ndarray:
        """``(B, len(KINDS), N)`` confidences for the queries, in their order.

        Raises:
            KeyError: a query has no row (compute its evidence first).
        """
        rows = self._rows(queries)
        return np.stack([m[rows].toarray() for m in self.kinds], axis=1)

    def at(self, queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """``(B, K, len(KINDS))`` confidences of each query's ``candidates`` ``(B, K)``, read from the sparse
        rows directly (no ``B x N`` buffer: the rows of a big graph would not be small).

        Raises:
            KeyError: a query has no row (compute its evidence first).
        """
        rows, candidates = self._rows(queries), np.asarray(candidates, dtype=np.int64)
        out = np.zeros((*candidates.shape, len(self.kinds)), dtype=np.float32)
        local = np.arange(len(rows))[:, None] * self.num_entities + candidates  # (B, K) wanted keys
        for k, m in enumerate(self.kinds):
            picked = m[rows]
            picked.sort_indices()
            r, c = _rows_cols(picked)
            have = r * self.num_entities + c  # sorted: row-major, columns sorted within a row
            if not len(have):
                continue
            at = np.minimum(np.searchsorted(have, local), len(have) - 1)
            out[..., k] = np.where(have[at] == local, picked.data[at], 0.0)
        return out

    def merged(self, other: RuleEvidence) -> RuleEvidence:
        """This evidence and ``other``'s (the first wins where both have a query)."""
        new = ~np.isin(other.keys, self.keys)
        keys = np.concatenate([self.keys, other.keys[new]])
        order = np.argsort(keys, kind="stable")
        kinds = [sp.vstack([a, b[np.nonzero(new)[0]]], format="csr")[order]
                 for a, b in zip(self.kinds, other.kinds, strict=True)]  # fmt: skip
        return RuleEvidence(keys[order], self.num_rel2, self.num_entities, kinds)


# -- mining ---------------------------------------------------------------------------------------------
def mine_rules(
    triples: np.ndarray,
    num_entities: int,
    num_relations: int,
    config: RuleConfig | None = None,
    log: Callable[[str], None] | None = None,
) -> RuleSet:
    """Mine every rule of the three kinds (:data:`KINDS`) from training ``triples`` ``(n, 3)``.

    Args:
        triples: training triples (head, relation, tail), relations in ``[0, R)``.
        num_entities, num_relations: the vocabulary sizes ``N`` and ``R``.
        config: what to keep (:class:`RuleConfig`).
        log: progress lines.
    """
    config = config or RuleConfig()
    graph = _Adjacency(np.asarray(triples).reshape(-1, 3), num_entities, num_relations)
    tables: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
    tables["path1"] = _mine_path1(graph, config)
    tables["path2"] = _mine_path2(graph, config)
    tables["constant"] = _mine_constant(graph, config)
    if log:
        log("mined rules: " + ", ".join(f"{len(tables[k][0])} {k}" for k in KINDS))
    rules, support, body, confidence = ({k: v[i] for k, v in tables.items()} for i in range(4))
    return RuleSet(num_entities, num_relations, config, rules, support, body, confidence, graph)


CACHE_KEEP = 4
"""How many mined rule files :func:`cached_rules` keeps in its folder (the newest)."""


def cached_rules(
    triples: np.ndarray,
    num_entities: int,
    num_relations: int,
    config: RuleConfig,
    *,
    fingerprint: str,
    cache_dir: Path | None,
    log: Callable[[str], None] | None = None,
) -> RuleSet:
    """:func:`mine_rules`, through a folder of mined rule files named by the dataset ``fingerprint`` and the
    ``config``: mining FB15k-237 takes about 15 s, reading its file back under 1 s. ``cache_dir`` ``None``
    mines every time. Only the newest :data:`CACHE_KEEP` files are kept; an unreadable one is mined
    again."""
    if cache_dir is None:
        return mine_rules(triples, num_entities, num_relations, config, log)
    path = Path(cache_dir) / f"rules-{fingerprint}-{config.digest()}.npz"
    found = RuleSet.load(path, triples, fingerprint, config)
    if found is not None:
        path.touch()  # recently used: kept by the pruning below
        return found
    rules = mine_rules(triples, num_entities, num_relations, config, log)
    try:
        rules.save(path, fingerprint)
        older = sorted(Path(cache_dir).glob("rules-*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in older[CACHE_KEEP:]:
            stale.unlink(missing_ok=True)
    except OSError as exc:  # a cache that cannot be written costs time, not the result
        if log:
            log(f"could not cache the mined rules in {cache_dir}: {exc}")
    return rules


def _confidence(support: np.ndarray, body: np.ndarray, laplace: float) -> np.ndarray:
    return (support / (body + laplace)).astype(np.float32)


def _mine_path1(g: _Adjacency, config: RuleConfig) -> tuple[np.ndarray, ...]:
    r2 = 2 * g.num_relations
    multi = np.nonzero(g.pair_count >= 2)[0]
    starts, counts = g.pair_start[multi], g.pair_count[multi]
    heads = _ranges(starts, counts)  # every relation on a pair of several...
    per = np.repeat(counts, counts)
    bodies = _ranges(np.repeat(starts, counts), per)  # ... against every relation on the same pair
    heads = np.repeat(heads, per)
    keep = heads != bodies
    pairs = g.pair_rel[heads[keep]] * r2 + g.pair_rel[bodies[keep]]
    support = np.bincount(pairs, minlength=r2 * r2).reshape(r2, r2)
    body = np.bincount(g.rel, minlength=r2)
    return _select(np.argwhere(support >= config.min_support), support, body, config.min_confidence, config)


def _select(
    rows: np.ndarray, support: np.ndarray, body: np.ndarray, min_conf: float, config: RuleConfig
) -> tuple[np.ndarray, ...]:
    sup = support[rows[:, 0], rows[:, 1]]
    bod = body[rows[:, 1]]
    conf = _confidence(sup, bod, config.laplace)
    keep = conf >= min_conf
    return _compact(rows[keep], sup[keep], bod[keep], conf[keep])


def _mine_path2(g: _Adjacency, config: RuleConfig) -> tuple[np.ndarray, ...]:
    n, r2 = g.num_entities, 2 * g.num_relations
    found_rules, found_support, found_body = [], [], []
    for b1 in range(r2):
        first = g.by_relation[b1]
        if not first.nnz:
            continue
        reached = first @ g.facts  # (x, feature (b2, y)): paths x -b1-> z -b2-> y
        x, col = _rows_cols(reached)
        b2, y = g.feature_rel[col], g.feature_dst[col]
        keep = x != y
        x, b2, y = x[keep], b2[keep], y[keep]
        body = np.bincount(b2, minlength=r2)  # distinct (x, y) per b2: CSR entries are distinct
        which, q = g.relations_on(x * n + y)
        # counted sparsely: a user's graph may have thousands of relations (r2 * r2 would not fit)
        pair, support = np.unique(q * r2 + b2[which], return_counts=True)  # (q, b2) -> support
        kept = support >= config.min_support
        qs, b2s = pair[kept] // r2, pair[kept] % r2
        if len(qs):
            found_rules.append(np.stack([qs, np.full(len(qs), b1), b2s], axis=1))
            found_support.append(support[kept])
            found_body.append(body[b2s])
    if not found_rules:
        return _compact(np.empty((0, 3)), np.empty(0), np.empty(0), np.empty(0))
    rules, support = np.concatenate(found_rules), np.concatenate(found_support)
    body = np.concatenate(found_body)
    conf = _confidence(support, body, config.laplace)
    keep = conf >= config.min_confidence
    rules, support, body, conf = rules[keep], support[keep], body[keep], conf[keep]
    order = np.lexsort((-support, -conf, rules[:, 0]))  # per relation, most confident first
    rules, support, body, conf = rules[order], support[order], body[order], conf[order]
    rank = np.arange(len(rules)) - np.searchsorted(rules[:, 0], rules[:, 0])
    top = rank < config.max_path2
    return _compact(rules[top], support[top], body[top], conf[top])


def _mine_constant(g: _Adjacency, config: RuleConfig) -> tuple[np.ndarray, ...]:
    """``q(X, c) <- b(X, d)``: co-occurrence of two of an entity's features, counted as ``M^T M`` over the
    entity-by-feature matrix, in column blocks to bound memory."""
    feats = g.facts.tocsc()
    count = np.diff(feats.indptr)  # entities having each feature (b, d)
    limit = config.max_body if config.max_body is not None else len(count)
    least = max(config.min_support, config.constant_min_support)
    usable = np.nonzero((count >= least) & (count <= limit))[0]
    heads_ok = np.nonzero(count >= least)[0]
    m_body = feats[:, usable].tocsr()
    m_head_t = feats[:, heads_ok].T.tocsr()
    found: list[tuple[np.ndarray, ...]] = []
    block = max(1, 4_000_000 // max(1, int(np.mean(count[usable])) if len(usable) else 1))
    for lo in range(0, len(usable), block):
        co = (m_head_t @ m_body[:, lo : lo + block]).tocoo()
        head_f, body_f, support = heads_ok[co.row], usable[lo + co.col], co.data.astype(np.int64)
        conf = _confidence(support, count[body_f], config.laplace)
        keep = (support >= least) & (conf >= config.constant_min_confidence)
        # not the feature itself, and not d == c (a direct link: path1's business)
        keep &= (head_f != body_f) & (g.feature_dst[head_f] != g.feature_dst[body_f])
        head_f, body_f, support, conf = head_f[keep], body_f[keep], support[keep], conf[keep]
        rules = np.stack([g.feature_rel[head_f], g.feature_dst[head_f], g.feature_rel[body_f],
                          g.feature_dst[body_f]], axis=1)  # fmt: skip
        found.append(_compact(rules, support, count[body_f], conf))
    if not found:
        return _compact(np.empty((0, 4)), np.empty(0), np.empty(0), np.empty(0))
    return tuple(np.concatenate(part) for part in zip(*found, strict=True))  # type: ignore[return-value]


def _compact(
    rules: np.ndarray, support: np.ndarray, body: np.ndarray, conf: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A kind's arrays as stored: 32-bit (FB15k-237 has 5.6 million constant rules)."""
    return (rules.astype(np.int32), support.astype(np.int32), body.astype(np.int32),
            conf.astype(np.float32))  # fmt: skip

"""An in-memory adjacency index over training triples, both directions, as CSR arrays.

Every triple ``(h, r, t)`` with index ``i`` appears twice: ``h --r--> t`` and ``t --(r+R)--> h``, both
carrying edge id ``i``. Retrievers walk this index; excluding a target triple means dropping its edge id,
which removes both directions at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GraphIndex:
    """CSR adjacency: the edges leaving entity ``e`` are ``indptr[e]:indptr[e+1]`` of ``nbr/rel/eid``."""

    num_entities: int
    num_relations: int
    indptr: np.ndarray
    nbr: np.ndarray
    rel: np.ndarray
    eid: np.ndarray

    @classmethod
    def build(cls, triples: np.ndarray, num_entities: int, num_relations: int) -> GraphIndex:
        h, r, t = triples[:, 0], triples[:, 1], triples[:, 2]
        ids = np.arange(len(triples), dtype=np.int64)
        src = np.concatenate([h, t])
        dst = np.concatenate([t, h])
        rel = np.concatenate([r, r + num_relations])
        eid = np.concatenate([ids, ids])
        order = np.lexsort((rel, src))  # grouped by source, then relation: deterministic
        counts = np.bincount(src, minlength=num_entities)
        indptr = np.zeros(num_entities + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return cls(num_entities, num_relations, indptr, dst[order], rel[order], eid[order])

    def degree(self, entity: int) -> int:
        return int(self.indptr[entity + 1] - self.indptr[entity])

    def edges_of(self, entity: int) -> slice:
        return slice(int(self.indptr[entity]), int(self.indptr[entity + 1]))

    def relation_cooccurrence(self) -> np.ndarray:
        """``P(an entity has an out-edge of relation b | it has one of relation a)`` over ``2R`` relations.

        It tells which neighbouring edges tend to matter for a query relation: the signal the
        relation-aware retriever ranks edges by.
        """
        n_rel = 2 * self.num_relations
        present = np.zeros((self.num_entities, n_rel), dtype=np.float32)
        src = np.repeat(np.arange(self.num_entities), np.diff(self.indptr))
        present[src, self.rel] = 1.0
        counts = present.T @ present
        return counts / np.maximum(np.diag(counts)[:, None], 1.0)

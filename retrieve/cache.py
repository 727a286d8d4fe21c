"""Precomputed query subgraphs, so that training and evaluation do no graph walking in the loop.

:meth:`SubgraphCache.build` runs a retriever once per distinct query ``(entity, relation)`` and keeps the
results as flat arrays (CSR-style); :meth:`SubgraphCache.batch` turns a batch of queries into padded arrays,
removing the target triple's edge (and any entity left without an edge, so an isolated answer cannot leak).
Caches are saved as ``.npz`` files named by the dataset fingerprint and the retriever configuration.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.files import write_file
from retrieve.retrievers import SubgraphRetriever

#: Below this many queries, retrieval stays in-process: starting workers costs more than it saves.
PARALLEL_MIN_QUERIES = 4000


@dataclass
class Batch:
    """Padded context arrays for ``B`` queries.

    ``entities (B, K)`` global ids (column 0 = query entity), ``entity_mask (B, K)``;
    ``edge_src``/``edge_dst (B, M)`` local entity indices, ``edge_rel (B, M)`` relation ids in ``[0, 2R)``,
    ``edge_mask (B, M)``. Padding is 0 with mask ``False``.
    """

    entities: np.ndarray
    entity_mask: np.ndarray
    edge_src: np.ndarray
    edge_rel: np.ndarray
    edge_dst: np.ndarray
    edge_mask: np.ndarray


@dataclass
class SubgraphCache:
    """Subgraphs of distinct queries. ``keys`` is sorted ``entity * 2R + relation``."""

    num_rel2: int
    keys: np.ndarray
    ent_ptr: np.ndarray
    ents: np.ndarray
    edge_ptr: np.ndarray
    edges: np.ndarray
    max_edges: int

    @classmethod
    def build(
        cls,
        retriever: SubgraphRetriever,
        queries: np.ndarray,
        progress: Callable[[int, int], None] | None = None,
        workers: int | None = None,
    ) -> SubgraphCache:
        """Retrieve once per distinct row of ``queries`` ``(n, 2)``, in ``workers`` processes (default: the
        CPU count, at most 8; retrieval is Python and numpy, so processes rather than threads)."""
        num_rel2 = 2 * retriever.graph.num_relations
        keys = np.unique(_query_keys(queries, num_rel2))
        workers = min(8, os.cpu_count() or 1) if workers is None else workers
        if workers <= 1 or len(keys) < PARALLEL_MIN_QUERIES:
            return _build_keys((retriever, keys), progress)
        parts: list[SubgraphCache] = []
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            for part in pool.map(_build_keys, [(retriever, c) for c in np.array_split(keys, workers * 4)]):
                parts.append(part)
                if progress:
                    progress(sum(len(p.keys) for p in parts), len(keys))
        return _concat(parts)

    @classmethod
    def from_keys(
        cls,
        retriever: SubgraphRetriever,
        keys: np.ndarray,
        progress: Callable[[int, int], None] | None = None,
    ) -> SubgraphCache:
        """Retrieve the sorted query keys ``entity * 2R + relation`` in this process."""
        num_rel2 = 2 * retriever.graph.num_relations
        ent_parts, edge_parts = [], []
        ent_ptr = np.zeros(len(keys) + 1, dtype=np.int64)
        edge_ptr = np.zeros(len(keys) + 1, dtype=np.int64)
        for i, key in enumerate(keys.tolist()):
            sub = retriever.retrieve(key // num_rel2, key % num_rel2)
            ent_parts.append(sub.entities)
            edge_parts.append(sub.edges)
            ent_ptr[i + 1] = ent_ptr[i] + len(sub.entities)
            edge_ptr[i + 1] = edge_ptr[i] + len(sub.edges)
            if progress and (i + 1) % 5000 == 0:
                progress(i + 1, len(keys))
        ents = np.concatenate(ent_parts) if ent_parts else np.empty(0, dtype=np.int64)
        edges = np.concatenate(edge_parts) if edge_parts else np.empty((0, 4), dtype=np.int64)
        return cls(num_rel2, keys, ent_ptr, ents, edge_ptr, edges.reshape(-1, 4), retriever.max_edges)

    def rows(self, queries: np.ndarray) -> np.ndarray:
        rows, found = self._locate(_query_keys(queries, self.num_rel2))
        if not found.all():
            raise KeyError("query not in the subgraph cache; build the cache over these queries first")
        return rows

    def _locate(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row of each key by binary search in the sorted ``self.keys``, and whether it is there (np.isin
        would sort both arrays on every call: ~100 ms per batch against FB15k-237's 162k keys)."""
        rows = np.minimum(np.searchsorted(self.keys, keys), max(len(self.keys) - 1, 0))
        found = self.keys[rows] == keys if len(self.keys) else np.zeros(len(keys), dtype=bool)
        return rows, found

    def batch(self, queries: np.ndarray, exclude_edges: np.ndarray | None = None) -> Batch:
        """Padded contexts for ``queries (B, 2)``; ``exclude_edges (B,)`` is a global edge id per query to
        remove (``-1`` for none): the target triple during training.

        Vectorised over the batch (no per-query Python): on a GPU the batch is built on the CPU between
        steps, and a loop over 512 queries cost about as much as the step itself.
        """
        rows = self.rows(queries)
        n = len(rows)
        # edges: each row's slice as a (n, W) grid; drop the excluded one, keep the first max_edges
        edges, keep = _padded(self.edge_ptr, self.edges, rows)
        if exclude_edges is not None:
            target = np.asarray(exclude_edges, dtype=np.int64)[:, None]
            keep &= ~((edges[:, :, 3] == target) & (target >= 0))
        keep &= np.cumsum(keep, axis=1) <= self.max_edges
        edges, keep = _compact(edges, keep)
        # entities: keep the query entity and every endpoint of a kept edge (an isolated answer would leak)
        ents, present = _padded(self.ent_ptr, self.ents, rows)
        used = np.zeros(present.shape, dtype=bool)
        used[:, 0] = True
        row_of = np.broadcast_to(np.arange(n)[:, None], keep.shape)
        src, dst = np.where(keep, edges[:, :, 0], 0), np.where(keep, edges[:, :, 2], 0)
        used[row_of[keep], src[keep]] = True
        used[row_of[keep], dst[keep]] = True
        used &= present
        remap = np.cumsum(used, axis=1) - 1  # old local index -> new local index, per row
        src = np.where(keep, np.take_along_axis(remap, src, axis=1), 0)
        dst = np.where(keep, np.take_along_axis(remap, dst, axis=1), 0)
        ents, used = _compact(ents, used)
        return Batch(
            np.where(used, ents, 0),
            used,
            src,
            np.where(keep, edges[:, :, 1], 0),
            dst,
            keep,
        )

    def missing(self, queries: np.ndarray) -> np.ndarray:
        """The distinct rows of ``queries`` that this cache does not hold."""
        keys = np.unique(_query_keys(queries, self.num_rel2))
        absent = keys[~self._locate(keys)[1]]  # runs before every reader batch: no np.isin here
        return np.stack([absent // self.num_rel2, absent % self.num_rel2], axis=1)

    def merged(self, other: SubgraphCache) -> SubgraphCache:
        """One cache holding the queries of both (their keys must be disjoint)."""
        if np.isin(other.keys, self.keys).any():
            raise ValueError("caches to merge must hold different queries")
        keys = np.concatenate([self.keys, other.keys])
        order = np.argsort(keys, kind="stable")
        parts = [(self, r) for r in range(len(self.keys))] + [(other, r) for r in range(len(other.keys))]
        ents, edges = [], []
        for i in order.tolist():
            cache, r = parts[i]
            ents.append(cache.ents[cache.ent_ptr[r] : cache.ent_ptr[r + 1]])
            edges.append(cache.edges[cache.edge_ptr[r] : cache.edge_ptr[r + 1]])
        ent_ptr = np.concatenate([[0], np.cumsum([len(e) for e in ents])]).astype(np.int64)
        edge_ptr = np.concatenate([[0], np.cumsum([len(e) for e in edges])]).astype(np.int64)
        return SubgraphCache(
            self.num_rel2,
            keys[order],
            ent_ptr,
            np.concatenate(ents),
            edge_ptr,
            np.concatenate(edges).reshape(-1, 4),
            self.max_edges,
        )

    def queries(self) -> np.ndarray:
        return np.stack([self.keys // self.num_rel2, self.keys % self.num_rel2], axis=1)

    def save(self, path: Path) -> None:
        arrays = {
            "num_rel2": self.num_rel2,
            "keys": self.keys,
            "ent_ptr": self.ent_ptr,
            "ents": self.ents,
            "edge_ptr": self.edge_ptr,
            "edges": self.edges,
            "max_edges": self.max_edges,
        }

        def write(tmp: Path) -> None:
            with tmp.open("wb") as f:  # a file object: np.savez would add ".npz" to a path's name
                np.savez(f, **arrays)

        write_file(path, write)

    @classmethod
    def load(cls, path: Path) -> SubgraphCache:
        with np.load(path) as z:
            return cls(
                int(z["num_rel2"]),
                z["keys"],
                z["ent_ptr"],
                z["ents"],
                z["edge_ptr"],
                z["edges"],
                int(z["max_edges"]),
            )


def _query_keys(queries: np.ndarray, num_rel2: int) -> np.ndarray:
    """``entity * 2R + relation`` per query row: the cache's sort key."""
    return queries[:, 0].astype(np.int64) * num_rel2 + queries[:, 1]


def _padded(ptr: np.ndarray, values: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The CSR slices ``values[ptr[r]:ptr[r+1]]`` of ``rows`` as a ``(n, W, ...)`` grid and its mask (padding
    repeats ``values[0]`` under a False mask); ``W`` is the longest slice, at least 1."""
    first, count = ptr[rows], ptr[rows + 1] - ptr[rows]
    slot = np.arange(max(1, int(count.max(initial=0))))
    present = slot[None, :] < count[:, None]
    return values[np.where(present, first[:, None] + slot[None, :], 0)], present


def _compact(values: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move each row's kept entries to its front (order kept) and trim columns no row uses (at least 1)."""
    order = np.argsort(~keep, axis=1, kind="stable")
    keep = np.take_along_axis(keep, order, axis=1)
    index = order if values.ndim == 2 else order[:, :, None]
    width = max(1, int(keep.sum(axis=1).max(initial=0)))
    return np.take_along_axis(values, index, axis=1)[:, :width], keep[:, :width]


def _build_keys(
    job: tuple[SubgraphRetriever, np.ndarray], progress: Callable[[int, int], None] | None = None
) -> SubgraphCache:
    retriever, keys = job
    return SubgraphCache.from_keys(retriever, keys, progress)


def _concat(parts: list[SubgraphCache]) -> SubgraphCache:
    """Join caches whose keys are consecutive sorted ranges."""
    ent_ptr, edge_ptr = [np.zeros(1, dtype=np.int64)], [np.zeros(1, dtype=np.int64)]
    for p in parts:
        ent_ptr.append(p.ent_ptr[1:] + ent_ptr[-1][-1])
        edge_ptr.append(p.edge_ptr[1:] + edge_ptr[-1][-1])
    first = parts[0]
    return SubgraphCache(
        first.num_rel2, np.concatenate([p.keys for p in parts]), np.concatenate(ent_ptr),
        np.concatenate([p.ents for p in parts]), np.concatenate(edge_ptr),
        np.concatenate([p.edges for p in parts]).reshape(-1, 4), first.max_edges,
    )  # fmt: skip


def cache_path(cache_dir: Path, fingerprint: str, retriever: SubgraphRetriever, split: str) -> Path:
    config = json.dumps(retriever.config(), sort_keys=True)
    digest = hashlib.sha256(f"{fingerprint}|{config}|{split}".encode()).hexdigest()[:16]
    return Path(cache_dir) / f"subgraphs-{split}-{digest}.npz"

"""The user's own graph as a link-prediction dataset: facts from the store, split reproducibly.

Relations are canonicalised by ``kg.keys.relation_key`` (the store keeps that key on every fact), entities
by ``kg.keys.entity_key``. A triple stated by many sentences counts once. The split: distinct triples sorted,
shuffled with ``seed``, then ``test_fraction`` and ``valid_fraction`` of them held out; a held-out triple
whose head, tail or relation appears in no training triple goes back to train (link prediction can only
rank entities and relations it has seen). Same store + same seed = same split.
"""

from __future__ import annotations

import random

from kg.store import FactStore
from retrieve.data import DatasetError, TripleDataset, from_string_triples


def split_triples(
    triples: set[tuple[str, str, str]],
    *,
    seed: int = 0,
    valid_fraction: float = 0.1,
    test_fraction: float = 0.1,
) -> dict[str, list[tuple[str, str, str]]]:
    """The documented split (see the module docstring)."""
    ordered = sorted(triples)
    random.Random(seed).shuffle(ordered)
    n_test, n_valid = int(len(ordered) * test_fraction), int(len(ordered) * valid_fraction)
    test, valid, train = ordered[:n_test], ordered[n_test : n_test + n_valid], ordered[n_test + n_valid :]
    seen_e = {x for h, _, t in train for x in (h, t)}
    seen_r = {r for _, r, _ in train}
    out: dict[str, list[tuple[str, str, str]]] = {"train": train, "valid": [], "test": []}
    for name, rows in (("valid", valid), ("test", test)):
        for h, r, t in rows:
            if h in seen_e and t in seen_e and r in seen_r:
                out[name].append((h, r, t))
            else:
                out["train"].append((h, r, t))
                seen_e.update((h, t))
                seen_r.add(r)
    return out


def store_dataset(
    store: FactStore,
    *,
    seed: int = 0,
    valid_fraction: float = 0.1,
    test_fraction: float = 0.1,
    name: str = "store",
) -> TripleDataset:
    """Read every fact of ``store`` and split it (raises DatasetError when there are too few facts)."""
    triples = {(e.head, e.relation, e.tail) for e in store.iter_edges()}
    if len(triples) < 10:
        raise DatasetError(
            f"the store holds {len(triples)} distinct facts; link prediction needs at least 10 "
            "(ingest and extract more documents first)"
        )
    return from_string_triples(split_triples(triples, seed=seed, valid_fraction=valid_fraction,
                                             test_fraction=test_fraction), name=name)  # fmt: skip

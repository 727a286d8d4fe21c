"""Filtered link-prediction evaluation: ranks over all entities, both directions, ties averaged.

A test triple ``(h, r, t)`` gives two queries: ``(h, r, ?)`` with answer ``t`` and ``(t, r⁻¹, ?)`` with answer
``h`` (inverse relations have ids ``r + num_relations``). Other known answers of the same query (from train,
valid and test) are removed before ranking ("filtered"). A tie is counted as the mean of the optimistic and
the pessimistic rank, so a model that scores everything equal gets rank (N+1)/2, not 1.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np
import torch

from reader.base import LinkPredictor
from retrieve.data import TripleDataset

Scorer = Callable[[torch.Tensor], torch.Tensor]
"""Scores queries ``(B, 2)`` of (entity, relation-or-inverse) against every entity: ``(B, num_entities)``."""


@dataclass(frozen=True)
class Metrics:
    mrr: float
    hits1: float
    hits3: float
    hits10: float
    queries: int

    def as_json(self) -> dict[str, float | int]:
        d = asdict(self)
        return {"mrr": d["mrr"], "hits@1": d["hits1"], "hits@3": d["hits3"], "hits@10": d["hits10"],
                "queries": d["queries"]}  # fmt: skip


def with_inverse(triples: np.ndarray, num_relations: int) -> np.ndarray:
    """Queries and answers for both directions: rows ``(e, r or r + R, answer)``."""
    inverse = np.stack([triples[:, 2], triples[:, 1] + num_relations, triples[:, 0]], axis=1)
    return np.concatenate([triples, inverse], axis=0)


def known_answers(data: TripleDataset) -> dict[tuple[int, int], np.ndarray]:
    """Every true answer of every query over all splits (the filter)."""
    answers: dict[tuple[int, int], list[int]] = defaultdict(list)
    for split in (data.train, data.valid, data.test):
        for e, r, a in with_inverse(split, data.num_relations).tolist():
            answers[(e, r)].append(a)
    return {k: np.unique(v) for k, v in answers.items()}


def filtered_ranks(
    scores: torch.Tensor, answers: torch.Tensor, filter_rows: list[np.ndarray]
) -> torch.Tensor:
    """Ranks (1-based, ties averaged) of ``answers`` in ``scores`` after removing other known answers.

    Args:
        scores: ``(B, N)`` scores, higher is better.
        answers: ``(B,)`` the entity to rank per row.
        filter_rows: per row, the known answers to remove (may include the answer itself, which is kept).

    Example:
        >>> s = torch.tensor([[0.9, 0.5, 0.5, 0.1]])
        >>> filtered_ranks(s, torch.tensor([1]), [np.array([], dtype=int)]).tolist()  # tie with entity 2
        [2.5]
        >>> filtered_ranks(s, torch.tensor([1]), [np.array([0])]).tolist()  # entity 0 is filtered out
        [1.5]
    """
    scores = filtered_scores(scores, answers, filter_rows)
    target = scores.gather(1, answers[:, None])
    higher = (scores > target).sum(dim=1)
    equal = (scores == target).sum(dim=1) - 1  # other entities with the very same score
    return 1.0 + higher.double() + equal.double() / 2.0


def filtered_scores(
    scores: torch.Tensor, answers: torch.Tensor, filter_rows: list[np.ndarray]
) -> torch.Tensor:
    """A float copy of ``scores`` with each row's other known answers set to ``-inf`` (its answer kept).

    Example:
        >>> filtered_scores(torch.tensor([[0.9, 0.5, 0.1]]), torch.tensor([0]), [np.array([0, 2])]).tolist()
        [[0.8999999761581421, 0.5, -inf]]
    """
    scores = scores.float().clone()
    rows = torch.arange(scores.shape[0], device=scores.device)
    target = scores[rows, answers].clone()
    for i, known in enumerate(filter_rows):
        if len(known):
            scores[i, torch.as_tensor(known, device=scores.device)] = float("-inf")
    scores[rows, answers] = target
    return scores


def query_batches(
    data: TripleDataset,
    split: str,
    *,
    limit: int | None = None,
    seed: int = 0,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
    answers: dict[tuple[int, int], np.ndarray] | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor, list[np.ndarray]]]:
    """The queries of ``split`` (or of a seeded subset of ``limit`` triples) in batches, tails first, then
    heads (:func:`with_inverse`): per batch the queries ``(B, 2)``, their answers ``(B,)`` and each row's
    known answers (the filter)."""
    answers = answers if answers is not None else known_answers(data)
    queries = with_inverse(sample_triples(data.split(split), limit, seed), data.num_relations)
    for start in range(0, len(queries), batch_size):
        chunk = queries[start : start + batch_size]
        filters = [answers[(e, r)] for e, r in chunk[:, :2].tolist()]
        target = torch.as_tensor(chunk[:, 2], device=device)
        yield torch.as_tensor(chunk[:, :2], device=device), target, filters


def metrics_from_ranks(ranks: torch.Tensor) -> Metrics:
    ranks = ranks.double()
    return Metrics(
        mrr=float((1.0 / ranks).mean()),
        hits1=float((ranks <= 1).double().mean()),
        hits3=float((ranks <= 3).double().mean()),
        hits10=float((ranks <= 10).double().mean()),
        queries=int(ranks.numel()),
    )


def paired_gain_z(gain: torch.Tensor) -> float:
    """The mean of a paired per-query ``gain`` (one scoring against another on the same queries) in standard
    errors; 0 for fewer than two queries, infinite for a gain without spread that is positive.

    Example:
        >>> round(paired_gain_z(torch.tensor([0.0, 0.5, 0.0, 0.5])), 3)   # mean 0.25, standard error 0.144
        1.732
    """
    if len(gain) < 2:
        return 0.0
    se, mean = float(gain.std()) / len(gain) ** 0.5, float(gain.mean())
    return mean / se if se > 0 else (float("inf") if mean > 0 else 0.0)


def sample_triples(triples: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """A seeded subset of ``limit`` triples (all of them when ``limit`` is None or large enough)."""
    if limit is None or limit >= len(triples):
        return triples
    rng = np.random.default_rng(seed)
    return triples[np.sort(rng.choice(len(triples), size=limit, replace=False))]


@torch.no_grad()
def query_ranks(
    scorer: Scorer,
    data: TripleDataset,
    split: str = "test",
    *,
    limit: int | None = None,
    seed: int = 0,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
    answers: dict[tuple[int, int], np.ndarray] | None = None,
) -> torch.Tensor:
    """The filtered rank of every query of ``split`` (or of a seeded subset of it), tails first, then heads
    (:func:`with_inverse`'s order): :func:`metrics_from_ranks` sums them up; kept per query for paired
    comparisons (``bench/lp_compare.py``). Empty when the split has no queries."""
    ranks = query_ranks_many(
        lambda batch: (scorer(batch),), data, split, limit=limit, seed=seed, batch_size=batch_size,
        device=device, answers=answers,
    )  # fmt: skip
    return ranks[0] if ranks else torch.empty(0)


@torch.no_grad()
def query_ranks_many(
    scorer: Callable[[torch.Tensor], Sequence[torch.Tensor]],
    data: TripleDataset,
    split: str = "test",
    *,
    limit: int | None = None,
    seed: int = 0,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
    answers: dict[tuple[int, int], np.ndarray] | None = None,
) -> list[torch.Tensor]:
    """:func:`query_ranks` for a scorer that gives several score matrices per batch (variants of one model,
    computed together): one tensor of ranks per matrix, or ``[]`` when the split has no queries (the scorer
    is never called, so the number of matrices is unknown)."""
    ranks: list[list[torch.Tensor]] = []
    batches = query_batches(data, split, limit=limit, seed=seed, batch_size=batch_size, device=device,
                            answers=answers)  # fmt: skip
    for batch, target, filters in batches:
        ranks.append([filtered_ranks(scores, target, filters).cpu() for scores in scorer(batch)])
    return [torch.cat(column) for column in zip(*ranks, strict=True)]


def model_ranks(
    model: LinkPredictor,
    data: TripleDataset,
    split: str = "test",
    *,
    limit: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    answers: dict[tuple[int, int], np.ndarray] | None = None,
    log: Callable[[str], None] | None = None,
) -> torch.Tensor:
    """:func:`query_ranks` for a model: prepares its queries (the reader retrieves subgraphs once) and
    scores under bf16 autocast on CUDA (final scores stay fp32, see the models)."""
    ranks = model_ranks_many(
        model, lambda batch: (model.score(batch),), data, split, limit=limit, seed=seed, device=device,
        answers=answers, log=log,
    )  # fmt: skip
    return ranks[0] if ranks else torch.empty(0)


def model_ranks_many(
    model: LinkPredictor,
    scorer: Callable[[torch.Tensor], Sequence[torch.Tensor]],
    data: TripleDataset,
    split: str = "test",
    *,
    limit: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    answers: dict[tuple[int, int], np.ndarray] | None = None,
    log: Callable[[str], None] | None = None,
) -> list[torch.Tensor]:
    """:func:`model_ranks` for ``scorer``, several variants of ``model``'s scores per batch
    (:func:`query_ranks_many`)."""
    with scoring(model, data, split, limit=limit, seed=seed, device=device, log=log):
        return query_ranks_many(scorer, data, split, limit=limit, seed=seed, device=device, answers=answers)


@contextmanager
def scoring(
    model: LinkPredictor,
    data: TripleDataset,
    split: str,
    *,
    limit: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    log: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Ready ``model`` to score the queries :func:`query_batches` gives for the same arguments: prepares them
    (the reader retrieves their subgraphs once), then scores under bf16 autocast on CUDA (final scores stay
    fp32, see the models)."""
    queries = with_inverse(sample_triples(data.split(split), limit, seed), data.num_relations)
    model.prepare(queries[:, :2], log)
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=torch.device(device).type == "cuda"):
        yield


def evaluate_model(
    model: LinkPredictor,
    data: TripleDataset,
    split: str = "test",
    *,
    limit: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    answers: dict[tuple[int, int], np.ndarray] | None = None,
    log: Callable[[str], None] | None = None,
) -> Metrics:
    """Filtered MRR and Hits@1/3/10 of a model over both directions of ``split`` (or a seeded subset of
    it): :func:`metrics_from_ranks` of :func:`model_ranks`."""
    return metrics_from_ranks(
        model_ranks(model, data, split, limit=limit, seed=seed, device=device, answers=answers, log=log)
    )

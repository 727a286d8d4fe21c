"""Scoring both directions of a triple: fit the weight of the reverse reading on valid.

Training with inverse relations (:mod:`reader.evaluate`) teaches a model two readings of each triple
``(h, r, t)``: the query ``(h, r, ?)`` ranks ``t``, and ``(t, r⁻¹, ?)`` ranks ``h``, with separate relation
vectors. At test time the query ``(x, r, ?)`` only asks the first. For a candidate ``e`` the second reading,
the score of ``(e, r⁻¹, x)``, is a further opinion at the cost of one more product with the entity table
(:meth:`~reader.base.LinkPredictor.reverse_scores`); :meth:`~reader.base.LinkPredictor.score` adds it with
weight ``reverse_weight``. The two readings are trained on different softmaxes, so they err differently,
as two models of an ensemble do. It is a scoring setting: training never sees it, and the weights do
not change.

:func:`fit_reverse_weight` picks the weight from a grid by MRR on a validation split, but moves off the
grid's smallest weight (0 by default) only for a gain larger than that split's noise (:func:`choose_weight`).
On the shipped FB15k-237 reader it adds +0.0044 test MRR at weight 0.5, chosen on valid (bench/RESULTS.md,
eighteenth session).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from reader.base import LinkPredictor
from reader.evaluate import Metrics, metrics_from_ranks, model_ranks_many, paired_gain_z
from retrieve.data import TripleDataset

GRID: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
"""The weights :func:`fit_reverse_weight` tries by default (0 = the direct scores alone)."""


MIN_Z = 2.0
"""How many standard errors of the paired per-query gain in reciprocal rank a weight must beat the grid's
smallest by (:func:`choose_weight`): on a small valid split the best of five weights often wins by noise."""


@dataclass(frozen=True)
class ReverseFit:
    """The chosen ``weight``, every tried weight's metrics on ``split``, and the rule's ``min_z``."""

    weight: float
    split: str
    metrics: dict[float, Metrics]
    min_z: float = MIN_Z

    def as_json(self) -> dict[str, object]:
        return {"weight": self.weight, "split": self.split,
                "mrr": {str(w): round(m.mrr, 6) for w, m in self.metrics.items()},
                "queries": next(iter(self.metrics.values())).queries, "min_z": self.min_z}  # fmt: skip


def choose_weight(ranks: dict[float, torch.Tensor], min_z: float = MIN_Z) -> float:
    """The weight with the best MRR among the smallest one and those that beat it by at least ``min_z``
    standard errors of the paired per-query difference in reciprocal rank (the smaller weight on a tie).

    Args:
        ranks: each weight's ranks of the same queries, in the same order.
        min_z: 0 takes any weight that does not lose to the smallest: the plain best MRR.

    Example:
        >>> base = torch.full((400,), 2.0)                  # MRR 0.5
        >>> lucky = base.clone(); lucky[0] = 1.0              # one query better: MRR +0.00125
        >>> clear = base.clone(); clear[:100] = 1.0           # a quarter better: MRR +0.125
        >>> choose_weight({0.0: base, 0.5: lucky}), choose_weight({0.0: base, 0.5: lucky}, min_z=0.0)
        (0.0, 0.5)
        >>> choose_weight({0.0: base, 0.5: lucky, 1.0: clear})
        1.0
    """
    reciprocal = {w: 1.0 / r.double() for w, r in sorted(ranks.items())}
    smallest, *others = reciprocal
    if len(reciprocal[smallest]) < 2:
        return smallest  # no spread to judge a gain by

    allowed = [smallest] + [w for w in others if paired_gain_z(reciprocal[w] - reciprocal[smallest]) >= min_z]
    return max(allowed, key=lambda w: (float(reciprocal[w].mean()), -w))


@torch.no_grad()
def fit_reverse_weight(
    model: LinkPredictor,
    data: TripleDataset,
    *,
    split: str = "valid",
    limit: int | None = None,
    seed: int = 0,
    grid: Sequence[float] = GRID,
    device: str | torch.device = "cpu",
    answers: dict[tuple[int, int], np.ndarray] | None = None,
    log: Callable[[str], None] | None = None,
    min_z: float = MIN_Z,
) -> ReverseFit:
    """Score ``split`` (or a seeded subset of ``limit`` triples) once, rank it under every weight of
    ``grid``, and return the weight :func:`choose_weight` picks: the best MRR, but a weight above the grid's
    smallest only when it beats that one by more than the split's noise. The model's own
    ``reverse_weight`` is neither used nor changed: set it with ``model.set_reverse_weight(fit.weight)``.

    Args:
        model: a model that can score the reverse direction (``model.can_score_reverse()``).
        data, split, limit, seed, device, answers: as :func:`reader.evaluate.model_ranks`.
        grid: the weights to try, each >= 0.
        min_z: as :func:`choose_weight` (0: the plain best MRR).

    Raises:
        ValueError: the model cannot score the reverse direction, or the grid is empty or has a
            negative weight.

    Example:
        >>> from retrieve.data import from_string_triples
        >>> from reader.kge import ComplExModel
        >>> pairs = [(f"e{i}", "r", f"e{(i + 1) % 6}") for i in range(6)]
        >>> data = from_string_triples({"train": pairs, "valid": pairs[:2], "test": pairs[2:4]})
        >>> fit = fit_reverse_weight(ComplExModel(6, 1, dim=4).eval(), data, grid=(0.0, 1.0))
        >>> sorted(fit.metrics), fit.metrics[0.0].queries
        ([0.0, 1.0], 4)
    """
    if not model.can_score_reverse():
        raise ValueError(f"model {model.name!r} cannot score the reverse direction")
    weights = [float(w) for w in grid]
    if not weights or min(weights) < 0:
        raise ValueError(f"the grid of reverse weights must be non-empty and >= 0, got {list(grid)}")

    def variants(batch: torch.Tensor) -> list[torch.Tensor]:
        direct, reverse = model.direct_scores(batch), model.reverse_scores(batch)
        return [direct + w * reverse if w else direct for w in weights]

    ranks = model_ranks_many(
        model, variants, data, split, limit=limit, seed=seed, device=device, answers=answers, log=log
    )
    ranks = ranks or [torch.empty(0)] * len(weights)  # no queries: all nan, the smallest weight kept
    metrics = {w: metrics_from_ranks(r) for w, r in zip(weights, ranks, strict=True)}
    best = choose_weight(dict(zip(weights, ranks, strict=True)), min_z)
    return ReverseFit(best, split, metrics, min_z)

"""How sure is a predicted answer? Probabilities from a model's scores, calibrated on valid.

Every model here trains a softmax over all entities, so ``softmax(scores / T)`` (:func:`answer_probabilities`)
is the model's probability that an entity answers a query. Over the candidates that count, that is: the
answers the graph already knows are left out and the rest renormalised, as filtered ranking leaves them out
(:mod:`reader.evaluate`). At ``T = 1`` that probability is the trained one, but a softmax trained with a
regulariser and for a budget is seldom calibrated, and the reverse reading (:mod:`reader.reverse`) adds a
second score to the first. Temperature scaling (Guo et al., 2017, "On calibration of modern neural
networks") fixes the scale with one number: :func:`fit_temperature` picks the ``T`` with the lowest
negative log-likelihood of the valid answers. Dividing all scores by one ``T > 0`` keeps their order, so
ranks and MRR do not change.

:class:`Calibration` measures a temperature: the answers' mean negative log-probability, and the expected
calibration error of the top answer (ECE: over bins of the top answer's probability, how far the share of
top answers that are right lies from the probability they were given).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from reader.base import LinkPredictor
from reader.evaluate import filtered_scores, query_batches, sample_triples, with_inverse
from retrieve.data import TripleDataset

TEMPERATURES: tuple[float, ...] = tuple(2.0 ** (k / 6) for k in range(-18, 19))
"""The temperatures :func:`fit_temperature` tries by default: 1/8 to 8, 12 % apart, 1 among them."""

BINS = 15
"""Equal-width bins of the top answer's probability for the calibration error (the usual 15)."""


@dataclass(frozen=True)
class Calibration:
    """How well ``softmax(scores / temperature)`` fits the answers of ``queries`` queries.

    ``nll``: the answers' mean negative log-probability (lower is better). ``ece``: the top answer's expected
    calibration error (0 is perfect). ``accuracy``: the share of queries whose top answer is the answer.
    ``confidence``: the top answer's mean probability. ``bins``: per bin of that probability, (lower edge,
    queries, mean probability, share right), empty bins left out.
    """

    temperature: float
    nll: float
    ece: float
    accuracy: float
    confidence: float
    queries: int
    bins: list[tuple[float, int, float, float]] = field(default_factory=list, repr=False)

    def as_json(self) -> dict[str, float | int]:
        return {"temperature": self.temperature, "nll": round(self.nll, 6),
                "ece": round(self.ece, 6), "accuracy": round(self.accuracy, 6),
                "confidence": round(self.confidence, 6), "queries": self.queries}  # fmt: skip


@dataclass(frozen=True)
class TemperatureFit:
    """The chosen ``temperature``; :class:`Calibration` at ``T = 1`` (``before``) and at it (``after``)."""

    temperature: float
    split: str
    before: Calibration
    after: Calibration

    def as_json(self) -> dict[str, object]:
        return {"temperature": self.temperature, "split": self.split,
                "before": self.before.as_json(), "after": self.after.as_json()}  # fmt: skip


def answer_probabilities(scores: torch.Tensor, temperature: float, known: torch.Tensor) -> torch.Tensor:
    """``softmax(scores / temperature)`` over the entities that are not ``known`` (those get 0).

    Args:
        scores: ``(N,)`` or ``(B, N)`` scores, higher is better.
        temperature: > 0; 1 is the model's own softmax.
        known: a bool mask shaped like ``scores``: answers to leave out (the graph already has them).

    Example:
        >>> s = torch.tensor([2.0, 0.0, 0.0])
        >>> answer_probabilities(s, 1.0, torch.tensor([True, False, False])).tolist()
        [0.0, 0.5, 0.5]
        >>> [round(p, 3) for p in answer_probabilities(s, 2.0, torch.zeros(3, dtype=torch.bool)).tolist()]
        [0.576, 0.212, 0.212]
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    masked = scores.float().masked_fill(known, float("-inf")) / temperature
    return torch.softmax(masked, dim=-1).nan_to_num(0.0)  # every entity known: all 0, not nan


def calibration(
    temperature: float, answer_logp: torch.Tensor, top_p: torch.Tensor, right: torch.Tensor, bins: int = BINS
) -> Calibration:
    """:class:`Calibration` from per-query statistics at one temperature.

    Args:
        answer_logp: ``(Q,)`` each answer's log-probability.
        top_p: ``(Q,)`` the top answer's probability.
        right: ``(Q,)`` bool, whether the top answer is the answer.

    Example:
        >>> c = calibration(1.0, torch.log(torch.tensor([0.9, 0.1])), torch.tensor([0.9, 0.6]),
        ...                 torch.tensor([True, False]), bins=10)
        >>> round(c.ece, 3), c.accuracy, [b[1] for b in c.bins]   # (0.1 + 0.6) / 2
        (0.35, 0.5, [1, 1])
    """
    n = len(top_p)
    if n == 0:
        return Calibration(temperature, float("nan"), float("nan"), float("nan"), float("nan"), 0)
    top_p, right = top_p.double(), right.double()
    which = torch.clamp((top_p * bins).long(), max=bins - 1)
    ece, table = 0.0, []
    for b in range(bins):
        inside = which == b
        count = int(inside.sum())
        if count:
            p, acc = float(top_p[inside].mean()), float(right[inside].mean())
            ece += count / n * abs(acc - p)
            table.append((b / bins, count, p, acc))
    return Calibration(temperature, float(-answer_logp.double().mean()), ece, float(right.mean()),
                       float(top_p.mean()), n, table)  # fmt: skip


@torch.no_grad()
def measure(
    model: LinkPredictor,
    data: TripleDataset,
    temperatures: Sequence[float],
    *,
    split: str = "valid",
    limit: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    answers: dict[tuple[int, int], np.ndarray] | None = None,
    log: Callable[[str], None] | None = None,
) -> list[Calibration]:
    """Score ``split`` (or a seeded subset of ``limit`` triples) once, filtered as for ranking, and measure
    each of ``temperatures`` (each > 0) on it, in their order. The model's scores, its ``reverse_weight``
    included, are used as they are.

    Args:
        model, data, split, limit, seed, device, answers: as :func:`reader.evaluate.model_ranks`.
    """
    temperatures = [float(t) for t in temperatures]
    queries = with_inverse(sample_triples(data.split(split), limit, seed), data.num_relations)[:, :2]
    model.prepare(queries, log)
    answer_logp, top_p, right = [], [], []
    batches = query_batches(data, split, limit=limit, seed=seed, device=device, answers=answers)
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=torch.device(device).type == "cuda"):
        for batch, target, filters in batches:
            scores = filtered_scores(model.score(batch), target, filters)
            top = scores.max(dim=1)
            answer = scores.gather(1, target[:, None])[:, 0]
            lse = torch.stack([torch.logsumexp(scores / t, dim=1) for t in temperatures])  # (T, B)
            scale = torch.tensor(temperatures, device=scores.device)[:, None]
            answer_logp.append((answer[None] / scale - lse).cpu())
            top_p.append((top.values[None] / scale - lse).exp().cpu())
            right.append((top.indices == target).cpu())
    logp = torch.cat(answer_logp, dim=1) if answer_logp else torch.empty(len(temperatures), 0)
    p_top = torch.cat(top_p, dim=1) if top_p else torch.empty(len(temperatures), 0)
    hit = torch.cat(right) if right else torch.empty(0, dtype=torch.bool)
    return [calibration(t, logp[i], p_top[i], hit) for i, t in enumerate(temperatures)]


def fit_temperature(
    model: LinkPredictor,
    data: TripleDataset,
    *,
    split: str = "valid",
    limit: int | None = None,
    seed: int = 0,
    grid: Sequence[float] = TEMPERATURES,
    device: str | torch.device = "cpu",
    answers: dict[tuple[int, int], np.ndarray] | None = None,
    log: Callable[[str], None] | None = None,
) -> TemperatureFit:
    """The temperature of ``grid`` with the lowest mean negative log-likelihood of the answers of ``split``
    (or of a seeded subset of ``limit`` triples), the smaller one on a tie, scored once (:func:`measure`).
    Nothing in the model changes.

    Args:
        model, data, split, limit, seed, device, answers: as :func:`reader.evaluate.model_ranks`.
        grid: the temperatures to try, each > 0; 1 is added when missing, for ``before``.

    Raises:
        ValueError: the grid is empty or has a temperature <= 0.

    Example:
        >>> from retrieve.data import from_string_triples
        >>> from reader.kge import ComplExModel
        >>> pairs = [(f"e{i}", "r", f"e{(i + 1) % 6}") for i in range(6)]
        >>> data = from_string_triples({"train": pairs, "valid": pairs[:2], "test": pairs[2:4]})
        >>> fit = fit_temperature(ComplExModel(6, 1, dim=4).eval(), data, grid=(0.5, 2.0))
        >>> fit.before.temperature, fit.after.nll <= fit.before.nll, fit.after.queries
        (1.0, True, 4)
    """
    temperatures = sorted({float(t) for t in grid} | {1.0})
    if not grid or temperatures[0] <= 0:
        raise ValueError(f"the grid of temperatures must be non-empty and > 0, got {list(grid)}")
    measured = measure(model, data, temperatures, split=split, limit=limit, seed=seed, device=device,
                       answers=answers, log=log)  # fmt: skip
    at_one = measured[temperatures.index(1.0)]
    best = min(measured, key=lambda c: (c.nll, c.temperature)) if at_one.queries else at_one
    return TemperatureFit(best.temperature, split, at_one, best)

"""How sure is a predicted answer? Probabilities from a model's scores, calibrated on valid.

Every model here trains a softmax over all entities, so ``softmax(scores / T)`` (:func:`answer_probabilities`)
is the model's probability that an entity answers a query. Over the candidates that count, that is: the
answers the graph already knows are left out and the rest renormalised, as filtered ranking leaves them out
(:mod:`reader.evaluate`). At ``T = 1`` that probability is the trained one, but a softmax trained with a
regulariser and for a budget is seldom calibrated, and the reverse reading (:mod:`reader.reverse`) adds a
second score to the first. Temperature scaling (Guo et al., 2017, "On calibration of modern neural
networks") fixes the scale with one number. Dividing all scores by one ``T > 0`` keeps their order, so ranks
and MRR do not change.

:func:`fit_temperature` picks the ``T`` whose probabilities for the ``SHOWN`` best answers of each valid query
(what ``factloom lp predict`` prints by default) are best calibrated, each against whether it is the answer.
The usual criterion, the answers' negative log-likelihood, weighs the whole distribution: for a weak model
it flattens the probabilities until the top answers' are several times too small (bench/RESULTS.md,
twenty-second session).

:class:`Calibration` measures a temperature: the answers' mean negative log-probability, and expected
calibration errors (ECE: over bins of probability, how far the share of answers that are right lies from the
probability they were given) of the top answer and of the shown answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from reader.base import LinkPredictor
from reader.evaluate import filtered_scores, query_batches, scoring
from retrieve.data import TripleDataset

TEMPERATURES: tuple[float, ...] = tuple(2.0 ** (k / 6) for k in range(-18, 19))
"""The temperatures :func:`fit_temperature` tries by default: 1/8 to 8, 12 % apart, 1 among them."""

BINS = 15
"""Equal-width bins of probability for the calibration errors (the usual 15)."""

SHOWN = 10
"""How many best answers per query the fit calibrates: ``factloom lp predict``'s default ``--top-k``."""


@dataclass(frozen=True)
class Calibration:
    """How well ``softmax(scores / temperature)`` fits the answers of ``queries`` queries.

    ``nll``: the answers' mean negative log-probability (lower is better). ``ece``: the top answer's expected
    calibration error (0 is perfect). ``ece_shown``: the same over the ``SHOWN`` best answers of every query,
    each a (probability, is it the answer) pair. ``accuracy``: the share of queries whose top answer is the
    answer. ``confidence``: the top answer's mean probability. ``bins``: per bin of the top answer's
    probability, (lower edge, queries, mean probability, share right), empty bins left out.
    """

    temperature: float
    nll: float
    ece: float
    ece_shown: float
    accuracy: float
    confidence: float
    queries: int
    bins: list[tuple[float, int, float, float]] = field(default_factory=list, repr=False)

    def as_json(self) -> dict[str, float | int]:
        return {"temperature": self.temperature, "nll": round(self.nll, 6), "ece": round(self.ece, 6),
                "ece_shown": round(self.ece_shown, 6), "accuracy": round(self.accuracy, 6),
                "confidence": round(self.confidence, 6), "queries": self.queries}  # fmt: skip


@dataclass(frozen=True)
class TemperatureFit:
    """The chosen ``temperature``; :class:`Calibration` at ``T = 1`` (``before``) and at it (``after``)."""

    temperature: float
    split: str
    before: Calibration
    after: Calibration

    def as_json(self) -> dict[str, object]:
        return {"temperature": self.temperature, "split": self.split, "criterion": "ece_shown",
                "shown": SHOWN, "before": self.before.as_json(), "after": self.after.as_json()}  # fmt: skip


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


def expected_calibration_error(
    p: torch.Tensor, right: torch.Tensor, bins: int = BINS
) -> tuple[float, list[tuple[float, int, float, float]]]:
    """The ECE of probabilities ``p`` against outcomes ``right`` (same shape, flattened), and per non-empty
    bin (lower edge, count, mean probability, share right).

    Example:
        >>> ece, table = expected_calibration_error(torch.tensor([0.9, 0.6]), torch.tensor([True, False]), 10)
        >>> round(ece, 3), [row[1] for row in table]   # (0.1 + 0.6) / 2
        (0.35, [1, 1])
    """
    p, right = p.reshape(-1).double(), right.reshape(-1).double()
    which = torch.clamp((p * bins).long(), max=bins - 1)
    ece, table = 0.0, []
    for b in range(bins):
        inside = which == b
        count = int(inside.sum())
        if count:
            mean_p, share = float(p[inside].mean()), float(right[inside].mean())
            ece += count / len(p) * abs(share - mean_p)
            table.append((b / bins, count, mean_p, share))
    return ece, table


def calibration(
    temperature: float,
    answer_logp: torch.Tensor,
    shown_p: torch.Tensor,
    shown_right: torch.Tensor,
    bins: int = BINS,
) -> Calibration:
    """:class:`Calibration` from per-query statistics at one temperature.

    Args:
        answer_logp: ``(Q,)`` each answer's log-probability.
        shown_p: ``(Q, K)`` the probabilities of each query's ``K`` best answers, best first.
        shown_right: ``(Q, K)`` bool, whether each of them is the answer.

    Example:
        >>> c = calibration(1.0, torch.log(torch.tensor([0.9, 0.1])), torch.tensor([[0.9, 0.05], [0.6, 0.1]]),
        ...                 torch.tensor([[True, False], [False, True]]), bins=10)
        >>> round(c.ece, 3), c.accuracy   # the top answers: (0.1 + 0.6) / 2
        (0.35, 0.5)
        >>> round(c.ece_shown, 4)         # all four, each in its own bin: (0.1 + 0.05 + 0.6 + 0.9) / 4
        0.4125
    """
    n = len(shown_p)
    if n == 0:
        nan = float("nan")
        return Calibration(temperature, nan, nan, nan, nan, nan, 0)
    ece, table = expected_calibration_error(shown_p[:, 0], shown_right[:, 0], bins)
    ece_shown, _ = expected_calibration_error(shown_p, shown_right, bins)
    return Calibration(temperature, float(-answer_logp.double().mean()), ece, ece_shown,
                       float(shown_right[:, 0].double().mean()), float(shown_p[:, 0].double().mean()), n,
                       table)  # fmt: skip


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
    answer_logp, shown_p, shown_right = [], [], []
    batches = query_batches(data, split, limit=limit, seed=seed, device=device, answers=answers)
    with scoring(model, data, split, limit=limit, seed=seed, device=device, log=log):
        for batch, target, filters in batches:
            scores = filtered_scores(model.score(batch), target, filters)
            best = scores.topk(min(SHOWN, scores.shape[1]), dim=1)
            answer = scores.gather(1, target[:, None])
            lse = torch.stack([torch.logsumexp(scores / t, dim=1, keepdim=True) for t in temperatures])
            scale = torch.tensor(temperatures, device=scores.device)[:, None, None]  # (T, 1, 1)
            answer_logp.append((answer[None] / scale - lse)[:, :, 0].cpu())  # (T, B)
            shown_p.append((best.values[None] / scale - lse).exp().cpu())  # (T, B, K)
            shown_right.append((best.indices == target[:, None]).cpu())  # (B, K)
    if not shown_right:
        empty = torch.empty(0, SHOWN)
        return [calibration(t, torch.empty(0), empty, empty.bool()) for t in temperatures]
    logp, p, right = torch.cat(answer_logp, 1), torch.cat(shown_p, 1), torch.cat(shown_right)
    return [calibration(t, logp[i], p[i], right) for i, t in enumerate(temperatures)]


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
    """The temperature of ``grid`` whose probabilities for the ``SHOWN`` best answers of each query of
    ``split`` (or of a seeded subset of ``limit`` triples) have the lowest calibration error (``ece_shown``;
    the lower NLL, then the smaller temperature, on a tie), scored once (:func:`measure`). Nothing in the
    model changes.

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
        >>> fit.before.temperature, fit.after.ece_shown <= fit.before.ece_shown, fit.after.queries
        (1.0, True, 4)
    """
    temperatures = sorted({float(t) for t in grid} | {1.0})
    if not grid or temperatures[0] <= 0:
        raise ValueError(f"the grid of temperatures must be non-empty and > 0, got {list(grid)}")
    measured = measure(model, data, temperatures, split=split, limit=limit, seed=seed, device=device,
                       answers=answers, log=log)  # fmt: skip
    at_one = measured[temperatures.index(1.0)]
    best = min(measured, key=lambda c: (c.ece_shown, c.nll, c.temperature)) if at_one.queries else at_one
    return TemperatureFit(best.temperature, split, at_one, best)

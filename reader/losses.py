"""Training losses by name (``TrainConfig.loss``): what one batch of queries costs a link predictor.

- ``1vsall``: softmax cross-entropy of each query's answer against every entity, with optional label
  smoothing: KG-R3's loss and 1vsAll KGE training's. Every preset but ``rotate`` uses it.
- ``sampled``: softmax cross-entropy of each answer against ``negatives`` entities drawn uniformly per batch
  and shared by its queries (sampled softmax; Jean et al., ACL 2015), with optional label smoothing. The
  drawn entities' logits are raised by ``log((N - 1) / K)`` (``K``: the query's drawn entities other than its
  answer), so the sampled denominator estimates the full one over the ``N - 1`` wrong entities; with every
  entity drawn it is ``1vsall``. A step then scores ``K`` entities instead
  of all ``N``: with wide tables on a CPU, where the 1-vs-all product over every entity is most of a step,
  this buys several epochs for one (``bench/RESULTS.md``). With ``negative_power`` > 0 the draws follow
  the training answers' frequency instead (``q(e) ∝ (count(e) + 1) ** negative_power``, with replacement),
  each drawn logit lowered by ``log(K q(e))`` so the denominator still estimates the full one (importance
  sampling; Bengio & Senécal 2008): uniform draws rarely hit the few frequent entities that are a trained
  model's near-misses.
- ``nssa``: self-adversarial negative sampling (Sun et al., ICLR 2019, the RotatE paper): the answer's score
  ``s⁺`` and the scores ``s⁻`` of sampled entities cost ``-log σ(s⁺) - Σᵢ wᵢ log σ(-s⁻ᵢ)`` with weights
  ``w = softmax(α s⁻)`` held fixed, so the negatives the model likes best count most. Scores must be
  centred on 0 (RotatE's ``margin - distance`` is). The negatives are drawn uniformly once per batch and
  shared by its queries: one matrix product scores them all, where a set per query would need a gather of
  ``B × K`` embeddings. ``1vsall`` over a ``margin - distance`` score trained RotatE slowly (nearly uniform
  softmax until the embeddings grow; ``bench/RESULTS.md``).

A loss returns the batch's mean loss and the reader's residual (see
:meth:`reader.base.LinkPredictor.training_terms`), which training's ``reader_n3`` penalises.
"""

from __future__ import annotations

import abc
import math
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reader.base import LinkPredictor

if TYPE_CHECKING:  # reader.train imports this module
    from reader.train import TrainConfig
    from retrieve.data import TripleDataset


class Loss(abc.ABC):
    """Base class: subclasses set ``name`` and implement :meth:`from_config` and :meth:`__call__`."""

    name: ClassVar[str]

    @classmethod
    @abc.abstractmethod
    def from_config(cls, config: TrainConfig, data: TripleDataset) -> Loss:
        """The loss with a training run's settings, for training on ``data``."""

    @abc.abstractmethod
    def __call__(
        self, model: LinkPredictor, batch: torch.Tensor, autocast: AbstractContextManager[Any] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The mean loss over ``batch`` ``(B, 3)`` (entity, relation incl. inverses, answer) and the
        reader's residual; ``autocast`` wraps the scoring only (losses are computed in fp32)."""


class OneVsAll(Loss):
    """Softmax cross-entropy over all entities.

    Args:
        label_smoothing: mass spread over the other entities (0 = none).
    """

    name = "1vsall"

    def __init__(self, label_smoothing: float = 0.0) -> None:
        self.cross_entropy = nn.CrossEntropyLoss(label_smoothing=label_smoothing)

    @classmethod
    def from_config(cls, config: TrainConfig, data: TripleDataset) -> OneVsAll:
        return cls(config.label_smoothing)

    def __call__(
        self, model: LinkPredictor, batch: torch.Tensor, autocast: AbstractContextManager[Any] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        with autocast or nullcontext():
            scores, residual = model.training_terms(batch[:, :2], batch[:, 2])
        return self.cross_entropy(scores.float(), batch[:, 2]), residual


class SelfAdversarial(Loss):
    """Self-adversarial negative sampling with ``negatives`` uniformly drawn entities per batch.

    Args:
        negatives: entities drawn per batch, shared by its queries (an answer drawn as its own negative
            is rare and left in, as in the paper).
        temperature: α, the sharpness of the weights over negatives (0 = plain negative sampling).

    Example:
        >>> from reader.kge import RotatEModel
        >>> _ = torch.manual_seed(0)
        >>> loss, _ = SelfAdversarial(negatives=4)(RotatEModel(10, 2, dim=4), torch.tensor([[0, 1, 2]]))
        >>> loss.item() > 0
        True
    """

    name = "nssa"

    def __init__(self, negatives: int = 256, temperature: float = 1.0) -> None:
        if negatives < 1 or temperature < 0:
            raise ValueError(
                f"nssa needs negatives >= 1 and temperature >= 0, got {negatives} and {temperature}"
            )
        self.negatives, self.temperature = negatives, temperature

    @classmethod
    def from_config(cls, config: TrainConfig, data: TripleDataset) -> SelfAdversarial:
        return cls(config.negatives, config.adversarial_temperature)

    def __call__(
        self, model: LinkPredictor, batch: torch.Tensor, autocast: AbstractContextManager[Any] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        drawn = torch.randint(model.hparams()["num_entities"], (self.negatives,), device=batch.device)
        with autocast or nullcontext():
            positive, negative, residual = model.candidate_terms(batch[:, :2], batch[:, 2], drawn)
        positive, negative = positive.float(), negative.float()
        weights = torch.softmax(self.temperature * negative.detach(), dim=1)
        loss = -F.logsigmoid(positive) - (weights * F.logsigmoid(-negative)).sum(dim=1)
        return loss.mean(), residual


class SampledSoftmax(Loss):
    """Softmax cross-entropy against ``negatives`` entities drawn per batch (``sampled``).

    Args:
        negatives: entities drawn per batch, shared by its queries; where one is a query's own answer, it
            is left out of that query's softmax.
        label_smoothing: mass spread over the query's candidates (its answer and its negatives).
        proposal: ``(N,)`` probabilities to draw the negatives from, with replacement (each distinct
            entity scored once, its logit lowered by ``log(K q(e) / times drawn)``); ``None``: uniform
            without replacement, each logit raised by ``log((N - 1) / K)``.

    Example:
        >>> from reader.kge import ComplExModel
        >>> _ = torch.manual_seed(0)
        >>> loss, _ = SampledSoftmax(negatives=4)(ComplExModel(10, 2, dim=4), torch.tensor([[0, 1, 2]]))
        >>> loss.item() > 0
        True
    """

    name = "sampled"

    def __init__(
        self, negatives: int = 2048, label_smoothing: float = 0.0, proposal: torch.Tensor | None = None
    ) -> None:
        if negatives < 1 or not 0.0 <= label_smoothing < 1.0:
            raise ValueError(
                f"sampled needs negatives >= 1 and 0 <= label_smoothing < 1, got {negatives} and "
                f"{label_smoothing}"
            )
        self.negatives, self.label_smoothing, self.proposal = negatives, label_smoothing, proposal

    @classmethod
    def from_config(cls, config: TrainConfig, data: TripleDataset) -> SampledSoftmax:
        if config.negative_power < 0:
            raise ValueError(f"negative_power must be >= 0, got {config.negative_power}")
        proposal = answer_frequency(data, config.negative_power) if config.negative_power else None
        return cls(config.negatives, config.label_smoothing, proposal)

    def draw(self, n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The batch's distinct negatives ``(K,)`` and, for a proposal, their logits' shift ``(K,)``."""
        if self.proposal is None:
            return torch.randperm(n, device=device)[: min(self.negatives, n)], None
        if self.proposal.device != device:  # once, not a host-to-device copy every step
            self.proposal = self.proposal.to(device)
        drawn, times = torch.multinomial(self.proposal, self.negatives, replacement=True).unique(
            return_counts=True
        )
        return drawn, torch.log(times / (self.negatives * self.proposal[drawn]))

    def __call__(
        self, model: LinkPredictor, batch: torch.Tensor, autocast: AbstractContextManager[Any] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n = model.hparams()["num_entities"]
        drawn, shift = self.draw(n, batch.device)
        with autocast or nullcontext():
            positive, negative, residual = model.candidate_terms(batch[:, :2], batch[:, 2], drawn)
        wrong = drawn[None, :] != batch[:, 2:3]  # (B, K): False where the draw is the query's answer
        if shift is None:
            drawn_wrong = wrong.sum(dim=1, keepdim=True).clamp(min=1)  # each stands for (N - 1) / this many
            negative = negative.float() + torch.log((n - 1) / drawn_wrong)
        else:
            negative = negative.float() + shift
        logits = torch.cat([positive.float()[:, None], negative.masked_fill(~wrong, -math.inf)], dim=1)
        log_p = torch.log_softmax(logits, dim=1)
        loss = -log_p[:, 0]
        if self.label_smoothing:  # the mean over the candidates that are in the softmax
            kept = torch.cat([torch.ones_like(wrong[:, :1]), wrong], dim=1)
            spread = -log_p.masked_fill(~kept, 0.0).sum(dim=1) / kept.sum(dim=1)
            loss = (1.0 - self.label_smoothing) * loss + self.label_smoothing * spread
        return loss.mean(), residual


def answer_frequency(data: TripleDataset, power: float) -> torch.Tensor:
    """``(N,)`` probabilities ``∝ (count + 1) ** power``, ``count``: how often each entity answers a
    training query (its degree in ``data.train``, as both directions are queries).

    Example:
        >>> from retrieve.data import TripleDataset
        >>> none = np.zeros((0, 3), dtype=np.int64)
        >>> data = TripleDataset(list("abcd"), ["r"], np.array([[0, 0, 1], [0, 0, 2]]), none, none)
        >>> answer_frequency(data, 1.0).tolist()  # degrees 2, 1, 1, 0
        [0.375, 0.25, 0.25, 0.125]
    """
    counts = np.bincount(data.train[:, [0, 2]].ravel(), minlength=data.num_entities)
    weights = torch.as_tensor(counts + 1.0, dtype=torch.float64) ** power
    return (weights / weights.sum()).float()


LOSSES: dict[str, type[Loss]] = {cls.name: cls for cls in (OneVsAll, SampledSoftmax, SelfAdversarial)}

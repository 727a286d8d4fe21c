"""Training losses by name (``TrainConfig.loss``): what one batch of queries costs a link predictor.

- ``1vsall``: softmax cross-entropy of each query's answer against every entity, with optional label
  smoothing: KG-R3's loss and 1vsAll KGE training's. Every preset but ``rotate`` uses it.
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
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from reader.base import LinkPredictor

if TYPE_CHECKING:  # reader.train imports this module
    from reader.train import TrainConfig


class Loss(abc.ABC):
    """Base class: subclasses set ``name`` and implement :meth:`from_config` and :meth:`__call__`."""

    name: ClassVar[str]

    @classmethod
    @abc.abstractmethod
    def from_config(cls, config: TrainConfig) -> Loss:
        """The loss with a training run's settings."""

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
    def from_config(cls, config: TrainConfig) -> OneVsAll:
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
    def from_config(cls, config: TrainConfig) -> SelfAdversarial:
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


LOSSES: dict[str, type[Loss]] = {cls.name: cls for cls in (OneVsAll, SelfAdversarial)}

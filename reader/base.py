"""The ``LinkPredictor`` seam: a model that scores a query ``(entity, relation)`` against every entity.

Relations ``0..R-1`` ask for tails; ``R..2R-1`` are their inverses and ask for heads, so one scorer serves
both directions. ``MODELS`` maps the names used by ``factloom lp train --model`` to classes.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from retrieve.data import TripleDataset


class LinkPredictor(nn.Module, abc.ABC):
    """Base class: subclasses set ``name``, keep their constructor arguments in ``_hp`` and implement
    :meth:`score`; constructors take ``(num_entities, num_relations, **hparams)``."""

    name: ClassVar[str]

    @abc.abstractmethod
    def score(self, queries: torch.Tensor) -> torch.Tensor:
        """Scores ``(B, num_entities)`` for queries ``(B, 2)`` of (entity id, relation id incl. inverses)."""

    def training_scores(self, queries: torch.Tensor, answers: torch.Tensor) -> torch.Tensor:
        """Scores used for the training loss: :meth:`training_terms`' first part."""
        return self.training_terms(queries, answers)[0]

    def training_terms(
        self, queries: torch.Tensor, answers: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores ``(B, num_entities)`` for the training loss, and the cubed moduli ``(k, d)`` of the query
        vector's learned residual, whose sum training's ``reader_n3`` penalises (``k = 0``: none, as here).

        A model whose input depends on the answer (the reader removes the answer's edge from its context)
        or that has such a residual (the reader's term beside its KGE shortcut) overrides this.
        """
        del answers
        return self.score(queries), torch.zeros((0, 0), device=queries.device)

    def candidate_terms(
        self, queries: torch.Tensor, answers: torch.Tensor, candidates: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training scores of the answers ``(B,)`` and of ``candidates`` ``(K,)`` for every query
        ``(B, K)``, and the residual of :meth:`training_terms` (negative-sampling losses,
        :mod:`reader.losses`).

        Here they are read off :meth:`training_terms`' scores against every entity; a model that can score
        a few entities for less (RotatE) overrides this.
        """
        scores, residual = self.training_terms(queries, answers)
        return scores.gather(1, answers[:, None])[:, 0], scores[:, candidates], residual

    _hp: dict[str, Any]  # constructor arguments, set by each subclass's __init__

    def hparams(self) -> dict[str, Any]:
        """Constructor arguments, saved in the checkpoint."""
        return dict(self._hp)

    @classmethod
    def build(cls, data: TripleDataset, **hparams: Any) -> LinkPredictor:
        """A fresh model for ``data`` (vocabulary sizes; the reader also takes its training graph)."""
        return cls(data.num_entities, data.num_relations, **hparams)  # type: ignore[call-arg]

    def attach(self, data: TripleDataset) -> None:
        """Give a loaded model the dataset it scores on (the reader needs the training graph)."""

    def prepare(self, queries: np.ndarray, log: Callable[[str], None] | None = None) -> None:
        """Precompute whatever scoring ``queries (n, 2)`` needs (the reader retrieves their subgraphs)."""

    def factors(self, queries: torch.Tensor, answers: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The embedding factors of the triples ``(queries, answers)`` that N3 regularisation (training's
        ``n3``) penalises: for a complex model the moduli ``|h|, |r|, |t|`` per complex dimension.

        Raises:
            ValueError: the model has no such factors (RotatE's relations are unit rotations).
        """
        del queries, answers
        raise ValueError(f"model {self.name!r} has no embedding factors for N3 regularisation")

    def relation_scores(self, heads: torch.Tensor, tails: torch.Tensor) -> torch.Tensor:
        """Scores ``(B, 2R)`` of every relation (inverses included) between ``heads`` and ``tails``: the
        relation-prediction auxiliary objective (training's ``relation_prediction``).

        Raises:
            ValueError: the model cannot score relations this way.
        """
        del heads, tails
        raise ValueError(f"model {self.name!r} cannot score relations for relation prediction")

    def set_kge_only(self, on: bool) -> None:
        """Score with the model's KGE part alone (training's ``kge_warmup`` stage); the reader has one."""
        raise ValueError(f"model {self.name!r} has no KGE shortcut to train on its own")

    def kge_parameters(self) -> list[nn.Parameter]:
        """The tables the KGE-only stage trains (training's ``freeze_kge_on_join`` fixes them afterwards)."""
        raise ValueError(f"model {self.name!r} has no KGE shortcut to train on its own")

    def evidence(self, entity: int, relation: int) -> np.ndarray | None:
        """Edges ``(k, 3)`` of global (head, relation, tail) ids the model reads for this query, if any."""
        del entity, relation
        return None

"""The ``LinkPredictor`` seam: a model that scores a query ``(entity, relation)`` against every entity.

Relations ``0..R-1`` ask for tails; ``R..2R-1`` are their inverses and ask for heads, so one scorer serves
both directions. ``MODELS`` maps the names used by ``factloom lp train --model`` to classes.

Trained that way, a model scores each triple twice: ``(h, r, ?)`` ranks ``t`` and ``(t, r⁻¹, ?)`` ranks ``h``,
with separate relation vectors. :meth:`LinkPredictor.score` can add the second reading to the first
(``reverse_weight``; :mod:`reader.reverse` fits the weight on valid after training), and then let mined
rules re-rank the best candidates (a :class:`~reader.rules.RuleReading`, fitted on valid by
:mod:`reader.rules`).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn

from retrieve.data import TripleDataset

if TYPE_CHECKING:
    from reader.rules import RuleReading


class LinkPredictor(nn.Module, abc.ABC):
    """Base class: subclasses set ``name``, keep their constructor arguments in ``_hp``, implement
    :meth:`direct_scores` and call :meth:`set_reverse_weight` with their ``reverse_weight`` argument;
    constructors take ``(num_entities, num_relations, **hparams)``."""

    name: ClassVar[str]
    reverse_weight: float = 0.0
    rule_reading: RuleReading | None = None

    def score(self, queries: torch.Tensor) -> torch.Tensor:
        """Scores ``(B, num_entities)`` for queries ``(B, 2)`` of (entity id, relation id incl. inverses):
        :meth:`base_scores`, with the best candidates re-ranked by the rule reading when one is attached
        (:meth:`set_rule_reading`)."""
        scores = self.base_scores(queries)
        if self.rule_reading is not None:
            scores = self.rule_reading.apply(queries, scores)
        return scores

    def base_scores(self, queries: torch.Tensor) -> torch.Tensor:
        """The model's own scores: :meth:`direct_scores`, plus ``reverse_weight`` times
        :meth:`reverse_scores` when it is not 0 (what a rule reading corrects)."""
        scores = self.direct_scores(queries)
        if self.reverse_weight:
            scores = scores + self.reverse_weight * self.reverse_scores(queries)
        return scores

    def set_rule_reading(self, reading: RuleReading | None) -> None:
        """Attach mined rules that re-rank this model's best candidates in :meth:`score` (``None``
        detaches them). Saved with the checkpoint (``rules.safetensors``; the rules are mined again from the
        training graph when it is loaded).

        Raises:
            ValueError: the reading was mined for another number of entities or relations.
        """
        if reading is not None:
            sizes = (reading.rules.num_entities, reading.rules.num_relations)
            if sizes != (self._hp["num_entities"], self._hp["num_relations"]):
                raise ValueError(f"the rule reading's graph has {sizes[0]} entities and {sizes[1]} "
                                 f"relations; the model {self._hp['num_entities']} and "
                                 f"{self._hp['num_relations']}")  # fmt: skip
        self.rule_reading = reading

    @abc.abstractmethod
    def direct_scores(self, queries: torch.Tensor) -> torch.Tensor:
        """The model's scores of each query against every entity ``(B, num_entities)``, as trained."""

    def reverse_scores(self, queries: torch.Tensor) -> torch.Tensor:
        """For each query ``(x, r)`` and every entity ``e``, the model's KGE score of the reverse query
        ``(e, r⁻¹)`` at answer ``x`` ``(B, num_entities)``: how well ``x`` answers ``e``'s question.

        It costs one product against the entity table, like the direct scores' KGE part. For the reader it is
        that KGE part only: reading each candidate's subgraph would cost a reader pass per entity.

        Raises:
            ValueError: the model has no KGE part to score the reverse direction with.
        """
        del queries
        raise ValueError(f"model {self.name!r} cannot score the reverse direction")

    def can_score_reverse(self) -> bool:
        """Whether :meth:`reverse_scores` works for this model (the reader: only with a KGE shortcut)."""
        return False

    def set_reverse_weight(self, weight: float) -> None:
        """Set the weight of :meth:`reverse_scores` in :meth:`score` (saved with the checkpoint).

        Raises:
            ValueError: ``weight`` is negative, or positive for a model that cannot score the reverse.
        """
        weight = float(weight)
        if weight < 0 or weight != weight:
            raise ValueError(f"reverse_weight must be >= 0, got {weight}")
        if weight and not self.can_score_reverse():
            raise ValueError(
                f"reverse_weight must be 0 for model {self.name!r}: it cannot score the reverse direction"
            )
        self.reverse_weight = weight
        self._hp["reverse_weight"] = weight

    @staticmethod
    def inverse(relations: torch.Tensor, num_relations: int) -> torch.Tensor:
        """Each relation id's inverse: ``r ↔ r + num_relations``.

        Example:
            >>> LinkPredictor.inverse(torch.tensor([0, 2, 3, 5]), 3).tolist()
            [3, 5, 0, 2]
        """
        return torch.where(relations < num_relations, relations + num_relations, relations - num_relations)

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
        return self.direct_scores(queries), torch.zeros((0, 0), device=queries.device)

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
        """Precompute whatever scoring ``queries (n, 2)`` needs: the model's inputs
        (:meth:`prepare_inputs`) and the rule reading's evidence."""
        self.prepare_inputs(queries, log)
        if self.rule_reading is not None:
            self.rule_reading.prepare(queries, log)

    def prepare_inputs(self, queries: np.ndarray, log: Callable[[str], None] | None = None) -> None:
        """Precompute the model's own inputs for ``queries (n, 2)`` (the reader retrieves their
        subgraphs)."""

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

"""Embedding baselines, scored 1-vs-all: ComplEx and RotatE on ``torch_geometric.nn.kge`` parameters.

PyG's models score given triples; link prediction needs a query against every entity at once, so
:meth:`score` does the same algebra as their ``forward`` as one matrix product (ComplEx) or one batched
distance (RotatE). ``tests/test_lp_models.py`` checks both against PyG's ``forward``.
"""

from __future__ import annotations

from types import ModuleType

import torch
from torch import nn

from reader.base import LinkPredictor


def _pyg_kge() -> ModuleType:
    """``torch_geometric.nn.kge``, imported on first use: importing torch_geometric takes about 4 s (it
    pulls in transformers and torch._dynamo), which a ``factloom lp`` command on a reader need not pay."""
    from torch_geometric.nn import kge

    return kge


class ComplExModel(LinkPredictor):
    """ComplEx (Trouillon et al., 2016): ``Re(<h, r, conj(t)>)``.

    Args:
        num_entities, num_relations: vocabulary sizes (relations without inverses).
        dim: size of the real and of the imaginary part.
        dropout: dropout on the query vector during training.
        reverse_weight: weight of the reverse direction's score in :meth:`score` (:mod:`reader.reverse`).
    """

    name = "complex"

    def __init__(
        self,
        num_entities: int,
        num_relations: int,
        dim: int = 256,
        dropout: float = 0.2,
        reverse_weight: float = 0.0,
    ) -> None:
        super().__init__()
        self.kge = _pyg_kge().ComplEx(num_entities, 2 * num_relations, dim)
        self.dropout = nn.Dropout(dropout)
        self._hp = {
            "num_entities": num_entities,
            "num_relations": num_relations,
            "dim": dim,
            "dropout": dropout,
        }
        self.set_reverse_weight(reverse_weight)

    def direct_scores(self, queries: torch.Tensor) -> torch.Tensor:
        return self._against_all(*self._query(queries))

    def reverse_scores(self, queries: torch.Tensor) -> torch.Tensor:
        m = self.kge
        reverse = self.inverse(queries[:, 1], self._hp["num_relations"])
        return self._against_all(*complex_reverse_query(
            m.node_emb(queries[:, 0]), m.node_emb_im(queries[:, 0]), m.rel_emb(reverse), m.rel_emb_im(reverse)
        ))  # fmt: skip

    def _against_all(self, q_re: torch.Tensor, q_im: torch.Tensor) -> torch.Tensor:
        """``q_re · e_re + q_im · e_im`` for every entity ``e``, in fp32: no spurious ties."""
        m = self.kge
        with torch.autocast(q_re.device.type, enabled=False):
            return q_re.float() @ m.node_emb.weight.T + q_im.float() @ m.node_emb_im.weight.T

    def can_score_reverse(self) -> bool:
        return True

    def candidate_terms(
        self, queries: torch.Tensor, answers: torch.Tensor, candidates: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        m = self.kge
        q_re, q_im = (q.float() for q in self._query(queries))
        with torch.autocast(queries.device.type, enabled=False):
            positive = (q_re * m.node_emb(answers) + q_im * m.node_emb_im(answers)).sum(dim=1)
            negative = q_re @ m.node_emb(candidates).T + q_im @ m.node_emb_im(candidates).T
        return positive, negative, torch.zeros((0, 0), device=queries.device)

    def _query(self, queries: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``h ∘ r``'s real and imaginary parts, with the training dropout."""
        m = self.kge
        h_re, h_im = m.node_emb(queries[:, 0]), m.node_emb_im(queries[:, 0])
        r_re, r_im = m.rel_emb(queries[:, 1]), m.rel_emb_im(queries[:, 1])
        return self.dropout(h_re * r_re - h_im * r_im), self.dropout(h_im * r_re + h_re * r_im)

    def factors(self, queries: torch.Tensor, answers: torch.Tensor) -> tuple[torch.Tensor, ...]:
        m = self.kge
        h, r = queries[:, 0], queries[:, 1]
        return (
            torch.hypot(m.node_emb(h), m.node_emb_im(h)),
            torch.hypot(m.rel_emb(r), m.rel_emb_im(r)),
            torch.hypot(m.node_emb(answers), m.node_emb_im(answers)),
        )

    def relation_scores(self, heads: torch.Tensor, tails: torch.Tensor) -> torch.Tensor:
        m = self.kge
        return complex_relation_scores(
            m.node_emb(heads), m.node_emb_im(heads), m.node_emb(tails), m.node_emb_im(tails),
            m.rel_emb.weight, m.rel_emb_im.weight,
        )  # fmt: skip


def complex_reverse_query(
    x_re: torch.Tensor, x_im: torch.Tensor, r_re: torch.Tensor, r_im: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The vector ``u`` with ``Re<e, r, conj(x)> = u_re · e_re + u_im · e_im`` for every entity ``e``:
    ComplEx's score of ``(e, r, x)`` is linear in ``e``, so the reverse direction is one product with the
    entity table.

    Example:
        >>> x, r, e = torch.randn(3, 2, 4).unbind(0)
        >>> u_re, u_im = complex_reverse_query(x[0], x[1], r[0], r[1])
        >>> e_c, r_c, x_c = (torch.complex(v[0], v[1]) for v in (e, r, x))
        >>> torch.allclose(u_re @ e[0] + u_im @ e[1], (e_c * r_c * x_c.conj()).sum().real, atol=1e-5)
        True
    """
    return r_re * x_re + r_im * x_im, r_re * x_im - r_im * x_re


def complex_relation_scores(
    h_re: torch.Tensor,
    h_im: torch.Tensor,
    t_re: torch.Tensor,
    t_im: torch.Tensor,
    r_re: torch.Tensor,
    r_im: torch.Tensor,
) -> torch.Tensor:
    """ComplEx's ``Re<h, r, conj(t)>`` for each (h, t) pair against every relation ``r``: the score is
    linear in ``r``, ``r_re · (h_re t_re + h_im t_im) + r_im · (h_re t_im - h_im t_re)``."""
    return (h_re * t_re + h_im * t_im) @ r_re.T + (h_re * t_im - h_im * t_re) @ r_im.T


class RotatEModel(LinkPredictor):
    """RotatE (Sun et al., 2019): ``margin - ||h ∘ r - t||`` with ``r`` a rotation in the complex plane.

    Args:
        num_entities, num_relations: vocabulary sizes (relations without inverses).
        dim: number of complex dimensions.
        margin: the score offset (γ).
        reverse_weight: weight of the reverse direction's score in :meth:`score` (:mod:`reader.reverse`).
    """

    name = "rotate"

    def __init__(
        self,
        num_entities: int,
        num_relations: int,
        dim: int = 256,
        margin: float = 9.0,
        reverse_weight: float = 0.0,
    ) -> None:
        super().__init__()
        self.kge = _pyg_kge().RotatE(num_entities, 2 * num_relations, dim, margin=margin)
        self._hp = {
            "num_entities": num_entities,
            "num_relations": num_relations,
            "dim": dim,
            "margin": margin,
        }
        self.set_reverse_weight(reverse_weight)

    def direct_scores(self, queries: torch.Tensor) -> torch.Tensor:
        return self._score_against(self._rotated(queries), None)

    def reverse_scores(self, queries: torch.Tensor) -> torch.Tensor:
        # a rotation keeps lengths: ||e ∘ r - x|| = ||e - x ∘ conj(r)||, one distance per entity
        m = self.kge
        x_re, x_im = m.node_emb(queries[:, 0]), m.node_emb_im(queries[:, 0])
        theta = m.rel_emb(self.inverse(queries[:, 1], self._hp["num_relations"]))
        unrotated = complex_reverse_query(x_re, x_im, torch.cos(theta), torch.sin(theta))  # x ∘ conj(r)
        return self._score_against(torch.cat(unrotated, dim=1), None)

    def can_score_reverse(self) -> bool:
        return True

    def candidate_terms(
        self, queries: torch.Tensor, answers: torch.Tensor, candidates: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        m = self.kge
        rotated = self._rotated(queries)
        answer = torch.cat([m.node_emb(answers), m.node_emb_im(answers)], dim=1)
        positive = m.margin - torch.linalg.vector_norm(rotated - answer, dim=1)
        return positive, self._score_against(rotated, candidates), torch.zeros((0, 0), device=queries.device)

    def _rotated(self, queries: torch.Tensor) -> torch.Tensor:
        """``h ∘ r`` as ``(B, 2 dim)``: real parts, then imaginary parts."""
        m = self.kge
        h_re, h_im = m.node_emb(queries[:, 0]), m.node_emb_im(queries[:, 0])
        theta = m.rel_emb(queries[:, 1])
        r_re, r_im = torch.cos(theta), torch.sin(theta)
        return torch.cat([r_re * h_re - r_im * h_im, r_re * h_im + r_im * h_re], dim=1)

    def _score_against(self, rotated: torch.Tensor, entities: torch.Tensor | None) -> torch.Tensor:
        """``margin - ||h ∘ r - t||`` for every query's ``h ∘ r`` (:meth:`_rotated`) against ``entities``
        (all when ``None``)."""
        m = self.kge
        tails = torch.cat([m.node_emb.weight, m.node_emb_im.weight], dim=1)
        if entities is not None:
            tails = tails[entities]
        return m.margin - torch.cdist(rotated[None], tails[None])[0]

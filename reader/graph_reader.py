"""The retrieve-and-read link predictor (after KG-R3, Pahuja et al., CIKM 2023; written from the paper).

For a query ``(e, r)`` a retriever (:mod:`retrieve.retrievers`) picks a subgraph around ``e``. Its context
sequence is one token per entity (query entity first, marked by a learned "query" type embedding; no
positional embeddings) and one token per edge holding its relation. The context encoder's attention follows
the graph: entity↔entity, edge↔edge, and each edge ↔ its two endpoint entities. The query ``[CLS, e, r]``
then passes through decoder layers that self-attend and cross-attend to the encoded context. The score of
every entity is ``Linear([CLS ; encoded query entity]) · E`` with ``E`` the (tied) entity embedding table.

The training target's own edge is removed from its context (see :meth:`training_terms`).

``shortcut`` adds a KGE term to the output vector, so the tied entity table gets a direct training signal
from the first step and the reader only has to learn what the context adds: ``"distmult"`` adds ``e ⊙ r``,
``"complex"`` reads the first and second half of each vector as real and imaginary parts and adds ComplEx's
``e ∘ r`` (so the score against the tied table is exactly ComplEx's ``Re<e, r, conj(t)>``). The CPU preset
uses ``"complex"``. ``bilinear=True`` is the older spelling of ``shortcut="distmult"`` (saved checkpoints).
With a shortcut, training can start in a KGE-only stage (``TrainConfig.kge_warmup``, :meth:`set_kge_only`):
the tables train at KGE speed first and the reader joins later as a residual that starts at zero.

``token_mode="fused"`` is the CPU design: one token per edge, ``Linear([relation ; far endpoint])``, plus
the query entity token, with no graph mask (the tokens already carry the graph) and usually no context layers,
so the query reads the neighbourhood by cross-attention alone. It has about a third of the tokens and skips
the S×S encoder, which is what dominates the cost of the faithful ``"graph"`` mode on two CPU cores.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from reader.base import LinkPredictor
from reader.kge import complex_relation_scores, complex_reverse_query
from retrieve.cache import Batch, SubgraphCache
from retrieve.data import TripleDataset
from retrieve.graph import GraphIndex
from retrieve.retrievers import RETRIEVERS, SubgraphRetriever

ENTITY, EDGE, QUERY_ENTITY = 0, 1, 2
SHORTCUTS = ("none", "distmult", "complex")


def graph_attention_mask(batch: Batch, device: torch.device | str | None = None) -> torch.Tensor:
    """Boolean ``(B, K+M, K+M)`` mask on ``device``, ``True`` where attention is allowed (padding rows see
    themselves). Built with tensor ops, so on a GPU it costs no CPU time between steps.

    Example: one query with entities {0, 1, 2} and one edge 0→1 gives entity↔entity everywhere, the edge
    token ↔ entities 0 and 1, and nothing between the edge and entity 2.
    """
    ent = torch.as_tensor(batch.entity_mask, device=device)
    edge = torch.as_tensor(batch.edge_mask, device=device)
    b, k = ent.shape
    m = edge.shape[1]
    mask = torch.zeros((b, k + m, k + m), dtype=torch.bool, device=ent.device)
    mask[:, :k, :k] = ent[:, :, None] & ent[:, None, :]
    mask[:, k:, k:] = edge[:, :, None] & edge[:, None, :]
    edge_to_ent, ent_to_edge = mask[:, k:, :k], mask[:, :k, k:]  # views: scatter_ writes into mask
    for ends in (batch.edge_src, batch.edge_dst):
        # a padding edge writes False into its own all-False row/column, so no masking is needed
        at = torch.as_tensor(ends, device=ent.device)
        edge_to_ent.scatter_(2, at[:, :, None], edge[:, :, None])
        ent_to_edge.scatter_(1, at[:, None, :], edge[:, None, :])
    idx = torch.arange(k + m, device=ent.device)
    mask[:, idx, idx] = True  # every token (padding included) may attend to itself: no empty softmax rows
    return mask


class GraphReader(LinkPredictor):
    """Args:
    num_entities, num_relations: vocabulary sizes (relations without inverses).
    dim: width of the embedding tables (the entity table is the tied output layer, the shortcut's too).
    heads, ffn: attention heads and feed-forward width of the layers.
    inner_dim: width of the layers, when narrower than ``dim`` (``None`` = ``dim``). Tokens are projected
        down into the layers and the output vector back up, so the tables keep the KGE's size while the
        reader's cost, most of a training step on a CPU, shrinks with the square of the width.
    context_layers, query_layers: encoder layers over the subgraph; decoder layers for the query.
    dropout: dropout in the layers and on the output query vector.
    retriever: a key of ``RETRIEVERS``; retriever_args: its keyword arguments (``max_edges``, ...).
    token_mode: ``"graph"`` (KG-R3's tokens and graph mask) or ``"fused"`` (the CPU design, see above).
    shortcut: ``"none"``, ``"distmult"`` or ``"complex"``: the KGE term added to the output vector.
    shortcut_dropout: dropout on that term during training (as the ComplEx baseline's on its query).
    shortcut_init: ``"identity"`` (every relation starts as ``e ↦ e``) or ``"random"`` (as a KGE model's
        relation table). Identity makes each entity its own best answer at the start, which WN18RR had not
        unlearnt after half an epoch; it is much better where most relations are seen only a few times (a
        graph extracted from text). Measurements: bench/RESULTS.md.
    reader_dropout: with a shortcut, the fraction of training queries whose reader term is skipped (not
        computed), chosen anew each batch: stochastic depth on the reader. The shortcut then keeps
        training as a model on its own, the reader learns a correction on top of it, and a step costs
        less. Scoring outside training always adds the reader term.
    reverse_weight: with a shortcut, the weight of the reverse direction's shortcut score in :meth:`score`
        (:meth:`~reader.base.LinkPredictor.reverse_scores`, fitted on valid by :mod:`reader.reverse`).
    """

    name = "reader"

    def __init__(
        self,
        num_entities: int,
        num_relations: int,
        dim: int = 128,
        heads: int = 4,
        ffn: int = 512,
        context_layers: int = 2,
        query_layers: int = 2,
        dropout: float = 0.1,
        retriever: str = "relation",
        retriever_args: dict[str, Any] | None = None,
        token_mode: str = "graph",
        shortcut: str = "none",
        shortcut_dropout: float = 0.0,
        shortcut_init: str = "identity",
        bilinear: bool = False,
        inner_dim: int | None = None,
        reader_dropout: float = 0.0,
        reverse_weight: float = 0.0,
    ) -> None:
        super().__init__()
        if bilinear and shortcut == "none":
            shortcut = "distmult"
        if shortcut not in SHORTCUTS:
            raise ValueError(f"shortcut must be one of {', '.join(SHORTCUTS)}, got {shortcut!r}")
        if shortcut == "complex" and dim % 2:
            raise ValueError(f"shortcut 'complex' needs an even dim, got {dim}")
        self._hp = {"num_entities": num_entities, "num_relations": num_relations, "dim": dim, "heads": heads,
                    "ffn": ffn, "context_layers": context_layers, "query_layers": query_layers,
                    "dropout": dropout, "retriever": retriever,
                    "retriever_args": dict(retriever_args or {"max_edges": 32}),
                    "token_mode": token_mode, "shortcut": shortcut,
                    "shortcut_dropout": shortcut_dropout, "shortcut_init": shortcut_init,
                    "inner_dim": inner_dim, "reader_dropout": reader_dropout}  # fmt: skip
        if not 0.0 <= reader_dropout < 1.0:
            raise ValueError(f"reader_dropout must be in [0, 1), got {reader_dropout}")
        if reader_dropout and shortcut == "none":
            raise ValueError("reader_dropout needs a shortcut: without one a skipped query has no score")
        self.reader_dropout = reader_dropout
        if token_mode not in ("graph", "fused"):
            raise ValueError(f"token_mode must be 'graph' or 'fused', got {token_mode!r}")
        width = inner_dim or dim
        if width % heads:
            raise ValueError(f"the layers' width ({width}) must be a multiple of heads ({heads})")
        self.heads = heads
        self.entity = nn.Embedding(num_entities, dim)
        self.relation = nn.Embedding(2 * num_relations, width)  # the reader's only: not scored against
        self.token_type = nn.Embedding(3, width)
        self.cls = nn.Parameter(torch.zeros(1, 1, width))
        self.norm_in = nn.LayerNorm(width)
        # entity vectors enter the layers through ``down``; a fused token is already projected by ``fuse``
        self.down: nn.Module = nn.Linear(dim, width) if width != dim else nn.Identity()
        self.fuse = nn.Linear(width + dim, width) if token_mode == "fused" else None
        layer = nn.TransformerEncoderLayer(width, heads, ffn, dropout, batch_first=True, norm_first=True)
        self.context = None
        if context_layers:
            self.context = nn.TransformerEncoder(layer, context_layers, enable_nested_tensor=False)
        self.query = nn.TransformerDecoder(
            nn.TransformerDecoderLayer(width, heads, ffn, dropout, batch_first=True, norm_first=True),
            query_layers,
        )
        self.out = nn.Sequential(nn.LayerNorm(2 * width), nn.Dropout(dropout), nn.Linear(2 * width, dim))
        self.bias = nn.Parameter(torch.zeros(num_entities))
        # KGE shortcut: learns the entity table as fast as a KGE model does
        self.shortcut = shortcut
        self.diag = nn.Embedding(2 * num_relations, dim) if shortcut != "none" else None
        if shortcut_init not in ("identity", "random"):
            raise ValueError(f"shortcut_init must be 'identity' or 'random', got {shortcut_init!r}")
        if self.diag is not None and shortcut_init == "random":  # like a KGE model's relation table
            nn.init.normal_(self.diag.weight, std=dim**-0.5)
        elif self.diag is not None:
            nn.init.ones_(self.diag.weight)
            if shortcut == "complex":  # r = 1 + 0i
                nn.init.zeros_(self.diag.weight[:, dim // 2 :])
        self.shortcut_dropout = nn.Dropout(shortcut_dropout)
        nn.init.normal_(self.entity.weight, std=dim**-0.5)
        nn.init.normal_(self.relation.weight, std=width**-0.5)
        nn.init.normal_(self.cls, std=width**-0.5)
        self.kge_only = False
        self.cache: SubgraphCache | None = None
        self.retriever_impl: SubgraphRetriever | None = None
        self._edge_ids: dict[tuple[int, int, int], int] = {}
        self.set_reverse_weight(reverse_weight)

    # -- data --------------------------------------------------------------------------------------------
    @classmethod
    def build(cls, data: TripleDataset, **hparams: Any) -> GraphReader:
        model = cls(data.num_entities, data.num_relations, **hparams)
        model.attach(data)
        return model

    def attach(self, data: TripleDataset, cache: SubgraphCache | None = None) -> None:
        graph = GraphIndex.build(data.train, data.num_entities, data.num_relations)
        self.retriever_impl = RETRIEVERS[self._hp["retriever"]](graph, **self._hp["retriever_args"])
        self.cache = cache
        r = data.num_relations
        self._edge_ids = {}
        for i, (h, rel, t) in enumerate(data.train.tolist()):
            self._edge_ids[(h, rel, t)] = i
            self._edge_ids[(t, rel + r, h)] = i

    def prepare_inputs(self, queries: np.ndarray, log: Callable[[str], None] | None = None) -> None:
        """Retrieve (once) the subgraphs of any of ``queries`` not yet cached."""
        assert self.retriever_impl is not None, "attach() the dataset first"
        todo = queries if self.cache is None else self.cache.missing(queries)
        if not len(todo):
            return
        progress = (lambda done, total: log(f"  retrieved {done}/{total} subgraphs")) if log else None
        built = SubgraphCache.build(self.retriever_impl, todo, progress)
        self.cache = built if self.cache is None else self.cache.merged(built)

    def evidence(self, entity: int, relation: int) -> np.ndarray | None:
        assert self.retriever_impl is not None, "attach() the dataset first"
        sub = self.retriever_impl.retrieve(entity, relation)
        edges = sub.edges[: self.retriever_impl.max_edges]
        heads, rels, tails = sub.entities[edges[:, 0]], edges[:, 1], sub.entities[edges[:, 2]]
        r = self._hp["num_relations"]
        forward = rels < r  # show every edge in its stored direction
        return np.stack([np.where(forward, heads, tails), rels % r, np.where(forward, tails, heads)], axis=1)

    # -- model -------------------------------------------------------------------------------------------
    def set_kge_only(self, on: bool) -> None:
        """Switch the reader part off (``on=True``) or back on. Switching it off also zeroes the output
        layer, so the reader's term is exactly 0 until it trains: the full model then scores like the KGE
        shortcut alone, and a snapshot taken in either stage means the same thing."""
        if self.diag is None:
            raise ValueError("kge_only needs a shortcut ('distmult' or 'complex'); this reader has none")
        if on and not self.kge_only:
            with torch.no_grad():
                self.out[-1].weight.zero_()
                self.out[-1].bias.zero_()
        self.kge_only = on

    def kge_parameters(self) -> list[nn.Parameter]:
        """The entity table (shared with the reader) and the shortcut's relation diagonals."""
        if self.diag is None:
            raise ValueError("this reader has no KGE shortcut ('distmult' or 'complex')")
        return [self.entity.weight, self.diag.weight]

    def _terms(self, queries: torch.Tensor, exclude: np.ndarray | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The output vector ``(B, dim)`` and the reader's term in it ``(k, dim)``, for the ``k`` queries
        whose reader ran (all of them, except under ``reader_dropout`` in training or in the KGE stage)."""
        if self.diag is None:
            read = self._read(queries, exclude)
            return read, read
        vec = self._shortcut(queries)
        if self.kge_only:  # KGE speed: no retrieval, no transformer
            return vec, vec.new_zeros((0, vec.shape[1]))
        if not (self.training and self.reader_dropout):
            read = self._read(queries, exclude)
            return vec + read, read
        keep = torch.rand(len(queries), device=queries.device) >= self.reader_dropout
        rows = keep.nonzero()[:, 0]
        if not len(rows):  # a small last batch can lose every reader term
            return vec, vec.new_zeros((0, vec.shape[1]))
        read = self._read(queries[rows], None if exclude is None else exclude[rows.cpu().numpy()])
        return vec.index_add(0, rows, read.to(vec.dtype)), read

    def _read(self, queries: torch.Tensor, exclude: np.ndarray | None) -> torch.Tensor:
        """The reader's term: retrieve, encode the context, decode the query, project to ``dim``."""
        q_np = queries.detach().cpu().numpy()
        self.prepare_inputs(q_np)
        assert self.cache is not None
        batch = self.cache.batch(q_np, exclude)
        dev = queries.device
        ents = torch.as_tensor(batch.entities, device=dev)
        rels = self.relation(torch.as_tensor(batch.edge_rel, device=dev))
        if self.fuse is not None:  # [query entity] + one token per edge: (relation, far endpoint)
            far = torch.gather(ents, 1, torch.as_tensor(batch.edge_dst, device=dev))
            edge_tok = self.fuse(torch.cat([rels, self.entity(far)], dim=-1)) + self.token_type.weight[EDGE]
            head_tok = self.down(self.entity(ents[:, :1])) + self.token_type.weight[QUERY_ENTITY]
            tokens = self.norm_in(torch.cat([head_tok, edge_tok], dim=1))
            keep = np.concatenate([np.ones((len(q_np), 1), dtype=bool), batch.edge_mask], axis=1)
            pad = ~torch.as_tensor(keep, device=dev)
            context = tokens if self.context is None else self.context(tokens, src_key_padding_mask=pad)
        else:
            ent_tok = self.down(self.entity(ents)) + self.token_type.weight[ENTITY]
            query_type = self.token_type.weight[QUERY_ENTITY] - self.token_type.weight[ENTITY]
            ent_tok = torch.cat([ent_tok[:, :1] + query_type, ent_tok[:, 1:]], dim=1)
            tokens = self.norm_in(torch.cat([ent_tok, rels + self.token_type.weight[EDGE]], dim=1))
            allowed = graph_attention_mask(batch, dev)
            attn_mask = ~allowed.repeat_interleave(self.heads, dim=0)  # True = blocked
            pad = ~torch.as_tensor(np.concatenate([batch.entity_mask, batch.edge_mask], axis=1), device=dev)
            context = tokens if self.context is None else self.context(tokens, mask=attn_mask)
        query = torch.cat(
            [
                self.cls.expand(len(queries), -1, -1),
                self.down(self.entity(queries[:, 0]))[:, None],
                self.relation(queries[:, 1])[:, None],
            ],
            dim=1,
        )
        decoded = self.query(query, context, memory_key_padding_mask=pad)
        return self.out(torch.cat([decoded[:, 0], context[:, 0]], dim=-1))

    def _shortcut(self, queries: torch.Tensor) -> torch.Tensor:
        """The KGE term of the output vector, with its dropout."""
        assert self.diag is not None
        return self.shortcut_dropout(self._kge(self.entity(queries[:, 0]), self.diag(queries[:, 1])))

    def factors(self, queries: torch.Tensor, answers: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The shortcut's factors (entity, relation diagonal, answer); the transformer is not penalised."""
        if self.diag is None:
            raise ValueError("N3 regularisation needs a shortcut ('distmult' or 'complex'); this has none")
        parts = (self.entity(queries[:, 0]), self.diag(queries[:, 1]), self.entity(answers))
        if self.shortcut == "distmult":
            return tuple(p.abs() for p in parts)
        return tuple(torch.hypot(*p.chunk(2, dim=-1)) for p in parts)

    def relation_scores(self, heads: torch.Tensor, tails: torch.Tensor) -> torch.Tensor:
        """The shortcut's score of every relation between ``heads`` and ``tails`` (no context read)."""
        if self.diag is None:
            raise ValueError("relation prediction needs a shortcut ('distmult' or 'complex'); this has none")
        h, t = self.entity(heads), self.entity(tails)
        if self.shortcut == "distmult":
            return (h * t) @ self.diag.weight.T
        return complex_relation_scores(
            *h.chunk(2, dim=-1), *t.chunk(2, dim=-1), *self.diag.weight.chunk(2, dim=-1)
        )

    def _kge(self, e: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        if self.shortcut == "distmult":
            return e * r
        e_re, e_im = e.chunk(2, dim=-1)
        r_re, r_im = r.chunk(2, dim=-1)
        return torch.cat([e_re * r_re - e_im * r_im, e_im * r_re + e_re * r_im], dim=-1)

    def _scores(self, vec: torch.Tensor) -> torch.Tensor:
        # fp32 even under bf16 autocast: bf16 scores over 15k entities would create spurious rank ties
        with torch.autocast(vec.device.type, enabled=False):
            return vec.float() @ self.entity.weight.float().T + self.bias.float()

    def direct_scores(self, queries: torch.Tensor) -> torch.Tensor:
        return self._scores(self._terms(queries, None)[0])

    def reverse_scores(self, queries: torch.Tensor) -> torch.Tensor:
        """The shortcut's score of ``(e, r⁻¹, x)`` for every entity ``e``; no bias (it is ``x``'s, the same
        for every candidate) and no reading."""
        if self.diag is None:
            raise ValueError("reverse scores need a shortcut ('distmult' or 'complex'); this reader has none")
        x = self.entity(queries[:, 0])
        r = self.diag(self.inverse(queries[:, 1], self._hp["num_relations"]))
        if self.shortcut == "distmult":
            u = x * r
        else:
            u = torch.cat(complex_reverse_query(*x.chunk(2, dim=-1), *r.chunk(2, dim=-1)), dim=-1)
        with torch.autocast(u.device.type, enabled=False):
            return u.float() @ self.entity.weight.float().T

    def can_score_reverse(self) -> bool:
        return self.diag is not None

    def training_terms(
        self, queries: torch.Tensor, answers: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores with each answer's own edge removed from its context, and the reader term's cubed moduli
        (per complex dimension with the ComplEx shortcut) for training's ``reader_n3``."""
        vec, residual = self._training_vector(queries, answers)
        return self._scores(vec), residual

    def candidate_terms(
        self, queries: torch.Tensor, answers: torch.Tensor, candidates: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        vec, residual = self._training_vector(queries, answers)
        with torch.autocast(vec.device.type, enabled=False):
            vec = vec.float()
            positive = (vec * self.entity(answers).float()).sum(dim=1) + self.bias[answers].float()
            negative = vec @ self.entity(candidates).float().T + self.bias[candidates].float()
        return positive, negative, residual

    def _training_vector(
        self, queries: torch.Tensor, answers: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The output vector with each answer's edge left out of its context, and the reader term's cubed
        moduli (:meth:`training_terms`)."""
        exclude = None
        if not self.kge_only:  # the KGE stage reads no context, so there is no target edge to remove
            rows = torch.cat([queries, answers[:, None]], dim=1).tolist()
            exclude = np.array([self._edge_ids.get(tuple(r), -1) for r in rows], dtype=np.int64)
        vec, read = self._terms(queries, exclude)
        if self.shortcut == "complex":  # (re² + im²)^1.5, not hypot³: the term starts at exactly 0, where
            re, im = read.float().chunk(2, dim=-1)  # hypot's gradient is NaN
            return vec, (re.square() + im.square()).pow(1.5)
        return vec, read.float().abs().pow(3)

"""The rule reading: a link predictor's best candidates re-ranked by the evidence of mined rules.

For a query ``(x, q, ?)`` a model ranks every entity; :mod:`retrieve.rules` finds, for each candidate ``e``,
the best confidence ``m_k(e)`` of the rules of each kind ``k`` (``path1``, ``path2``, ``constant``) that name
it. Among the model's ``top`` best candidates (by its own scores, before any filtering)

    ``score'(e) = a * score(e) + sum_j w_qj * f_j(e)``,   ``f = (m_k, log(1 + m_k / 0.01))`` per kind,

and outside them ``score'(e) = a * score(e)``, with ``a > 0`` and ``w_qj >= 0`` per query relation ``q``. So:

- a rule can only raise a candidate, never push it down. That is a design rule, not a detail: FB15k-237's
  valid and test triples never join two entities linked in training (its authors removed such pairs), and a
  free weight learns to push down every candidate linked to the query entity, worth about +0.017 valid MRR
  there over non-negative ones and nothing on a real graph (bench/RESULTS.md, twenty-third session);
- every candidate outside the top stays below every candidate inside it, so the re-ranking of a query is
  decided by its top candidates alone, and fitting needs nothing else;
- the kept scale ``a`` is 1: the model's scores as they are, plus the rules' evidence in their units. The
  fit gives each relation its own ``a_q`` (how much the model's scores of that relation are worth against
  the rules: +0.003 test MRR on FB15k-237), but the order within a query depends only on ``w_q / a_q``, so
  the kept reading divides each relation's fitted scores by ``a_q``: the same ranking, and how sharp the
  probabilities are is left to the temperature fitted afterwards on the full softmax. A kept ``a_q`` would
  be a per-relation temperature fitted on 200 candidates only, where a sharper model always looks better:
  on the demo graph (1,032 valid queries over 2,549 relations) those gave p 0.99 to wrong answers.

:func:`fit_rule_reading` fits ``a`` and ``w`` on a validation split by the softmax cross-entropy of each
query's top candidates (L-BFGS), each per relation as a shared value plus a per-relation deviation whose
size an L2 penalty limits; the penalty is chosen by two-fold cross-validation on the same split (the
folds split query keys ``(x, q)``), and the reading is kept only when its cross-validated MRR beats the
model alone by ``min_z`` standard errors of the paired per-query gain (as the reverse weight's fit,
:mod:`reader.reverse`). Whatever is fitted on that split afterwards (the temperature of the probabilities)
should see it scored out of fold (:meth:`RuleFit.out_of_fold`).

Example:
    >>> from retrieve.rules import RuleConfig, mine_rules
    >>> triples = np.array([[0, 0, 1], [1, 1, 2], [0, 2, 2], [3, 0, 4], [4, 1, 5], [3, 2, 5],
    ...                     [9, 0, 10], [10, 1, 11]])
    >>> rules = mine_rules(triples, 12, 3, RuleConfig(laplace=0.0))
    >>> reading = RuleReading.constant(rules, weight=1.0)     # every feature at weight 1, a = 1
    >>> scores = torch.zeros(1, 12)
    >>> reading.apply(torch.tensor([[9, 2]]), scores).argmax().item()   # the rule's answer comes first
    11
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from reader.evaluate import filtered_ranks, filtered_scores, paired_gain_z, query_batches, scoring
from retrieve.data import TripleDataset
from retrieve.rules import KINDS, RuleSet, query_keys

if TYPE_CHECKING:
    from reader.base import LinkPredictor

EPSILON = 0.01
"""The confidence at which a feature's log form ``log(1 + m / EPSILON)`` bends."""

FEATURES: tuple[str, ...] = (*KINDS, *(f"log {k}" for k in KINDS))
"""The features each candidate gets, in the order of :class:`RuleReading`'s weight columns."""

TOP = 200
"""How many of the model's best candidates per query the rules may re-rank, by default."""

PENALTIES: tuple[float | None, ...] = (None, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)
"""The L2 penalties on the per-relation deviations that :func:`fit_rule_reading` cross-validates; ``None``
fits one shared value per weight (no per-relation deviation)."""

RIDGE = 1e-4
"""An L2 penalty on the shared values, always on: where the top candidates separate the answers perfectly
(a small graph) the cross-entropy alone would push the weights without end."""

MIN_Z = 2.0
"""How many standard errors of the paired per-query gain in reciprocal rank the cross-validated reading must
beat the model alone by to be kept."""


def features(confidence: torch.Tensor) -> torch.Tensor:
    """``(..., len(KINDS))`` best rule confidences -> ``(..., len(FEATURES))``: each as it is and as
    ``log(1 + m / EPSILON)``; both 0 where no rule names the candidate.

    Example:
        >>> [round(x, 3) for x in features(torch.tensor([[0.0, 0.5, 0.01]]))[0].tolist()]
        [0.0, 0.5, 0.01, 0.0, 3.932, 0.693]
    """
    return torch.cat([confidence, torch.log1p(confidence / EPSILON)], dim=-1)


class RuleReading:
    """Mined rules and the weights that turn their evidence into a correction of a model's scores.

    Args:
        rules: the rules, over the model's training graph.
        scale: ``(2R,)`` the factor ``a`` of the model's scores per query relation, > 0 (a fitted reading
            keeps 1: see the module).
        weights: ``(2R, len(FEATURES))`` the weights ``w_q`` of the features, >= 0.
        top: how many of the model's best candidates the rules may re-rank.
    """

    def __init__(self, rules: RuleSet, scale: torch.Tensor, weights: torch.Tensor, top: int = TOP) -> None:
        r2 = 2 * rules.num_relations
        if scale.shape != (r2,) or weights.shape != (r2, len(FEATURES)):
            raise ValueError(
                f"rule reading: scale {tuple(scale.shape)} and weights {tuple(weights.shape)} do not fit "
                f"{r2} query relations and {len(FEATURES)} features"
            )
        if bool((scale <= 0).any()) or bool((weights < 0).any()):
            raise ValueError("rule reading: scales must be > 0 and weights >= 0")
        if top < 1:
            raise ValueError(f"rule reading: top must be >= 1, got {top}")
        self.rules, self.top = rules, int(top)
        self.scale, self.weights = scale.detach().float().cpu(), weights.detach().float().cpu()

    @classmethod
    def constant(cls, rules: RuleSet, weight: float, top: int = TOP) -> RuleReading:
        """Every feature at ``weight`` for every relation, the model's scores as they are."""
        r2 = 2 * rules.num_relations
        return cls(rules, torch.ones(r2), torch.full((r2, len(FEATURES)), float(weight)), top)

    def tensors(self) -> dict[str, torch.Tensor]:
        """What a checkpoint saves (``rules.safetensors``)."""
        return {"scale": self.scale, "weights": self.weights}

    def prepare(self, queries: np.ndarray, log: Callable[[str], None] | None = None) -> None:
        """Find the rule evidence of any of ``queries`` ``(n, 2)`` not found yet (grouped by relation:
        far faster than batch by batch; kept by the rules, :meth:`retrieve.rules.RuleSet.prepare`)."""
        step = [0]

        def progress(done: int, total: int) -> None:  # about ten lines, not one per relation
            if log is not None and (done * 10 // total > step[0] or done == total):
                step[0] = done * 10 // total
                log(f"  rule evidence {done}/{total}")

        self.rules.prepare(queries, progress)

    def confidences(self, queries: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """``(B, K, len(KINDS))`` the best rule confidence of each kind naming each of ``candidates``
        ``(B, K)``, for queries ``(B, 2)``."""
        q, c = queries.detach().cpu().numpy(), candidates.detach().cpu().numpy()
        return torch.as_tensor(self.rules.at(q, c))

    def apply(self, queries: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        """The scores ``(B, N)`` of queries ``(B, 2)`` corrected by the rules (see the module)."""
        k = min(self.top, scores.shape[1])
        top = scores.topk(k, dim=1).indices
        relation = queries[:, 1].cpu()
        boost = (features(self.confidences(queries, top)) * self.weights[relation][:, None, :]).sum(-1)
        out = scores * self.scale[relation][:, None].to(scores)
        return out.scatter_add(1, top, boost.to(out))


# -- fitting ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RuleFit:
    """What :func:`fit_rule_reading` found.

    ``reading`` is ``None`` when the rules did not beat the model alone; ``penalty`` the chosen L2 penalty
    (``"shared"``: one value per weight); ``cv_mrr`` each penalty's cross-validated MRR on ``split``,
    ``base_mrr`` the model's alone on the same queries, ``z`` the chosen one's gain in standard errors;
    ``folds``: at the chosen penalty, each fold's query keys (``entity * 2R + relation``) with the reading
    fitted without them (:meth:`out_of_fold`).
    """

    reading: RuleReading | None
    split: str
    queries: int
    base_mrr: float
    cv_mrr: dict[str, float]
    penalty: str | None
    z: float
    min_z: float
    top: int
    folds: list[tuple[np.ndarray, RuleReading]] = field(default_factory=list, repr=False)

    def out_of_fold(self) -> RuleReading | None:
        """The kept reading, but for the split's queries the fold reading that did not see them: scores of
        the split as a fresh one would get them. Whatever is fitted on the split after the rules (the
        temperature of the probabilities) must be fitted on these, or it learns the rule weights' fit
        to that split as if it were knowledge: on a small graph, answers boosted to p 0.99 that are wrong."""
        return None if self.reading is None else CrossFitted(self.reading, self.folds)

    def as_json(self) -> dict[str, Any]:
        return {"split": self.split, "queries": self.queries, "base_mrr": round(self.base_mrr, 6),
                "cv_mrr": {k: round(v, 6) for k, v in self.cv_mrr.items()}, "penalty": self.penalty,
                "z": round(self.z, 2), "min_z": self.min_z, "top": self.top,
                "kept": self.reading is not None}  # fmt: skip


class CrossFitted(RuleReading):
    """A reading that scores each query of ``folds`` with the fold reading fitted without it, and any other
    query as ``reading`` (see :meth:`RuleFit.out_of_fold`)."""

    def __init__(self, reading: RuleReading, folds: Sequence[tuple[np.ndarray, RuleReading]]) -> None:
        super().__init__(reading.rules, reading.scale, reading.weights, reading.top)
        self.folds = list(folds)

    def apply(self, queries: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        key = query_keys(queries.detach().cpu().numpy(), 2 * self.rules.num_relations)
        out = torch.empty_like(scores)
        left = np.ones(len(key), dtype=bool)  # each query is scored once, by one reading
        for keys, reading in self.folds:
            mine = left & np.isin(key, keys)
            _fill(out, mine, reading.apply, queries, scores)
            left &= ~mine
        _fill(out, left, super().apply, queries, scores)
        return out


def _fill(
    out: torch.Tensor,
    rows: np.ndarray,
    apply: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    queries: torch.Tensor,
    scores: torch.Tensor,
) -> None:
    """``out[rows] = apply(queries[rows], scores[rows])`` for the rows ``rows`` (a mask) marks."""
    at = torch.as_tensor(np.nonzero(rows)[0], device=scores.device)
    if len(at):
        out[at] = apply(queries[at], scores[at])


@contextmanager
def out_of_fold(model: LinkPredictor, fit: RuleFit | None) -> Iterator[None]:
    """Score with ``fit``'s out-of-fold reading (:meth:`RuleFit.out_of_fold`) inside the block, then with
    the model's own rule reading again; nothing changes when ``fit`` kept no reading."""
    crossed = fit.out_of_fold() if fit is not None else None
    if crossed is None:
        yield
        return
    own = model.rule_reading
    model.set_rule_reading(crossed)
    try:
        yield
    finally:
        model.set_rule_reading(own)


@dataclass
class _Candidates:
    """Each query's ``top`` candidates as the fit needs them."""

    key: np.ndarray  # (Q,) query key, entity * 2R + relation
    relation: torch.Tensor  # (Q,) query relation
    scores: torch.Tensor  # (Q, K) the model's scores, filtered candidates 0 (see mask)
    mask: torch.Tensor  # (Q, K) True: a candidate that counts (not another known answer)
    features: torch.Tensor  # (Q, K, F)
    answer: torch.Tensor  # (Q,) the answer's column, -1 when it is not among the top
    base_rr: torch.Tensor  # (Q,) the model's filtered reciprocal rank


@torch.no_grad()
def _candidates(
    model: LinkPredictor,
    data: TripleDataset,
    rules: RuleSet,
    split: str,
    *,
    top: int,
    limit: int | None,
    seed: int,
    device: str | torch.device,
    answers: dict[tuple[int, int], np.ndarray] | None,
    log: Callable[[str], None] | None,
) -> _Candidates:
    probe = RuleReading.constant(rules, 0.0, top)
    parts: list[list[torch.Tensor]] = [[] for _ in range(7)]
    with scoring(model, data, split, limit=limit, seed=seed, device=device, log=log):
        for batch, target, filters in query_batches(data, split, limit=limit, seed=seed, device=device,
                                                    answers=answers):  # fmt: skip
            raw = model.base_scores(batch).float()
            k = min(top, raw.shape[1])
            best = raw.topk(k, dim=1).indices
            kept = filtered_scores(raw, target, filters).gather(1, best) > float("-inf")  # not another answer
            hit = best == target[:, None]
            parts[0].append(torch.as_tensor(query_keys(batch.cpu().numpy(), 2 * data.num_relations)))
            parts[1].append(batch[:, 1].cpu())
            parts[2].append(raw.gather(1, best).masked_fill(~kept, 0.0).cpu())
            parts[3].append(kept.cpu())
            parts[4].append(features(probe.confidences(batch, best)))
            parts[5].append(torch.where(hit.any(1), hit.float().argmax(1), -1).cpu())
            parts[6].append(1.0 / filtered_ranks(raw, target, filters).cpu())
    if not parts[0]:
        raise ValueError(f"the {split} split has no queries to fit the rule reading on")
    key, *rest = (torch.cat(p) for p in parts)
    return _Candidates(key.numpy(), *rest)


class _Params:
    """The fit's free parameters: the scale and the weights as shared values plus per-relation deviations
    (absent when shared only)."""

    def __init__(self, num_rel2: int, per_relation: bool) -> None:
        self.scale = torch.zeros(1, requires_grad=True)
        self.weight = torch.full((len(FEATURES),), -3.0, requires_grad=True)  # softplus: about 0.05
        shape = (num_rel2,) if per_relation else (0,)
        self.scale_dev = torch.zeros(shape, requires_grad=True)
        self.weight_dev = torch.zeros((*shape, len(FEATURES)), requires_grad=True)
        self.per_relation = per_relation

    def all(self) -> list[torch.Tensor]:
        return [self.scale, self.weight, self.scale_dev, self.weight_dev]

    def values(self, num_rel2: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``a`` ``(2R,)`` and ``w`` ``(2R, F)`` as fitted (bounded: exp and softplus of at most 30)."""
        a = self.scale.expand(num_rel2) + (self.scale_dev if self.per_relation else 0.0)
        w = self.weight.expand(num_rel2, -1) + (self.weight_dev if self.per_relation else 0.0)
        return torch.exp(a.clamp(-30.0, 30.0)), F.softplus(w.clamp(max=30.0))

    def kept(self, num_rel2: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The values to keep: each relation's fitted scores divided by its ``a_q``, so the order within each
        query is the fitted one and the model's scores keep their own scale (see the module)."""
        a, w = self.values(num_rel2)
        return torch.ones_like(a), w / a[:, None]

    def penalty(self) -> torch.Tensor:
        return self.scale_dev.pow(2).sum() + self.weight_dev.pow(2).sum()

    def ridge(self) -> torch.Tensor:
        return self.scale.pow(2).sum() + (self.weight + 3.0).pow(2).sum()


def _scores(c: _Candidates, rows: torch.Tensor, a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    rel = c.relation[rows]
    out = a[rel][:, None] * c.scores[rows] + (c.features[rows] * w[rel][:, None, :]).sum(-1)
    return out.masked_fill(~c.mask[rows], float("-inf"))


def _fit(
    c: _Candidates, rows: torch.Tensor, num_rel2: int, penalty: float | None
) -> tuple[torch.Tensor, ...]:
    """``a`` and ``w`` fitted on the queries ``rows`` whose answer is among the top."""
    rows = rows[c.answer[rows] >= 0]
    params = _Params(num_rel2, penalty is not None)
    if not len(rows):
        return tuple(t.detach() for t in params.kept(num_rel2))
    optimizer = torch.optim.LBFGS(params.all(), max_iter=300, line_search_fn="strong_wolfe")
    target = c.answer[rows]

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        a, w = params.values(num_rel2)
        logits = _scores(c, rows, a, w).masked_fill(~c.mask[rows], -1e9)
        loss = F.cross_entropy(logits, target) + RIDGE * params.ridge()
        if penalty is not None:
            loss = loss + penalty * params.penalty()
        loss.backward()
        return loss

    optimizer.step(closure)
    return tuple(t.detach() for t in params.kept(num_rel2))


def _reciprocal_ranks(c: _Candidates, rows: torch.Tensor, a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Exact filtered reciprocal ranks of ``rows`` under the corrected scores: decided by the top candidates
    when the answer is among them; otherwise the model's own (every candidate inside stays above it)."""
    with torch.no_grad():
        s = _scores(c, rows, a, w)
        col = c.answer[rows]
        inside = col >= 0
        t = s.gather(1, col.clamp(min=0)[:, None])
        rank = 1.0 + (s > t).sum(1).double() + ((s == t).sum(1).double() - 1.0) / 2.0
        return torch.where(inside, 1.0 / rank, c.base_rr[rows].double())


def fit_rule_reading(
    model: LinkPredictor,
    data: TripleDataset,
    rules: RuleSet,
    *,
    split: str = "valid",
    limit: int | None = None,
    seed: int = 0,
    top: int = TOP,
    penalties: Sequence[float | None] = PENALTIES,
    min_z: float = MIN_Z,
    device: str | torch.device = "cpu",
    answers: dict[tuple[int, int], np.ndarray] | None = None,
    log: Callable[[str], None] | None = None,
) -> RuleFit:
    """Fit the rule reading of ``model`` on ``split`` (or a seeded subset of ``limit`` triples): one scoring
    pass keeps each query's ``top`` candidates; each penalty is scored by two-fold cross-validation (fit on
    one half, rank the other); the best is refitted on the whole split and kept when its cross-validated gain
    over the model alone is at least ``min_z`` standard errors. The model's own rule reading, if any, is
    neither used nor changed: attach the result with ``model.set_rule_reading(fit.reading)``.

    Args:
        model: any link predictor; its scores before any rule reading (:meth:`base_scores`) are corrected.
        rules: rules mined from ``data``'s training triples (:func:`retrieve.rules.mine_rules`).
        split, limit, seed, device, answers, log: as :func:`reader.evaluate.model_ranks`.
        top: how many of the model's best candidates per query the rules may re-rank.
        penalties: the L2 penalties to try (``None``: shared values only).
        min_z: 0 keeps any reading that does not lose.

    Raises:
        ValueError: the split has no queries, or no penalty is given.

    Example:
        >>> from retrieve.data import from_string_triples
        >>> from retrieve.rules import mine_rules
        >>> from reader.kge import ComplExModel
        >>> pairs = [(f"e{i}", "r", f"e{(i + 1) % 6}") for i in range(6)]
        >>> data = from_string_triples({"train": pairs, "valid": pairs[:2], "test": pairs[2:4]})
        >>> rules = mine_rules(data.train, data.num_entities, data.num_relations)
        >>> fit = fit_rule_reading(ComplExModel(6, 1, dim=4).eval(), data, rules, penalties=[None])
        >>> fit.queries, sorted(fit.cv_mrr)
        (4, ['shared'])
    """
    if not penalties:
        raise ValueError("fit_rule_reading needs at least one penalty to try")
    c = _candidates(model, data, rules, split, top=top, limit=limit, seed=seed, device=device,
                    answers=answers, log=log)  # fmt: skip
    r2, n = 2 * data.num_relations, len(c.relation)
    # folds of query keys, not of queries: the queries of one key share their candidates and evidence
    keys = np.unique(c.key)
    first = keys[np.random.default_rng(seed).permutation(len(keys)) < len(keys) // 2]
    half = torch.as_tensor(np.isin(c.key, first))
    folds = (torch.nonzero(half)[:, 0], torch.nonzero(~half)[:, 0])
    base = c.base_rr.double()
    cv: dict[str, torch.Tensor] = {}
    fold_fits: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}
    for penalty in penalties:
        rr = torch.empty(n, dtype=torch.float64)
        name = "shared" if penalty is None else f"{penalty:g}"
        fold_fits[name] = []
        for fit_on, score_on in (folds, folds[::-1]):
            a, w = _fit(c, fit_on, r2, penalty)
            rr[score_on] = _reciprocal_ranks(c, score_on, a, w)
            fold_fits[name].append((a, w))
        cv[name] = rr
        if log:
            log(
                f"  rule reading, penalty {name}: cross-validated MRR {rr.mean():.4f} "
                f"(alone {base.mean():.4f})"
            )
    chosen = max(cv, key=lambda k: float(cv[k].mean()))
    z = paired_gain_z(cv[chosen] - base)
    reading, held_out = None, []
    if z >= min_z:
        penalty = None if chosen == "shared" else float(chosen)
        a, w = _fit(c, torch.arange(n), r2, penalty)
        reading = RuleReading(rules, a, w, top)
        unseen = (np.setdiff1d(keys, first), first)  # the keys each fold's reading was not fitted on
        held_out = [(keys_out, RuleReading(rules, fa, fw, top))
                    for keys_out, (fa, fw) in zip(unseen, fold_fits[chosen], strict=True)]  # fmt: skip
    return RuleFit(reading, split, n, float(base.mean()), {k: float(v.mean()) for k, v in cv.items()},
                   chosen, z, min_z, top, held_out)  # fmt: skip

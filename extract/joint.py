"""The fast design: read a sentence once, tag entities, and score every entity pair's relation words.

One encoder pass gives a state per word. A stage-1 head tags each word ``O``/``B-ENT``/``I-ENT``/``REL``
(as the reference's first tagger). For each ordered pair of entities, a pair-conditioned scorer decides
for every word whether it belongs to that pair's relation:

    score(w | h, t) = v · GELU(A·x_w + B·x̄_h + C·x̄_t + E[pos(w|h,t)] + G[gap(h,t)] + (U·x_w) ⊙ (V·[x̄_h; x̄_t]))

where x̄ is the mean state of an entity's words, the position code says whether ``w`` is before, inside,
between or after the two entities (and in which order they come) and how far from them, in log buckets,
and the gap is how many entities apart head and tail are (signed): without it a word between two
neighbours would look the same to every pair that spans it. This replaces the reference's second model,
which re-encodes the sentence once per pair with ``{HEAD ~ ...}``/``{TAIL ~ ...}`` markers: the cost of a
sentence is one encoder pass plus a small ``pairs × words × 128`` tensor.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from extract.base import ExtractorConfig, FactExtractor, Window, decode_windows, pairs_within
from extract.encoding import WordBatch, word_states
from extract.examples import SentenceExample
from extract.facts import FoundFact, PairDecision, entity_spans
from extract.labels import STAGE1_LABELS, entity_words, pair_relation_words

PAIR_DIM = 128
DISTANCE_BUCKETS = (0, 1, 2, 3, 4, 6, 9, 16)  # lower bounds of the log-spaced distance buckets
REGIONS = 5  # before both, in first, between, in second, after both
MAX_GAP = 8  # entity-index distances beyond this share one embedding
POSITIVE_WEIGHT = 2.0  # relation words are ~1 % of (pair, word) cells


@dataclass
class Pairs:
    """Entity pairs of a batch, packed (no padding): pair ``n`` belongs to sentence ``row[n]``."""

    row: torch.Tensor  # [N]
    head: torch.Tensor  # [N, 2] word range [first, last + 1)
    tail: torch.Tensor  # [N, 2]
    gap: torch.Tensor  # [N] tail entity index minus head entity index

    @staticmethod
    def build(items: list[tuple[int, tuple[int, int], tuple[int, int], int]]) -> Pairs:
        if not items:
            empty = torch.zeros(0, dtype=torch.long)
            return Pairs(empty, empty.view(0, 2), empty.view(0, 2), empty)
        rows, heads, tails, gaps = zip(*items, strict=True)
        return Pairs(torch.tensor(rows), torch.tensor(heads), torch.tensor(tails), torch.tensor(gaps))

    def to(self, device: torch.device) -> Pairs:
        return Pairs(self.row.to(device), self.head.to(device), self.tail.to(device), self.gap.to(device))

    def inside(self, n_words: int) -> torch.Tensor:
        """``[N, W]``: the word belongs to the pair's head or tail."""
        pos = torch.arange(n_words, device=self.head.device).view(1, -1)
        in_head = (pos >= self.head[:, :1]) & (pos < self.head[:, 1:])
        return in_head | ((pos >= self.tail[:, :1]) & (pos < self.tail[:, 1:]))


@dataclass
class JointBatch:
    words: WordBatch
    tags: torch.Tensor  # [B, W] stage-1 label ids, -100 where ignored
    pairs: Pairs
    relation: torch.Tensor  # [N, W] 1 where the word is in the pair's relation


class JointExtractor(FactExtractor):
    """Stage-1 tagger and all-pairs relation scorer on one encoder pass (the default design)."""

    design = "joint"

    def __init__(self, config: ExtractorConfig, backbone: str, *, pretrained: bool = True) -> None:
        super().__init__(config, backbone, pretrained=pretrained)
        self.encoder = self.new_encoder(pretrained)
        hidden = self.encoder.config.hidden_size
        self.dropout = nn.Dropout(0.1)
        self.tagger = nn.Linear(hidden, len(STAGE1_LABELS))
        self.word_proj = nn.Linear(hidden, PAIR_DIM)
        self.head_proj = nn.Linear(hidden, PAIR_DIM, bias=False)
        self.tail_proj = nn.Linear(hidden, PAIR_DIM, bias=False)
        self.position = nn.Embedding(2 * REGIONS * len(DISTANCE_BUCKETS), PAIR_DIM)
        self.gap = nn.Embedding(2 * MAX_GAP + 1, PAIR_DIM)
        self.word_gate = nn.Linear(hidden, PAIR_DIM)
        self.pair_gate = nn.Linear(2 * hidden, PAIR_DIM)
        self.out = nn.Linear(PAIR_DIM, 1)

    # ---- model -------------------------------------------------------------------------------------------
    def states(self, batch: WordBatch) -> torch.Tensor:
        hidden = self.encoder(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask
        ).last_hidden_state
        return self.dropout(word_states(hidden, batch))

    def pair_scores(self, states: torch.Tensor, pairs: Pairs) -> torch.Tensor:
        """Relation logits ``[N, W]``: for each packed pair, does each word of its sentence link the two?"""
        n_words = states.size(1)
        # entity vectors = mean word state, from a running sum (no [N, W, H] tensor)
        total = F.pad(states.cumsum(1), (0, 0, 1, 0))
        head_vec = _span_mean(total, pairs.row, pairs.head)
        tail_vec = _span_mean(total, pairs.row, pairs.tail)
        pair_vec = (
            self.head_proj(head_vec)
            + self.tail_proj(tail_vec)
            + self.gap(pairs.gap.clamp(-MAX_GAP, MAX_GAP) + MAX_GAP)
        )
        pair_gate = self.pair_gate(torch.cat([head_vec, tail_vec], -1))
        pos = torch.arange(n_words, device=states.device).view(1, 1, -1)
        codes = position_codes(pos, pairs.head.unsqueeze(0), pairs.tail.unsqueeze(0)).squeeze(0)
        hidden = (
            self.word_proj(states)[pairs.row]
            + pair_vec.unsqueeze(1)
            + self.position(codes)
            + self.word_gate(states)[pairs.row] * pair_gate.unsqueeze(1)
        )
        return self.out(F.gelu(hidden)).squeeze(-1)

    def features(self, batch: WordBatch) -> torch.Tensor:
        return self.states(batch)  # word states: read by the tagger and, for the same pass, the pair scorer

    def tag_logits(self, features: torch.Tensor) -> torch.Tensor:
        return self.tagger(features)

    # ---- training ----------------------------------------------------------------------------------------
    def make_batch(self, examples: list[SentenceExample], rng: random.Random) -> JointBatch:
        word_lists, enc, tags = self.stage1_targets(examples)
        n_words = enc.first.size(1)
        items: list[tuple[int, tuple[int, int], tuple[int, int], int]] = []
        relations: list[list[int]] = []
        for b, (example, wl) in enumerate(zip(examples, word_lists, strict=True)):
            ents = entity_words(example, wl)
            gold = pair_relation_words(example, wl)
            for h, t in pairs_within(len(ents), self.config.max_pair_distance):
                if ents[h][0] >= 0 and ents[t][0] >= 0:
                    items.append((b, ents[h], ents[t], t - h))
                    relations.append(gold.get((h, t), []))
        relation = torch.zeros(len(items), n_words)
        for n, rel in enumerate(relations):
            relation[n, rel] = 1.0
        return JointBatch(enc, tags, Pairs.build(items), relation)

    def loss(self, batch: JointBatch) -> torch.Tensor:
        device = self.device
        enc = batch.words.to(device)
        states = self.states(enc)
        tag_loss = F.cross_entropy(self.tagger(states).flatten(0, 1), batch.tags.to(device).flatten())
        if batch.pairs.row.numel() == 0:
            return tag_loss
        pairs = batch.pairs.to(device)
        logits = self.pair_scores(states, pairs)
        valid = enc.word_mask()[pairs.row] & ~pairs.inside(logits.size(-1))
        pair_loss = F.binary_cross_entropy_with_logits(
            logits[valid],
            batch.relation.to(device)[valid],
            pos_weight=torch.tensor(POSITIVE_WEIGHT, device=device),
        )
        return tag_loss + pair_loss

    # ---- inference ---------------------------------------------------------------------------------------
    def predict_windows(self, windows: list[Window]) -> list[list[FoundFact]]:
        if not windows:
            return []
        enc, states, tags, best = self.stage1(windows)
        spans = [entity_spans(t) for t in tags]
        pair_index = [
            (b, h, t)
            for b in range(len(windows))
            for h, t in pairs_within(len(spans[b]), self.config.max_pair_distance)
        ]
        items = [(b, spans[b][h], spans[b][t], t - h) for b, h, t in pair_index]
        pair_index = [(h, t) for _, h, t in pair_index]
        if not items:
            return [[] for _ in windows]
        pairs = Pairs.build(items).to(self.device)
        probs = self.pair_scores(states, pairs).sigmoid()
        probs = probs.masked_fill(pairs.inside(probs.size(-1)) | ~enc.word_mask()[pairs.row], 0.0).cpu()
        chosen = probs > self.config.extra.get("relation_threshold", 0.5)
        decisions: list[list[PairDecision]] = [[] for _ in windows]
        for n in chosen.any(-1).nonzero().flatten().tolist():
            b, _, _, _ = items[n]
            h, t = pair_index[n]
            rel = chosen[n].nonzero().flatten().tolist()
            decisions[b].append(PairDecision(h, t, tuple(rel), float(probs[n, rel].mean())))
        return decode_windows(windows, spans, best, decisions)


def position_codes(pos: torch.Tensor, head: torch.Tensor, tail: torch.Tensor) -> torch.Tensor:
    """Code of each word's place relative to a pair: order × region × distance bucket → ``[B, P, W]``."""
    head_first = head[..., :1] <= tail[..., :1]
    first = torch.where(head_first, head, tail)
    second = torch.where(head_first, tail, head)
    region = torch.where(
        pos < first[..., :1],
        0,
        torch.where(
            pos < first[..., 1:],
            1,
            torch.where(pos < second[..., :1], 2, torch.where(pos < second[..., 1:], 3, 4)),
        ),
    )
    distance = torch.minimum(
        torch.minimum((pos - first[..., :1]).abs(), (pos - (first[..., 1:] - 1)).abs()),
        torch.minimum((pos - second[..., :1]).abs(), (pos - (second[..., 1:] - 1)).abs()),
    )
    bounds = torch.tensor(DISTANCE_BUCKETS[1:], device=pos.device)
    bucket = torch.bucketize(distance, bounds, right=True)
    order = (~head_first).long()
    return (order * REGIONS + region) * len(DISTANCE_BUCKETS) + bucket


def _span_mean(total: torch.Tensor, row: torch.Tensor, span: torch.Tensor) -> torch.Tensor:
    """Mean state of words ``[start, end)`` from ``total`` = zero-padded running sum ``[B, W + 1, H]``."""
    summed = total[row, span[:, 1]] - total[row, span[:, 0]]
    return summed / (span[:, 1] - span[:, 0]).clamp(min=1).unsqueeze(-1).to(summed.dtype)

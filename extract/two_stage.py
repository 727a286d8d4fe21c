"""The reference design (Siddharth & Luo 2023): a stage-1 tagger, then one marked pass per entity pair.

Stage 1 is an ``AutoModelForTokenClassification``-style tagger (``O``/``B-ENT``/``I-ENT``/``REL`` per
word). Entities are its ``B-ENT I-ENT*`` runs (the reference keeps spaCy noun chunks whose root is tagged
ENT; no parser is available at run time here, so the tagger learns the chunk boundaries itself). Stage 2
re-reads the sentence once per ordered entity pair, rewritten with ``{HEAD ~ <head>}`` and
``{TAIL ~ <tail>}`` markers, and tags the words that form the pair's relation (``O``/``REL``). Accurate
but slow: the encoder runs once per pair.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from extract.base import ExtractorConfig, FactExtractor, Window, decode_windows, pairs_within
from extract.encoding import WordBatch, encode, word_states
from extract.examples import SentenceExample
from extract.facts import FoundFact, PairDecision, entity_spans
from extract.labels import PAIR_LABELS, STAGE1_LABELS, entity_words, mark, pair_relation_words

PAIR_BATCH = 64


class TokenTagger(nn.Module):
    """Encoder + dropout + linear layer: a token classifier over word states."""

    def __init__(self, encoder: nn.Module, labels: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(0.1)
        self.classifier = nn.Linear(encoder.config.hidden_size, labels)

    def forward(self, batch: WordBatch) -> torch.Tensor:
        hidden = self.encoder(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask
        ).last_hidden_state
        return self.classifier(self.dropout(word_states(hidden, batch)))


@dataclass
class TwoStageBatch:
    stage1: WordBatch
    tags: torch.Tensor  # [B, W]
    stage2: WordBatch | None
    relation_tags: torch.Tensor | None  # [N, W'] over marked words


class TwoStageExtractor(FactExtractor):
    """Stage-1 entity/relation tagger + marker-based stage-2 pair relation tagger (two encoders)."""

    design = "two-stage"

    def __init__(self, config: ExtractorConfig, backbone: str, *, pretrained: bool = True) -> None:
        super().__init__(config, backbone, pretrained=pretrained)
        self.tagger = TokenTagger(self.new_encoder(pretrained), len(STAGE1_LABELS))
        self.stage2 = TokenTagger(self.new_encoder(pretrained), len(PAIR_LABELS))

    def make_batch(self, examples: list[SentenceExample], rng: random.Random) -> TwoStageBatch:
        word_lists, enc, tags = self.stage1_targets(examples)
        marked_words: list[list[str]] = []
        marked_tags: list[list[int]] = []
        for example, wl in zip(examples, word_lists, strict=True):
            ents = entity_words(example, wl)
            gold = pair_relation_words(example, wl)
            candidates = [
                p
                for p in pairs_within(len(ents), self.config.max_pair_distance)
                if ents[p[0]][0] >= 0 <= ents[p[1]][0]
            ]
            positives = [p for p in candidates if p in gold]
            negatives = [p for p in candidates if p not in gold]
            keep = max(1, round(len(positives) * self.config.negatives_per_positive))
            for h, t in positives + rng.sample(negatives, min(keep, len(negatives))):
                m = mark(wl, ents[h], ents[t])
                rel = set(gold.get((h, t), []))
                marked_words.append(m.words)
                marked_tags.append([1 if o in rel else 0 for o in m.origin])
        if not marked_words:
            return TwoStageBatch(enc, tags, None, None)
        enc2 = encode(self.tokenizer, marked_words, self.config.max_length)
        rel_tags = torch.full(enc2.first.shape, -100, dtype=torch.long)
        for i, row in enumerate(marked_tags):
            rel_tags[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        rel_tags[~enc2.word_mask()] = -100
        return TwoStageBatch(enc, tags, enc2, rel_tags)

    def loss(self, batch: TwoStageBatch) -> torch.Tensor:
        device = self.device
        logits = self.tagger(batch.stage1.to(device))
        loss = F.cross_entropy(logits.flatten(0, 1), batch.tags.to(device).flatten())
        if batch.stage2 is not None and batch.relation_tags is not None:
            logits2 = self.stage2(batch.stage2.to(device))
            loss = loss + F.cross_entropy(logits2.flatten(0, 1), batch.relation_tags.to(device).flatten())
        return loss

    def tag_logits(self, features: WordBatch) -> torch.Tensor:
        return self.tagger(features)

    def predict_windows(self, windows: list[Window]) -> list[list[FoundFact]]:
        if not windows:
            return []
        device = self.device
        _, _, tags, best = self.stage1(windows)
        spans = [entity_spans(t) for t in tags]
        jobs = [  # (window, head index, tail index, marked sentence)
            (b, h, t, mark(win.words, spans[b][h], spans[b][t]))
            for b, win in enumerate(windows)
            for h, t in pairs_within(len(spans[b]), self.config.max_pair_distance)
        ]
        decisions: list[list[PairDecision]] = [[] for _ in windows]
        threshold = self.config.extra.get("relation_threshold", 0.5)
        for start in range(0, len(jobs), PAIR_BATCH):
            part = jobs[start : start + PAIR_BATCH]
            enc2 = encode(self.tokenizer, [j[3].words for j in part], self.config.max_length).to(device)
            rel_probs = self.stage2(enc2).softmax(-1)[..., 1].masked_fill(~enc2.word_mask(), 0.0).cpu()
            for k, (b, h, t, marked) in enumerate(part):
                hs, ts = spans[b][h], spans[b][t]
                outside = [
                    i
                    for i, o in enumerate(marked.origin)
                    if o >= 0 and not (hs[0] <= o < hs[1] or ts[0] <= o < ts[1])
                ]
                rel = [
                    (marked.origin[i], float(rel_probs[k, i])) for i in outside if rel_probs[k, i] > threshold
                ]
                if rel:
                    probability = sum(p for _, p in rel) / len(rel)
                    decisions[b].append(PairDecision(h, t, tuple(o for o, _ in rel), probability))
        return decode_windows(windows, spans, best, decisions)

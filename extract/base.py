"""The extractor seam: one abstract class every design implements, and its typed config.

A design is a ``torch.nn.Module`` that knows how to (1) build training batches from labelled sentences,
(2) compute a loss on one, and (3) find facts in raw sentences. Training (:mod:`extract.train`), saving
(:mod:`extract.checkpoint`), the CLI and the benchmark only talk to this interface, so a new design is one
new module plus one line in :data:`extract.registry.DESIGNS`.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from extract.encoding import WordBatch, encode, load_backbone, load_tokenizer
from extract.examples import SentenceExample
from extract.facts import FoundFact, PairDecision, span_confidence, window_facts
from extract.labels import STAGE1_LABELS, stage1_tags
from extract.text import Word, words


@dataclass
class ExtractorConfig:
    """Everything needed to rebuild a design (saved as ``extractor.json`` in a model folder).

    Args:
        design: the registry name (``"joint"`` or ``"two-stage"``).
        base_model: hub id or folder the backbone was first loaded from (recorded; the saved folder is
            self-contained).
        num_layers: keep only the backbone's first layers (speed); ``None`` keeps all.
        max_length: subwords per window given to the backbone.
        max_words: a longer sentence is read in windows of at most this many words (facts stay inside one
            window).
        max_pair_distance: only entity pairs at most this many entities apart are scored.
        negatives_per_positive: stage-2 training pairs without a relation per pair with one (two-stage).
        version: stored with every fact the model writes (``extractor_version``); set on save to the
            content hash of the weights.
    """

    design: str
    base_model: str
    num_layers: int | None = None
    max_length: int = 256
    max_words: int = 120
    max_pair_distance: int = 6
    negatives_per_positive: float = 1.0
    version: str = "unsaved"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Window:
    """A run of words of one sentence, the unit a model reads (``offset`` = index of its first word)."""

    sentence_index: int
    sentence: str
    words: list[Word]
    offset: int


class FactExtractor(nn.Module, ABC):
    """Base class of extractor designs.

    Subclasses set :attr:`design` and implement :meth:`training_batches`, :meth:`loss` and
    :meth:`predict_windows`; :meth:`extract` (sentences in, facts out) is shared.
    """

    design: ClassVar[str]

    def __init__(self, config: ExtractorConfig, backbone: str, *, pretrained: bool = True) -> None:
        super().__init__()
        self.config = config
        self.backbone_source = backbone
        self.tokenizer = load_tokenizer(backbone)

    def new_encoder(self, pretrained: bool) -> nn.Module:
        return load_backbone(self.backbone_source, self.config.num_layers, pretrained=pretrained)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def training_batches(
        self, examples: Sequence[SentenceExample], batch_size: int, rng: random.Random
    ) -> Iterator[Any]:
        """One epoch of batches (length-bucketed, shuffled with ``rng``)."""
        lengths = [len(e.sentence) for e in examples]
        for idx in length_batches(lengths, batch_size, rng):
            yield self.make_batch([examples[i] for i in idx], rng)

    @abstractmethod
    def make_batch(self, examples: list[SentenceExample], rng: random.Random) -> Any:
        """One training batch from labelled sentences (``rng`` for any sampling the design does)."""

    def stage1_targets(
        self, examples: list[SentenceExample]
    ) -> tuple[list[list[Word]], WordBatch, torch.Tensor]:
        """Words of each sentence, their encoding, and stage-1 label ids ``[B, W]`` (-100 where ignored)."""
        word_lists = [words(e.sentence) for e in examples]
        enc = encode(self.tokenizer, [[w.text for w in wl] for wl in word_lists], self.config.max_length)
        tags = torch.full(enc.first.shape, -100, dtype=torch.long)
        for b, (example, wl) in enumerate(zip(examples, word_lists, strict=True)):
            ids = [STAGE1_LABELS.index(t) for t in stage1_tags(example, wl)]
            tags[b, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        tags[~enc.word_mask()] = -100
        return word_lists, enc, tags

    @abstractmethod
    def loss(self, batch: Any) -> torch.Tensor:
        """Training loss of one batch from :meth:`training_batches`."""

    @abstractmethod
    def predict_windows(self, windows: list[Window]) -> list[list[FoundFact]]:
        """Facts for each window (spans into the window's sentence)."""

    def features(self, batch: WordBatch) -> Any:
        """What the stage-1 head reads (the joint design returns word states and reuses them for pairs)."""
        return batch

    @abstractmethod
    def tag_logits(self, features: Any) -> torch.Tensor:
        """Stage-1 logits ``[B, W, len(STAGE1_LABELS)]`` (one row per word) from :meth:`features`."""

    def stage1(self, windows: list[Window]) -> tuple[WordBatch, Any, list[list[str]], list[list[float]]]:
        """Encode windows and decode stage-1 tags.

        Returns the batch, its :meth:`features`, the tags per word, and each tag's probability.
        """
        enc = encode(self.tokenizer, [[w.text for w in win.words] for win in windows], self.config.max_length)
        enc = enc.to(self.device)
        feats = self.features(enc)
        probs = self.tag_logits(feats).softmax(-1)
        best, ids = probs.max(-1)
        ids = ids.masked_fill(~enc.word_mask(), 0).tolist()
        best = best.tolist()
        tags = [
            [STAGE1_LABELS[i] for i in row[: len(win.words)]] for row, win in zip(ids, windows, strict=True)
        ]
        return enc, feats, tags, [row[: len(win.words)] for row, win in zip(best, windows, strict=True)]

    @torch.inference_mode()
    def tag(self, sentences: Sequence[str], batch_size: int = 32) -> list[list[str]]:
        """Stage-1 tags (``O``/``B-ENT``/``I-ENT``/``REL``) for every word of each sentence."""
        self.eval()
        windows = [w for i, s in enumerate(sentences) for w in split_windows(i, s, self.config.max_words)]
        out: list[list[str]] = [[] for _ in sentences]
        for k in range(0, len(windows), batch_size):
            chunk = windows[k : k + batch_size]
            for window, tags in zip(chunk, self.stage1(chunk)[2], strict=True):
                out[window.sentence_index] += tags  # windows of a sentence come in order
        return out

    @torch.inference_mode()
    def extract(self, sentences: Sequence[str], batch_size: int = 32) -> list[list[FoundFact]]:
        """Facts for each sentence.

        Args:
            sentences: raw sentence texts (any length; empty or wordless ones get no facts).
            batch_size: windows per forward pass.

        Example:
            >>> facts = model.extract(["The arm has a hook."])  # doctest: +SKIP
            >>> facts[0][0].relation  # doctest: +SKIP
            'has'
        """
        self.eval()
        windows = [w for i, s in enumerate(sentences) for w in split_windows(i, s, self.config.max_words)]
        windows.sort(key=lambda w: len(w.words))  # length bucketing: little padding
        found: list[list[FoundFact]] = [[] for _ in sentences]
        for start in range(0, len(windows), batch_size):
            chunk = windows[start : start + batch_size]
            for window, facts in zip(chunk, self.predict_windows(chunk), strict=True):
                found[window.sentence_index].extend(facts)
        for facts in found:
            facts.sort(key=lambda f: (f.head_span, f.tail_span))
        return found


def decode_windows(
    windows: list[Window],
    spans: list[list[tuple[int, int]]],
    tag_probs: list[list[float]],
    decisions: list[list[PairDecision]],
) -> list[list[FoundFact]]:
    """Facts of each window from its entities, stage-1 probabilities and pair decisions."""
    return [
        window_facts(
            win.sentence,
            win.words,
            spans[b],
            [span_confidence(tag_probs[b], e) for e in spans[b]],
            decisions[b],
        )
        for b, win in enumerate(windows)
    ]


def split_windows(index: int, sentence: str, max_words: int) -> list[Window]:
    """Cut a sentence's words into windows of at most ``max_words``, preferring cuts after ``;`` or ``,``."""
    word_list = words(sentence)
    out: list[Window] = []
    start = 0
    while start < len(word_list):
        end = min(start + max_words, len(word_list))
        if end < len(word_list):
            cut = next(
                (k + 1 for k in range(end - 1, start + max_words // 2, -1) if word_list[k].text in ";,"), end
            )
            end = cut
        out.append(Window(index, sentence, word_list[start:end], start))
        start = end
    return out


def length_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Indexes grouped into batches of similar length (sorted inside shuffled pools), batch order shuffled."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches: list[list[int]] = []
    for p in range(0, len(order), pool):
        part = sorted(order[p : p + pool], key=lambda i: lengths[i])
        batches += [part[b : b + batch_size] for b in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


def pairs_within(n: int, distance: int) -> list[tuple[int, int]]:
    """Ordered pairs ``(i, j)``, ``i != j``, at most ``distance`` entities apart."""
    return [(i, j) for i in range(n) for j in range(n) if i != j and abs(i - j) <= distance]

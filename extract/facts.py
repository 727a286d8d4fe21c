"""Turning per-word decisions into facts with spans: the decoding shared by every design."""

from __future__ import annotations

from dataclasses import dataclass

from extract.text import Word
from extract.types import ExtractedFact, Span

WEAK_RELATIONS = {("of",), ("via",)}


@dataclass(frozen=True)
class PairDecision:
    """A model's decision that entities ``head`` and ``tail`` (indexes into the window's entity list) are
    linked by the words ``relation`` (word indexes), with the relation's probability."""

    head: int
    tail: int
    relation: tuple[int, ...]
    probability: float


@dataclass(frozen=True)
class FoundFact:
    """A fact found in one sentence (no store ids yet): texts, spans into the sentence, confidence."""

    head: str
    relation: str
    tail: str
    confidence: float
    head_span: Span
    tail_span: Span
    relation_spans: tuple[Span, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "head": self.head,
            "relation": self.relation,
            "tail": self.tail,
            "confidence": round(self.confidence, 4),
            "head_span": list(self.head_span),
            "relation_spans": [list(s) for s in self.relation_spans],
            "tail_span": list(self.tail_span),
        }

    def bind(self, document_id: str, sentence_id: str, extractor: str, version: str) -> ExtractedFact:
        """The same fact addressed to a stored sentence."""
        return ExtractedFact(
            self.head,
            self.relation,
            self.tail,
            self.confidence,
            document_id,
            sentence_id,
            self.head_span,
            self.tail_span,
            self.relation_spans,
            extractor,
            version,
        )


def entity_spans(tags: list[str]) -> list[tuple[int, int]]:
    """BIO decoding: ``B-ENT I-ENT*`` (or a stray ``I-ENT`` run) → ``[first, last + 1)`` word ranges."""
    spans: list[tuple[int, int]] = []
    start = -1
    for i, tag in enumerate([*tags, "O"]):
        if tag == "B-ENT" or (tag == "I-ENT" and start < 0):
            if start >= 0:
                spans.append((start, i))
            start = i
        elif tag != "I-ENT" and start >= 0:
            spans.append((start, i))
            start = -1
    return spans


def window_facts(
    sentence: str,
    word_list: list[Word],
    entities: list[tuple[int, int]],
    entity_probs: list[float],
    decisions: list[PairDecision],
) -> list[FoundFact]:
    """Facts of one window from pair decisions (entity confidence = mean stage-1 probability of its words).

    Tried and dropped: copying a fact to the tail's coordinated entities (``has A, B and C``), as the
    reference outputs read; on the reference sentences it traded as much precision as it gained recall.
    """
    found = {(d.head, d.tail): d for d in decisions}
    facts = []
    for d in found.values():
        h, t = entities[d.head], entities[d.tail]
        confidence = d.probability * (entity_probs[d.head] * entity_probs[d.tail]) ** 0.5
        fact = make_fact(sentence, word_list, h, t, list(d.relation), confidence)
        if fact is not None:
            facts.append(fact)
    return facts


def span_confidence(probs: list[float], span: tuple[int, int]) -> float:
    """Mean of the per-word tag probabilities over a ``[first, last + 1)`` word range."""
    return sum(probs[span[0] : span[1]]) / max(1, span[1] - span[0])


def make_fact(
    sentence: str,
    word_list: list[Word],
    head: tuple[int, int],
    tail: tuple[int, int],
    relation: list[int],
    confidence: float,
) -> FoundFact | None:
    """Build a fact from word ranges, applying the reference method's filters.

    A relation of only ``of``/``via`` is kept only when the tail directly follows the head (one word
    between them); a fact whose head and tail read the same is dropped.
    """
    if not relation:
        return None
    rel_words = [word_list[i].text.lower() for i in relation]
    if tuple(rel_words) in WEAK_RELATIONS and tail[0] != head[1] + 1:
        return None
    head_span = (word_list[head[0]].start, word_list[head[1] - 1].end)
    tail_span = (word_list[tail[0]].start, word_list[tail[1] - 1].end)
    head_text, tail_text = sentence[slice(*head_span)], sentence[slice(*tail_span)]
    if head_text.lower() == tail_text.lower() or not (_has_word(head_text) and _has_word(tail_text)):
        return None  # a bracket or dash alone is no entity (and has no store key)
    pieces: list[Span] = []
    for i in relation:
        w = word_list[i]
        if pieces and not sentence[pieces[-1][1] : w.start].strip():
            pieces[-1] = (pieces[-1][0], w.end)
        else:
            pieces.append((w.start, w.end))
    rel_text = " ".join(sentence[s:e] for s, e in pieces)
    if not _has_word(rel_text):
        return None
    return FoundFact(head_text, rel_text, tail_text, float(confidence), head_span, tail_span, tuple(pieces))


def _has_word(text: str) -> bool:
    return any(c.isalnum() for c in text)

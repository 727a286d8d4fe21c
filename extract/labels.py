"""Word-level labels derived from a :class:`~extract.examples.SentenceExample`.

Stage 1 (one tag per word): ``B-ENT``/``I-ENT`` for entity words, ``REL`` for words that are part of some
fact's relation, ``O`` otherwise. Stage 2 (per ordered entity pair): ``REL`` for the words of that pair's
relation. The reference method's marker input (``{HEAD ~ ...}``/``{TAIL ~ ...}``) is built here too.
"""

from __future__ import annotations

from dataclasses import dataclass

from extract.examples import SentenceExample
from extract.text import Word, words
from extract.types import Span

STAGE1_LABELS = ("O", "B-ENT", "I-ENT", "REL")
PAIR_LABELS = ("O", "REL")


def covered(word_list: list[Word], span: Span) -> list[int]:
    """Indexes of the words inside ``span`` (a word counts when it overlaps the span)."""
    return [i for i, w in enumerate(word_list) if w.start < span[1] and w.end > span[0]]


def stage1_tags(example: SentenceExample, word_list: list[Word] | None = None) -> list[str]:
    """One stage-1 tag per word of the sentence."""
    word_list = word_list if word_list is not None else words(example.sentence)
    tags = ["O"] * len(word_list)
    for fact in example.facts:
        for span in fact.relation:
            for i in covered(word_list, span):
                tags[i] = "REL"
    for span in example.entities:
        for k, i in enumerate(covered(word_list, span)):
            tags[i] = "B-ENT" if k == 0 else "I-ENT"
    return tags


def entity_words(example: SentenceExample, word_list: list[Word]) -> list[tuple[int, int]]:
    """Entities as ``[first_word, last_word + 1)`` ranges (entities covering no word are dropped)."""
    out = []
    for span in example.entities:
        idx = covered(word_list, span)
        out.append((idx[0], idx[-1] + 1) if idx else (-1, -1))
    return out


def pair_relation_words(example: SentenceExample, word_list: list[Word]) -> dict[tuple[int, int], list[int]]:
    """``(head, tail) -> relation word indexes`` for every labelled fact."""
    out: dict[tuple[int, int], list[int]] = {}
    for fact in example.facts:
        idx = sorted({i for span in fact.relation for i in covered(word_list, span)})
        if idx:
            out[(fact.head, fact.tail)] = idx
    return out


@dataclass(frozen=True)
class MarkedSentence:
    """A sentence with ``{HEAD ~ ...}`` and ``{TAIL ~ ...}`` markers, and a map back to the original.

    ``origin[i]`` is the index of the original word that marked word ``i`` came from (``-1`` for marker
    words).
    """

    words: list[str]
    origin: list[int]


def mark(word_list: list[Word], head: tuple[int, int], tail: tuple[int, int]) -> MarkedSentence:
    """Wrap the head and tail word ranges in the reference method's markers."""
    out: list[str] = []
    origin: list[int] = []
    opens = {head[0]: "HEAD", tail[0]: "TAIL"}
    closes = {head[1] - 1, tail[1] - 1}
    for i, w in enumerate(word_list):
        if i in opens:
            out += ["{", opens[i], "~"]
            origin += [-1, -1, -1]
        out.append(w.text)
        origin.append(i)
        if i in closes:
            out.append("}")
            origin.append(-1)
    return MarkedSentence(out, origin)

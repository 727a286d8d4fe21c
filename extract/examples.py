"""Labelled sentences: the training and evaluation unit shared by every extractor design.

A :class:`SentenceExample` is one sentence with its entity spans and its facts, all as character spans into
the sentence. Every data source is converted to it (the committed silver set, the hub dataset of the
reference paper, the published reference facts) and every design derives its own labels from it (BIO entity
tags and REL tags per word for stage 1, per-pair relation tags for stage 2).

On disk: JSON Lines, one object per sentence::

    {"id": "US6334226:12", "group": "US6334226", "sentence": "The arm has a hook",
     "entities": [[0, 7], [12, 18]],
     "facts": [{"head": 0, "tail": 1, "relation": [[8, 11]]}]}

``group`` (a patent or document id) keeps related sentences on one side of a split.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from extract.errors import ExtractDataError
from extract.jsonl import iter_jsonl
from extract.types import Span
from ingest.files import write_file


@dataclass(frozen=True)
class FactLabel:
    """A labelled fact: indexes into :attr:`SentenceExample.entities` and the relation's pieces."""

    head: int
    tail: int
    relation: tuple[Span, ...]


@dataclass(frozen=True)
class SentenceExample:
    """One labelled sentence.

    Args:
        id: a stable id (``group:index`` for the silver set).
        sentence: the text; every span indexes into it.
        entities: ``[start, end)`` spans, sorted, not overlapping.
        facts: head/tail entity indexes (head may come after tail in the text) and relation pieces.
        group: the document the sentence comes from, for grouped splits and cross-validation.
    """

    id: str
    sentence: str
    entities: tuple[Span, ...]
    facts: tuple[FactLabel, ...] = field(default_factory=tuple)
    group: str = ""

    def text(self, span: Span) -> str:
        return self.sentence[span[0] : span[1]]

    def relation_text(self, fact: FactLabel) -> str:
        return " ".join(self.text(s) for s in fact.relation)

    def triples(self) -> list[tuple[str, str, str]]:
        """The facts as ``(head, relation, tail)`` strings."""
        return [
            (self.text(self.entities[f.head]), self.relation_text(f), self.text(self.entities[f.tail]))
            for f in self.facts
        ]

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "group": self.group,
            "sentence": self.sentence,
            "entities": [list(s) for s in self.entities],
            "facts": [
                {"head": f.head, "tail": f.tail, "relation": [list(s) for s in f.relation]}
                for f in self.facts
            ],
        }


def example_from_json(obj: object, where: str) -> SentenceExample:
    """Build and validate an example; ``where`` (``file:line``) names the record in errors."""
    if not isinstance(obj, dict):
        raise ExtractDataError(where, "a record must be a JSON object")
    sentence = obj.get("sentence")
    if not isinstance(sentence, str):
        raise ExtractDataError(where, "field 'sentence' must be a string")
    n = len(sentence)
    entities = tuple(
        _span(s, n, where, "entities") for s in _list(obj.get("entities", []), where, "entities")
    )
    if list(entities) != sorted(entities) or any(a[1] > b[0] for a, b in pairwise(entities)):
        raise ExtractDataError(where, "field 'entities' must be sorted and not overlap")
    facts = []
    for f in _list(obj.get("facts", []), where, "facts"):
        if (
            not isinstance(f, dict)
            or not isinstance(f.get("head"), int)
            or not isinstance(f.get("tail"), int)
        ):
            raise ExtractDataError(where, "each fact needs integer 'head' and 'tail'")
        if not (0 <= f["head"] < len(entities) and 0 <= f["tail"] < len(entities)) or f["head"] == f["tail"]:
            raise ExtractDataError(where, f"fact head/tail {f['head']}/{f['tail']} out of range")
        relation = tuple(
            _span(s, n, where, "facts.relation") for s in _list(f.get("relation", []), where, "relation")
        )
        facts.append(FactLabel(f["head"], f["tail"], relation))
    return SentenceExample(
        id=str(obj.get("id", where)),
        sentence=sentence,
        entities=entities,
        facts=tuple(facts),
        group=str(obj.get("group", "")),
    )


def read_examples(path: Path) -> Iterator[SentenceExample]:
    """Read a JSON Lines file of examples; a bad line raises :class:`ExtractDataError` naming it."""
    for _, where, obj in iter_jsonl(path):
        yield example_from_json(obj, where)


def write_examples(path: Path, examples: Iterable[SentenceExample]) -> int:
    """Write examples as JSON Lines (all or nothing: :func:`ingest.files.write_file`). Returns the count."""
    count = 0

    def write(tmp: Path) -> None:
        nonlocal count
        with tmp.open("w", encoding="utf-8") as out:
            for example in examples:
                out.write(json.dumps(example.to_json(), ensure_ascii=False) + "\n")
                count += 1

    write_file(path, write)
    return count


def _list(value: object, where: str, name: str) -> list[object]:
    if not isinstance(value, list):
        raise ExtractDataError(where, f"field '{name}' must be a list")
    return value


def _span(value: object, n: int, where: str, name: str) -> Span:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int) for v in value)
        or not 0 <= value[0] < value[1] <= n
    ):
        raise ExtractDataError(
            where, f"field '{name}' holds {value!r}, not a [start, end) span inside the sentence"
        )
    return (value[0], value[1])

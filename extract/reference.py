"""The reference paper's published facts, read as :class:`SentenceExample` values for fine-tuning.

``shared/data/patents/design_kgex_samples/selected_facts.jsonl`` holds one sentence per line with the facts
the authors' design_kgex models read from it (silver facts, not human annotations; see ``SOURCES.md``)::

    {"patent_id": "US7978247", "sent_idx": 0, "sentence": "... an edge width of not greater than ...",
     "facts": [{"head": "an edge width", "relationship": "of not greater than",
                "tail": "a second reference value Th2",
                "raw": "an edge width (14) :: of (15) not (16) greater (17) than (18) :: a second ... (19)"}]}

Only ``raw`` carries positions. Its numbers index the authors' token sequence, in which every entity (a
noun chunk) was collapsed to ONE token and every other word or punctuation mark is one spaCy token. The
``(index, text)`` items of all facts of a sentence are therefore an ordered, gappy view of that sequence:
sorting them by index and finding each text in the sentence left to right gives character spans, and the
index decides which occurrence of a repeated phrase a fact means (``the arm (2)`` versus ``the arm (9)``):
the first occurrence that leaves room for the tokens the indexes say lie before it is taken.

Facts that cannot be converted are dropped and counted in :class:`ReferenceStats`, never raised: a fact with
an empty relation (``head (5) :: :: tail (6)``), a fact using an item whose text is not found in order, a
fact whose head and tail are the same entity, and a repeat of a fact already kept. Malformed input (bad
JSON, a missing field, a ``raw`` that is not ``head (i) :: rel (j) ... :: tail (k)``) raises
:class:`ExtractDataError` naming ``file:line`` and the field.

Example:
    >>> import json, tempfile
    >>> record = {"patent_id": "US1", "sent_idx": 4, "sentence": "The arm is fixed to the frame",
    ...           "facts": [{"raw": "The arm (0) :: is (1) fixed (2) to (3) :: the frame (4)"}]}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "facts.jsonl"
    ...     _ = path.write_text(json.dumps(record) + "\\n")
    ...     examples, stats = examples_from_reference(path)
    >>> examples[0].id, examples[0].group, examples[0].triples()
    ('US1:4', 'US1', [('The arm', 'is fixed to', 'the frame')])
    >>> examples[0].facts[0].relation  # the three tokens are merged into one span
    ((8, 19),)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from extract.errors import ExtractDataError
from extract.examples import FactLabel, SentenceExample, write_examples
from extract.jsonl import iter_jsonl
from extract.types import Span

# The ``::`` separators; a bare ``::`` with spaces around it, so an empty relation (``a (1) :: :: b (2)``)
# still yields three parts.
_SEPARATOR = re.compile(r"(?:^|\s)::(?=\s|$)")
# An entity part: everything before its final `` (N)`` is the text (which may hold parentheses itself).
_ENTITY = re.compile(r"(?P<text>.*\S)\s+\((?P<index>\d+)\)", re.DOTALL)
# One relation token: a spaCy token never holds whitespace, so ``\S+`` also covers ``(`` or ``)`` tokens.
_TOKEN = re.compile(r"\s*(?P<text>\S+)\s+\((?P<index>\d+)\)")
# Counts at least as many pieces as spaCy makes tokens of the same text (``e.g.`` is 4 here, 1 for spaCy;
# a collapsed noun chunk is many here, 1 token), so a true alignment never has fewer in a gap than tokens.
_ROUGH_TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class ReferenceStats:
    """What a conversion read and what it left out.

    ``facts_in == facts_out + dropped_unaligned + dropped_empty_relation + dropped_other`` always holds.

    Args:
        sentences: examples produced (one per record, so a sentence repeated under two ids counts twice).
        facts_in: facts read from the file.
        facts_out: facts in the examples.
        dropped_unaligned: facts using an item whose text was not found in the sentence in index order.
        dropped_empty_relation: facts whose relation has no tokens.
        dropped_other: facts whose head and tail are one entity, and repeats of a fact already kept.
    """

    sentences: int
    facts_in: int
    facts_out: int
    dropped_unaligned: int
    dropped_empty_relation: int
    dropped_other: int


@dataclass(frozen=True, order=True)
class _Item:
    """One ``text (index)`` item of a ``raw`` line; ordering by index first is the sentence order."""

    index: int
    text: str


@dataclass(frozen=True)
class _RawFact:
    head: _Item
    relation: tuple[_Item, ...]
    tail: _Item


def examples_from_reference(path: Path) -> tuple[list[SentenceExample], ReferenceStats]:
    """Read the published reference facts as one :class:`SentenceExample` per record, in file order.

    Args:
        path: a ``selected_facts.jsonl`` file (see the module docstring for the format).

    Returns:
        The examples and a :class:`ReferenceStats`. An example's ``id`` is ``"<patent_id>:<sent_idx>"`` and
        its ``group`` the patent id, so splits and cross-validation folds keep a patent on one side.
        ``entities`` holds every entity item found in the sentence, also those of dropped facts (they are
        still correct noun chunks). A relation is one span per token, with tokens separated only by
        whitespace merged, so ``triples()`` gives back the file's ``relationship`` when the tokens are
        contiguous.

    Raises:
        ExtractDataError: the file cannot be read, or a line is malformed (named as ``file:line``).
    """
    examples: list[SentenceExample] = []
    counts = {"in": 0, "out": 0, "unaligned": 0, "empty": 0, "other": 0}
    for _, where, record in iter_jsonl(path):
        patent_id, sent_idx, sentence, facts = _read_record(record, where)
        examples.append(_convert(f"{patent_id}:{sent_idx}", patent_id, sentence, facts, counts))
    stats = ReferenceStats(
        sentences=len(examples),
        facts_in=counts["in"],
        facts_out=counts["out"],
        dropped_unaligned=counts["unaligned"],
        dropped_empty_relation=counts["empty"],
        dropped_other=counts["other"],
    )
    return examples, stats


def write_reference_examples(src: Path, dst: Path) -> ReferenceStats:
    """Convert ``src`` (reference facts) and write the examples to ``dst`` as examples JSON Lines.

    ``dst`` is written atomically by :func:`extract.examples.write_examples` and reads back with
    :func:`extract.examples.read_examples`.
    """
    examples, stats = examples_from_reference(src)
    write_examples(dst, examples)
    return stats


def _read_record(record: object, where: str) -> tuple[str, int, str, list[_RawFact]]:
    """Check one record's fields and parse its ``raw`` lines."""
    if not isinstance(record, dict):
        raise ExtractDataError(where, "a record must be a JSON object")
    patent_id = record.get("patent_id")
    if not isinstance(patent_id, str) or not patent_id:
        raise ExtractDataError(where, "field 'patent_id' must be a non-empty string")
    sent_idx = record.get("sent_idx")
    if not isinstance(sent_idx, int) or isinstance(sent_idx, bool):
        raise ExtractDataError(where, "field 'sent_idx' must be an integer")
    sentence = record.get("sentence")
    if not isinstance(sentence, str):
        raise ExtractDataError(where, "field 'sentence' must be a string")
    facts = record.get("facts")
    if not isinstance(facts, list):
        raise ExtractDataError(where, "field 'facts' must be a list")
    parsed = []
    for k, fact in enumerate(facts):
        raw = fact.get("raw") if isinstance(fact, dict) else None
        if not isinstance(raw, str):
            raise ExtractDataError(where, f"field 'facts[{k}].raw' must be a string")
        parsed.append(_parse_raw(raw, where, f"facts[{k}].raw"))
    return patent_id, sent_idx, sentence, parsed


def _parse_raw(raw: str, where: str, name: str) -> _RawFact:
    """Parse ``head (i) :: tok (j) tok (k) :: tail (m)``; the relation part may be empty."""
    parts = _SEPARATOR.split(raw)
    if len(parts) != 3:
        raise ExtractDataError(
            where, f"field '{name}' {raw!r} must have three parts separated by ' :: ', has {len(parts)}"
        )
    head_part, relation_part, tail_part = (p.strip() for p in parts)
    items = []
    for role, part in (("head", head_part), ("tail", tail_part)):
        match = _ENTITY.fullmatch(part)
        if match is None:
            raise ExtractDataError(where, f"field '{name}': the {role} {part!r} must read 'text (N)'")
        items.append(_Item(int(match["index"]), match["text"]))
    relation = []
    pos = 0
    while pos < len(relation_part):
        match = _TOKEN.match(relation_part, pos)
        if match is None:
            raise ExtractDataError(
                where, f"field '{name}': the relation {relation_part!r} must read 'word (N) word (N) ...'"
            )
        relation.append(_Item(int(match["index"]), match["text"]))
        pos = match.end()
    return _RawFact(items[0], tuple(relation), items[1])


def _convert(
    example_id: str, group: str, sentence: str, facts: list[_RawFact], counts: dict[str, int]
) -> SentenceExample:
    """One example from one record's parsed facts; adds what it keeps and drops to ``counts``."""
    entity_items = {item for f in facts for item in (f.head, f.tail)}
    items = entity_items | {item for f in facts for item in f.relation}
    spans = _align(sentence, sorted(items))

    entities = _longest_disjoint({spans[i] for i in entity_items if i in spans})
    index = {span: k for k, span in enumerate(entities)}
    kept: list[FactLabel] = []
    for fact in facts:
        counts["in"] += 1
        if not fact.relation:
            counts["empty"] += 1
            continue
        used = (fact.head, fact.tail, *fact.relation)
        if (
            any(item not in spans for item in used)
            or spans[fact.head] not in index
            or spans[fact.tail] not in index
        ):
            # Not found in order, or (never for real data) lost to an overlapping longer entity.
            counts["unaligned"] += 1
            continue
        label = FactLabel(
            index[spans[fact.head]],
            index[spans[fact.tail]],
            _merge([spans[t] for t in fact.relation], sentence),
        )
        if label.head == label.tail or label in kept:
            counts["other"] += 1
            continue
        kept.append(label)
    counts["out"] += len(kept)
    return SentenceExample(example_id, sentence, entities, tuple(kept), group)


def _align(sentence: str, items: list[_Item]) -> dict[_Item, Span]:
    """Find each item in the sentence, in index order, each match starting after the previous one's end.

    An item that is not found is left out (its facts are dropped) and does not move the cursor, so one
    bad item does not take the rest of the sentence with it. Since matches never go backwards, the spans
    found are disjoint.
    """
    spans: dict[_Item, Span] = {}
    cursor, previous = 0, -1  # as if a token -1 ended where the sentence starts
    for item in items:
        span = _find(sentence, item.text, cursor, item.index - previous - 1)
        if span is None:
            continue
        spans[item] = span
        cursor, previous = span[1], item.index
    return spans


def _find(sentence: str, text: str, start: int, between: int) -> Span | None:
    """The span of ``text`` in ``sentence`` at or after ``start``, or ``None``.

    ``between`` is how many tokens of the authors' sequence lie between ``start`` and the item. Whitespace
    inside ``text`` matches any whitespace run. Candidates are tried in turn: whole words with the exact
    case, whole words in any case, then the same inside words (spaCy splits some words, e.g. ``ca`` +
    ``n't``); whole words first keeps a short token such as ``in`` from matching inside ``intensity``. The
    first candidate that leaves room for ``between`` tokens before it wins (none at all when ``between`` is
    0: then only whitespace may precede it); if none does, the first candidate. That keeps ``is (14)`` in
    ``system (10) is disclosed which is (14)`` off the first ``is``.
    """
    body = r"\s+".join(re.escape(w) for w in text.split())
    if not body:
        return None
    fallback: Span | None = None
    for whole_words in (True, False):
        for pattern in (re.compile(body), re.compile(body, re.IGNORECASE)):
            pos = start
            while (match := pattern.search(sentence, pos)) is not None:
                pos = match.start() + 1
                if whole_words and not (
                    _boundary(sentence, match.start()) and _boundary(sentence, match.end())
                ):
                    continue
                gap = len(_ROUGH_TOKEN.findall(sentence, start, match.start()))
                if gap >= between and (between > 0 or gap == 0):
                    return match.span()
                fallback = fallback or match.span()
    return fallback


def _boundary(text: str, k: int) -> bool:
    """No word continues across position ``k``."""
    return k <= 0 or k >= len(text) or not (text[k - 1].isalnum() and text[k].isalnum())


def _longest_disjoint(spans: set[Span]) -> tuple[Span, ...]:
    """The spans sorted, keeping the longer of two overlapping ones (earlier first on a tie)."""
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (s[0] - s[1], s[0])):
        if all(span[1] <= other[0] or other[1] <= span[0] for other in kept):
            kept.append(span)
    return tuple(sorted(kept))


def _merge(pieces: list[Span], sentence: str) -> tuple[Span, ...]:
    """Join consecutive relation pieces that only whitespace separates (``of`` ``not`` -> ``of not``)."""
    merged: list[Span] = []
    for start, end in pieces:
        if merged and merged[-1][1] <= start and not sentence[merged[-1][1] : start].strip():
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)

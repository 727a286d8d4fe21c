"""Scoring extracted facts against reference facts, and word-level scores for stage-1 tags.

Facts are compared per sentence as multisets of ``(head, relation, tail)`` strings, after one of two
transforms:

* ``"normalised"`` -- head and tail through :func:`extract.text.normalise` (case, NFKC, whitespace, a
  leading a/an/the dropped); the relation only lower-cased with whitespace collapsed, because articles
  inside a relation (``is a part of``) carry meaning.
* ``"strict"`` -- all three through :func:`extract.text.strict` (whitespace collapsed, nothing else).

Predicted and reference sentences are paired by their text (whitespace collapsed), never by id: a
prediction file made from another copy of the data may number its sentences differently.

Example:
    >>> ref = [FactSentence("p:0", "The arm has a hook", "p", (("The arm", "has", "a hook"),))]
    >>> loose = (("arm", "has", "hook"), ("arm", "is", "hook"))
    >>> pred = [FactSentence("x", "The arm  has a hook", "x", loose)]
    >>> s = score_facts(pred, ref, "normalised")
    >>> (s.tp, s.precision, s.recall)
    (1, 0.5, 1.0)
    >>> score_facts(pred, ref, "strict").tp
    0
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from extract.errors import ExtractDataError
from extract.examples import SentenceExample
from extract.jsonl import iter_jsonl
from extract.text import normalise, strict

if TYPE_CHECKING:  # the metrics need no torch; only the two model helpers at the end touch a model
    from extract.base import FactExtractor

Mode = Literal["normalised", "strict"]
Triple = tuple[str, str, str]


@dataclass(frozen=True)
class FactSentence:
    """One sentence with its facts as plain strings, as read from a reference or prediction file.

    Args:
        key: ``id`` when the record has one, else ``patent_id:sent_idx``, else the line number.
        sentence: the sentence text (pairing uses it, with whitespace collapsed).
        group: the document the sentence comes from (``patent_id``, or the part of ``id`` before ``:``).
        facts: ``(head, relation, tail)`` exactly as written in the file; the relation may be ``""``.
    """

    key: str
    sentence: str
    group: str
    facts: tuple[Triple, ...]


@dataclass(frozen=True)
class FactScores:
    """Micro-averaged precision/recall/F1 over all facts (or, from :func:`score_parts`, entities or pairs).

    Args:
        tp: predicted items that match a reference item (multiset matching per sentence).
        predicted: predicted items on sentences that are in the reference.
        reference: reference items, including those of sentences that got no prediction.
        precision, recall, f1: ``tp / predicted``, ``tp / reference`` and their harmonic mean; 0 when
            the denominator is 0.
        sentences: reference sentences scored.
        unmatched_predictions: predicted sentences whose text is not in the reference (ignored).
    """

    tp: int
    predicted: int
    reference: int
    precision: float
    recall: float
    f1: float
    sentences: int
    unmatched_predictions: int


@dataclass(frozen=True)
class PartScores:
    """Diagnostic scores from :func:`score_parts`: where the fact-level F1 is lost.

    Args:
        entities: the distinct head/tail strings of each sentence, matched as sets. Low here means the
            entity boundaries are wrong.
        pairs: ``(head, tail)`` pairs ignoring the relation, matched as multisets. Good entities but low
            pairs means the wrong entities are linked; good pairs but low fact F1 means the relation text
            is wrong.
    """

    entities: FactScores
    pairs: FactScores


@dataclass(frozen=True)
class TagScores:
    """Word-level scores of one tag label (each word counted on its own, not as spans).

    Args:
        tp: words tagged with the label in both gold and prediction.
        predicted: words the prediction tags with the label.
        support: words the gold tags with the label.
        precision, recall, f1: ``tp / predicted``, ``tp / support``, harmonic mean; 0 when a
            denominator is 0.
    """

    tp: int
    predicted: int
    support: int
    precision: float
    recall: float
    f1: float


# ---------------------------------------------------------------------------------------------- reading


def read_fact_file(path: Path) -> list[FactSentence]:
    """Read a JSON Lines file of sentences with string facts (reference or prediction format).

    Two record shapes are accepted, one object per line (blank lines are skipped)::

        {"patent_id": "US7978247", "sent_idx": 0, "sentence": "...",
         "facts": [{"head": "...", "relationship": "...", "tail": "...", "raw": "..."}]}
        {"id": "US7978247:0", "sentence": "...", "facts": [{"head": "...", "relation": "...", "tail": "..."}]}

    Extra fields are ignored. ``head`` and ``tail`` must be non-blank strings; the relation must be a
    string but may be empty (the published reference has a few such facts).

    Args:
        path: the ``.jsonl`` file.

    Returns:
        One :class:`FactSentence` per record, in file order.

    Raises:
        ExtractDataError: the file cannot be read, or a line is not JSON or lacks a field; the message
            starts with ``file:line`` and names the field.

    Example:
        >>> rows = read_fact_file(Path("selected_facts.jsonl"))  # doctest: +SKIP
        >>> rows[0].key, rows[0].group, rows[0].facts[0]  # doctest: +SKIP
        ('US7978247:0', 'US7978247', ('The focusing information visualization system', 'of', 'the invention'))
    """
    rows: list[FactSentence] = []
    for number, where, obj in iter_jsonl(path):
        rows.append(fact_sentence_from_json(obj, where, str(number)))
    return rows


def fact_sentence_from_json(obj: object, where: str, line_key: str) -> FactSentence:
    """Build and validate one :class:`FactSentence`; ``where`` (``file:line``) names it in errors.

    Args:
        obj: the decoded JSON record.
        where: ``file:line`` for error messages.
        line_key: the key to use when the record has neither ``id`` nor ``patent_id`` + ``sent_idx``.
    """
    if not isinstance(obj, dict):
        raise ExtractDataError(where, "a record must be a JSON object")
    sentence = obj.get("sentence")
    if not isinstance(sentence, str):
        raise ExtractDataError(where, "field 'sentence' must be a string")
    record_id = _optional_id(obj, "id", where)
    patent_id = _optional_id(obj, "patent_id", where)
    sent_idx = _optional_id(obj, "sent_idx", where)
    if record_id is not None:
        key = record_id
    elif patent_id is not None and sent_idx is not None:
        key = f"{patent_id}:{sent_idx}"
    else:
        key = line_key
    if patent_id is not None:
        group = patent_id
    elif record_id is not None:
        group = record_id.split(":", 1)[0]
    else:
        group = key
    facts = obj.get("facts")
    if not isinstance(facts, list):
        raise ExtractDataError(where, "field 'facts' must be a list")
    return FactSentence(key, sentence, group, tuple(_triple(f, where, i) for i, f in enumerate(facts)))


def fact_sentence_from_example(example: SentenceExample) -> FactSentence:
    """Turn a labelled :class:`~extract.examples.SentenceExample` into a :class:`FactSentence`.

    Lets a held-out fold of training examples serve as the reference for :func:`score_facts`.

    Example:
        >>> ex = SentenceExample("p:0", "The arm has a hook", ((0, 7), (12, 18)), (), "p")
        >>> fact_sentence_from_example(ex).facts
        ()
    """
    return FactSentence(example.id, example.sentence, example.group or example.id, tuple(example.triples()))


def _optional_id(obj: dict[str, object], name: str, where: str) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    # bool is an int subclass; a true/false id is certainly a mistake.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ExtractDataError(where, f"field '{name}' must be a string or an integer")
    return str(value)


def _triple(fact: object, where: str, index: int) -> Triple:
    field = f"facts[{index}]"
    if not isinstance(fact, dict):
        raise ExtractDataError(where, f"field '{field}' must be an object with head, relation and tail")
    head = _entity(fact.get("head"), where, f"{field}.head")
    tail = _entity(fact.get("tail"), where, f"{field}.tail")
    has_rel, has_relship = "relation" in fact, "relationship" in fact
    if not has_rel and not has_relship:
        raise ExtractDataError(where, f"field '{field}' needs 'relation' (or 'relationship')")
    relation = fact["relation"] if has_rel else fact["relationship"]
    name = "relation" if has_rel else "relationship"
    if not isinstance(relation, str):
        # A span list here means a labelled-examples file was passed where string facts are expected.
        raise ExtractDataError(
            where, f"field '{field}.{name}' must be a string, got {type(relation).__name__}"
        )
    if has_rel and has_relship and fact["relationship"] != relation:
        raise ExtractDataError(
            where, f"field '{field}' has both 'relation' and 'relationship' and they differ"
        )
    return (head, relation, tail)


def _entity(value: object, where: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ExtractDataError(where, f"field '{field}' must be a non-blank string")
    return value


# ---------------------------------------------------------------------------------------------- scoring


def _relation_loose(relation: str) -> str:
    return " ".join(relation.lower().split())


def _transforms(mode: Mode) -> tuple[Callable[[str], str], Callable[[str], str]]:
    """The (entity, relation) transforms of ``mode``."""
    if mode == "normalised":
        return normalise, _relation_loose
    if mode == "strict":
        return strict, strict
    raise ValueError(f"mode must be 'normalised' or 'strict', got {mode!r}")


def _sentence_key(sentence: str) -> str:
    return " ".join(sentence.split())


def _pair(
    predicted: Sequence[FactSentence], reference: Sequence[FactSentence]
) -> tuple[list[tuple[FactSentence | None, FactSentence]], int]:
    """Pair each reference sentence with the prediction of the same text.

    Copies of one text are paired in order. A reference text that appears more often than its
    prediction reuses the last predicted copy (extraction is a function of the sentence text, so a
    de-duplicated prediction file still covers every copy). Predicted copies left over, and predicted
    texts absent from the reference, are counted as unmatched.
    """
    by_text: dict[str, list[FactSentence]] = defaultdict(list)
    for p in predicted:
        by_text[_sentence_key(p.sentence)].append(p)
    used: Counter[str] = Counter()
    pairs: list[tuple[FactSentence | None, FactSentence]] = []
    for ref in reference:
        text = _sentence_key(ref.sentence)
        copies = by_text.get(text, [])
        if not copies:
            pairs.append((None, ref))
            continue
        pairs.append((copies[min(used[text], len(copies) - 1)], ref))
        used[text] += 1
    unmatched = sum(max(0, len(copies) - used[text]) for text, copies in by_text.items())
    return pairs, unmatched


def _scores(tp: int, predicted: int, reference: int, sentences: int, unmatched: int) -> FactScores:
    precision = tp / predicted if predicted else 0.0
    recall = tp / reference if reference else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return FactScores(tp, predicted, reference, precision, recall, f1, sentences, unmatched)


def _score_items(
    predicted: Sequence[FactSentence],
    reference: Sequence[FactSentence],
    items: Callable[[FactSentence], Iterable[Hashable]],
) -> FactScores:
    pairs, unmatched = _pair(predicted, reference)
    tp = n_pred = n_ref = 0
    for pred, ref in pairs:
        ref_items = Counter(items(ref))
        pred_items = Counter(items(pred)) if pred is not None else Counter()
        # Multiset intersection: a fact predicted twice but present once matches once.
        tp += sum((pred_items & ref_items).values())
        n_pred += sum(pred_items.values())
        n_ref += sum(ref_items.values())
    return _scores(tp, n_pred, n_ref, len(reference), unmatched)


def score_facts(
    predicted: Sequence[FactSentence], reference: Sequence[FactSentence], mode: Mode
) -> FactScores:
    """Micro precision/recall/F1 of predicted facts against reference facts.

    Sentences are paired by text with whitespace collapsed (see the module docstring). A reference
    sentence without a prediction counts all its facts as missed; a predicted sentence not in the
    reference is ignored and counted in :attr:`FactScores.unmatched_predictions`.

    Args:
        predicted: the extractor's output, e.g. from :func:`read_fact_file`.
        reference: the gold facts.
        mode: ``"normalised"`` or ``"strict"`` (see the module docstring for the transforms).

    Example:
        >>> ref = [FactSentence("1", "A b c", "g", (("A", "b", "c"), ("A", "d", "c")))]
        >>> pred = [FactSentence("9", "A  b c", "g", (("a", "B", "c"), ("a", "B", "c")))]
        >>> s = score_facts(pred, ref, "normalised")
        >>> (s.tp, s.predicted, s.reference, s.f1)
        (1, 2, 2, 0.5)
    """
    entity, relation = _transforms(mode)

    def facts(s: FactSentence) -> Iterable[Triple]:
        return ((entity(h), relation(r), entity(t)) for h, r, t in s.facts)

    return _score_items(predicted, reference, facts)


def score_parts(
    predicted: Sequence[FactSentence], reference: Sequence[FactSentence], mode: Mode
) -> PartScores:
    """Entity-level and pair-level scores: the diagnostics behind a fact-level F1.

    Entities are the *distinct* transformed head/tail strings of a sentence: counting an entity once per
    fact it appears in would weight it by its number of facts and repeat the fact-level error.
    Pairs are ``(head, tail)`` with the relation ignored, as a multiset like facts. Pairing of sentences,
    unmatched predictions and zero denominators work as in :func:`score_facts`.

    Args:
        predicted, reference, mode: as for :func:`score_facts`.

    Example:
        >>> ref = [FactSentence("1", "s", "g", (("arm", "has", "hook"), ("arm", "has", "pin")))]
        >>> pred = [FactSentence("1", "s", "g", (("The arm", "holds", "hook"),))]
        >>> p = score_parts(pred, ref, "normalised")
        >>> (p.entities.tp, p.entities.reference, p.pairs.tp, p.pairs.reference)
        (2, 3, 1, 2)
    """
    entity, _ = _transforms(mode)

    def entities(s: FactSentence) -> Iterable[str]:
        return {entity(x) for h, _r, t in s.facts for x in (h, t)}

    def pairs(s: FactSentence) -> Iterable[tuple[str, str]]:
        return ((entity(h), entity(t)) for h, _r, t in s.facts)

    return PartScores(
        entities=_score_items(predicted, reference, entities),
        pairs=_score_items(predicted, reference, pairs),
    )


# ---------------------------------------------------------------------------------------------- folds


def group_folds(groups: Sequence[str], k: int, seed: int) -> list[int]:
    """Assign each item a cross-validation fold so that items of one group share a fold.

    The distinct groups are sorted (so the result does not depend on item order), shuffled with
    ``random.Random(seed)``, then each goes to the fold holding the fewest items so far (lowest fold
    index on ties). Folds end up balanced by item count, not by group count. With fewer groups than
    ``k`` some folds stay empty.

    Args:
        groups: the group (e.g. patent id) of each item.
        k: the number of folds, at least 1.
        seed: the shuffle seed; the same inputs and seed give the same folds.

    Returns:
        The fold index in ``[0, k)`` of each item, in input order.

    Example:
        >>> folds = group_folds(["p1", "p1", "p2", "p3"], k=2, seed=0)
        >>> folds[0] == folds[1]
        True
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    sizes = Counter(groups)
    order = sorted(sizes)
    random.Random(seed).shuffle(order)
    load = [0] * k
    fold_of: dict[str, int] = {}
    for group in order:
        fold = min(range(k), key=load.__getitem__)
        fold_of[group] = fold
        load[fold] += sizes[group]
    return [fold_of[g] for g in groups]


# ---------------------------------------------------------------------------------------------- tags


def score_tags(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], labels: Sequence[str]
) -> dict[str, TagScores]:
    """Word-level precision/recall/F1 per tag label, plus ``"micro"`` over the labels other than ``O``.

    Each word is scored on its own (a ``B-ENT`` word right and its ``I-ENT`` word wrong is one hit and
    one miss), which shows which tag the model confuses rather than whole-span accuracy.

    Args:
        gold: the gold tags of each sentence, one string per word (``B-ENT``, ``I-ENT``, ``REL``, ``O``).
        predicted: the predicted tags, same shape as ``gold``.
        labels: the labels to report; tags outside it count for no label (and not for ``"micro"``).

    Returns:
        ``{label: TagScores}`` for each label, in the given order, then ``"micro"``.

    Raises:
        ValueError: ``gold`` and ``predicted`` differ in length, or in the length of sentence ``i``; or a
            label is named ``"micro"``.

    Example:
        >>> s = score_tags([["B-ENT", "O", "REL"]], [["B-ENT", "REL", "O"]], ["B-ENT", "REL", "O"])
        >>> s["REL"].tp, s["REL"].predicted, s["REL"].support, s["micro"].precision
        (0, 1, 1, 0.5)
    """
    if len(gold) != len(predicted):
        raise ValueError(f"gold has {len(gold)} sentences but predicted has {len(predicted)}")
    wanted = list(dict.fromkeys(labels))
    if "micro" in wanted:
        raise ValueError("'micro' is reserved for the micro average and cannot be a label")
    tp: Counter[str] = Counter()
    n_pred: Counter[str] = Counter()
    n_gold: Counter[str] = Counter()
    for i, (g_tags, p_tags) in enumerate(zip(gold, predicted, strict=True)):
        if len(g_tags) != len(p_tags):
            raise ValueError(f"sentence {i}: gold has {len(g_tags)} tags but predicted has {len(p_tags)}")
        for g, p in zip(g_tags, p_tags, strict=True):
            n_gold[g] += 1
            n_pred[p] += 1
            if g == p:
                tp[g] += 1
    out = {label: _tag_scores(tp[label], n_pred[label], n_gold[label]) for label in wanted}
    entity_labels = [label for label in wanted if label != "O"]
    out["micro"] = _tag_scores(
        sum(tp[x] for x in entity_labels),
        sum(n_pred[x] for x in entity_labels),
        sum(n_gold[x] for x in entity_labels),
    )
    return out


def _tag_scores(tp: int, predicted: int, support: int) -> TagScores:
    s = _scores(tp, predicted, support, 0, 0)
    return TagScores(tp, predicted, support, s.precision, s.recall, s.f1)


# ---------------------------------------------------------------------------------------------- report


def format_table(rows: Sequence[tuple[str, FactScores, FactScores]]) -> str:
    """A markdown table comparing designs: normalised and strict P/R/F1, then the fact counts.

    Args:
        rows: ``(design name, normalised scores, strict scores)`` per design. The fact counts are taken
            from the normalised scores (both modes count the same facts).

    Returns:
        The table, one line per row after the header and alignment lines, no trailing newline.

    Example:
        >>> s = _scores(1, 2, 4, 1, 0)
        >>> print(format_table([("two-stage", s, s)]).splitlines()[2])
        | two-stage | 0.500 | 0.250 | 0.333 | 0.500 | 0.250 | 0.333 | 2 | 4 |
    """
    lines = [
        "| design | P | R | F1 (normalised) | P | R | F1 (strict) | predicted facts | reference facts |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for design, loose, exact in rows:
        # A "|" in a design name would split the cell.
        name = design.replace("|", "\\|")
        cells = [
            name,
            *(f"{x:.3f}" for x in (loose.precision, loose.recall, loose.f1)),
            *(f"{x:.3f}" for x in (exact.precision, exact.recall, exact.f1)),
            str(loose.predicted),
            str(loose.reference),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def model_predictions(model: FactExtractor, reference: Sequence[FactSentence]) -> list[FactSentence]:
    """Run ``model`` on the reference sentences: its facts, ready for :func:`score_facts`."""
    found = model.extract([r.sentence for r in reference])
    return [
        FactSentence(r.key, r.sentence, r.group, tuple((f.head, f.relation, f.tail) for f in facts))
        for r, facts in zip(reference, found, strict=True)
    ]


def model_tag_scores(model: FactExtractor, examples: Sequence[SentenceExample]) -> dict[str, TagScores]:
    """Token-level stage-1 scores of ``model`` on labelled sentences (per label and ``micro``)."""
    from extract.labels import STAGE1_LABELS, stage1_tags

    gold = [stage1_tags(e) for e in examples]
    return score_tags(gold, model.tag([e.sentence for e in examples]), STAGE1_LABELS)

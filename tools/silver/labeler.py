"""Silver labeler: entity spans and facts for a patent sentence from part-of-speech tags.

A data-building tool (never used at run time). It follows the reference method's definitions
(Siddharth & Luo 2023): entities are base noun phrases (determiner + modifiers + head noun, as spaCy's
noun chunks; chunks containing "claim" dropped); a fact joins two entities, head before tail, and its
relation is the words that link them (``comprises``, ``is mounted on``, ``of not greater than``). The rules:

1. **Chunks**: ``DET? MOD* NOUN+`` where MOD is an adjective, noun, number, participle (``sliding``) or an
   adjective coordination (``first and second``); reference numerals after the head (``arm 12``) are left out.
2. **Adjacent links**: for each pair of neighbouring chunks, the words between them (minus reference numerals,
   modal verbs and a leading ``which``/``that``) are the relation when they hold a verb, preposition or
   ``wherein``, at most six words and no clause punctuation.
3. **Coordination**: a chunk joined to the previous one by only ``,``/``and``/``or`` shares its head and
   relation (``has curved walls, guide rail and slider`` → three facts).
4. **Subjects**: a finite verb (``extracts``, ``is provided``) takes as head the first chunk of the noun
   group before it (``the system of the invention extracts an edge`` → ``the system :: extracts :: an edge``);
   ``and <verb>`` reuses the clause's subject; a participle (``an edge satisfying ...``) attaches to the chunk
   right before it.

Input: words with ``[start, end)`` offsets and universal POS tags. Output: a :class:`SentenceExample`.
"""

from __future__ import annotations

from dataclasses import dataclass

from extract.examples import FactLabel, SentenceExample

NOUNS = {"NOUN", "PROPN"}
MODIFIERS = {"ADJ", "NOUN", "PROPN", "NUM"}
DETERMINERS = {
    "a",
    "an",
    "the",
    "said",
    "each",
    "every",
    "another",
    "such",
    "its",
    "their",
    "this",
    "these",
    "those",
    "any",
    "all",
    "both",
    "some",
    "several",
    "plural",
    "one",
}
MODALS = {"may", "can", "could", "should", "would", "will", "must", "might", "shall"}
RELATIVES = {"which", "that", "who"}
CLAUSE_PUNCT = {";", ":", "(", ")", "[", "]", "."}
COORD = {",", "and", "or", "and/or"}
# Verbs that start a relation after a noun, never a noun modifier ("the arm comprising hooks").
RELATION_VERBS = {
    "comprising",
    "including",
    "having",
    "containing",
    "defining",
    "forming",
    "extending",
    "connecting",
    "receiving",
    "being",
    "using",
    "providing",
    "causing",
    "allowing",
    "enabling",
    "consisting",
    "based",
    "located",
    "disposed",
    "mounted",
    "attached",
    "coupled",
    "connected",
    "positioned",
    "arranged",
    "configured",
    "adapted",
    "formed",
    "provided",
    "used",
    "made",
}
LINK_POS = {"VERB", "AUX", "ADP", "SCONJ", "PART"}
MAX_RELATION_WORDS = 6


@dataclass(frozen=True)
class Tagged:
    text: str
    start: int
    end: int
    pos: str

    @property
    def low(self) -> str:
        return self.text.lower()


def chunks(tokens: list[Tagged]) -> list[tuple[int, int]]:
    """Base noun phrases as ``[first, last+1)`` token ranges."""
    found: list[tuple[int, int]] = []
    i, n = 0, len(tokens)
    while i < n:
        j = i
        if tokens[j].low == "at" and j + 2 < n and tokens[j + 1].low in {"least", "most"}:
            j += 2  # "at least one cover layer" is one chunk
        if tokens[j].low in DETERMINERS or tokens[j].pos == "DET":
            j += 1
        last_noun = -1
        while j < n:
            t = tokens[j]
            nxt = tokens[j + 1] if j + 1 < n else None
            if t.pos in NOUNS or (t.pos == "VERB" and nxt is not None and nxt.low in MODALS and j > i):
                last_noun = j  # "a vehicle light can include": a noun the tagger read as a verb
            elif t.pos in MODIFIERS and not (t.pos == "NUM" and last_noun >= 0):
                pass
            elif t.pos == "ADV" and last_noun < 0 and nxt is not None and nxt.pos in {"ADJ", "VERB"}:
                pass
            elif (
                t.pos == "VERB"
                and t.low.endswith(("ing", "ed"))
                and nxt is not None
                and nxt.pos in MODIFIERS | {"VERB"}
                and not (last_noun >= 0 and t.low in RELATION_VERBS)
            ):
                pass
            elif t.low in {"and", "or"} and j > i and nxt is not None and _shared_head(tokens, j, last_noun):
                pass
            else:
                break
            j += 1
        if last_noun >= 0:
            span = (i, last_noun + 1)
            if "claim" not in " ".join(tok.low for tok in tokens[span[0] : span[1]]):
                found.append(span)
            i = last_noun + 1
        else:
            i += 1
    return found


def _shared_head(tokens: list[Tagged], j: int, last_noun: int) -> bool:
    """``first and second outlets``, ``rhodium or iridium catalyst``: one chunk, coordinated modifiers."""
    prev, nxt = tokens[j - 1], tokens[j + 1]
    after = tokens[j + 2] if j + 2 < len(tokens) else None
    if prev.pos in {"ADJ", "NUM"} and last_noun < 0:
        return nxt.pos in {"ADJ", "NUM"}
    return prev.pos == "NOUN" and nxt.pos == "NOUN" and after is not None and after.pos == "NOUN"


def label(sentence: str, tokens: list[Tagged], *, id: str = "", group: str = "") -> SentenceExample:
    """Label one sentence. ``tokens`` must be in order with offsets into ``sentence``."""
    spans = chunks(tokens)
    facts: dict[tuple[int, int], tuple[int, ...]] = {}  # (head, tail) -> relation token indexes
    incoming: dict[int, tuple[int, tuple[int, ...]]] = {}  # tail -> (head, relation) of a fact it ends
    group_start = list(range(len(spans)))  # first chunk of the noun group each chunk belongs to
    subject: int | None = None
    pending: tuple[int, tuple[int, ...]] | None = None  # a sentence-opening "In <chunk>," for the subject

    for b in range(1, len(spans)):
        a = b - 1
        between = list(range(spans[a][1], spans[b][0]))
        words = [tokens[k] for k in between]
        if any(w.text in CLAUSE_PUNCT for w in words):
            subject = None
            continue
        if pending is None and a == 0 and _leading_preposition(tokens, spans[0][0]):
            pending = (0, tuple(range(0, spans[0][0])))
        if (
            words
            and all(w.low in COORD or w.pos == "NUM" for w in words)
            and any(w.low in COORD for w in words)
        ):
            if (a not in incoming or pending is not None) and all(
                w.text == "," or w.pos == "NUM" for w in words
            ):
                subject = None  # "According to one aspect, the invention ...": a clause boundary, not a list
                continue
            # a conjunct: same head and relation as the chunk it is coordinated with
            group_start[b] = group_start[a]
            if a in incoming:
                head, rel = incoming[a]
                facts[(head, b)] = rel
                incoming[b] = (head, rel)
            continue
        head_side = a
        relative = False
        if "," in [w.text for w in words]:
            cut = max(k for k, w in enumerate(words) if w.text == ",")
            after = words[cut + 1 :]
            if not after or after[0].low not in {"wherein", "whereby", "which", "and"}:
                continue
            between, words = between[cut + 1 :], after
        if words and words[0].low == "and" and len(words) > 1 and words[1].pos in {"VERB", "AUX"}:
            if subject is None:
                continue
            head_side = subject
            between, words = between[1:], words[1:]
        elif words and words[0].low in RELATIVES:
            between, words = between[1:], words[1:]
            relative = True
        keep = [k for k, w in zip(between, words, strict=True) if _keeps(tokens, k)]
        rel_words = [tokens[k] for k in keep]
        if any(w.low in RELATIVES for w in rel_words):
            continue  # "a cycle in which heat ...": the relative clause's own facts are not rule-readable
        if not rel_words or len(rel_words) > MAX_RELATION_WORDS:
            continue
        if not any(w.pos in LINK_POS or w.low in {"wherein", "whereby"} for w in rel_words):
            continue
        finite = _finite(rel_words)
        if finite and head_side == a and not relative:
            head_side = group_start[a]
            subject = head_side
            if pending is not None and pending[0] != head_side:
                facts[(head_side, pending[0])] = pending[1]
                pending = None
        elif not finite and all(w.pos == "ADP" for w in rel_words):
            group_start[b] = group_start[a]  # a prepositional modifier stays in its noun group
        rel = tuple(keep)
        if (
            rel_words[-1].pos == "ADP"
            or finite
            or rel_words[0].pos in LINK_POS
            or rel_words[0].low == "wherein"
        ):
            facts[(head_side, b)] = rel
            incoming[b] = (head_side, rel)

    return SentenceExample(
        id=id,
        group=group,
        sentence=sentence,
        entities=tuple((tokens[s].start, tokens[e - 1].end) for s, e in spans),
        facts=tuple(
            FactLabel(h, t, _merge([(tokens[k].start, tokens[k].end) for k in rel], sentence))
            for (h, t), rel in sorted(facts.items(), key=lambda item: (item[0][1], item[0][0]))
        ),
    )


def _leading_preposition(tokens: list[Tagged], first_chunk: int) -> bool:
    words = tokens[:first_chunk]
    return 0 < len(words) <= 3 and words[0].pos in {"ADP", "VERB"} and words[-1].pos == "ADP"


def _keeps(tokens: list[Tagged], k: int) -> bool:
    t = tokens[k]
    if t.pos == "NUM" or t.text in {",", "(", ")"}:
        return False  # reference numerals and their punctuation
    if t.low in MODALS:
        return False
    prev = tokens[k - 1].low if k else ""
    return not (t.low in {"be", "also"} and prev in MODALS)


def _finite(words: list[Tagged]) -> bool:
    """A clause predicate (not a participle modifying the noun before it)."""
    if any(w.pos == "AUX" for w in words):
        return True
    first_verb = next((w for w in words if w.pos == "VERB"), None)
    if first_verb is None:
        return False
    return not first_verb.low.endswith(("ing", "ed", "en"))


def _merge(spans: list[tuple[int, int]], sentence: str) -> tuple[tuple[int, int], ...]:
    """Join relation words separated only by whitespace into one piece."""
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and not sentence[merged[-1][1] : s].strip():
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return tuple(merged)

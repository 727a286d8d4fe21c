"""Sentence splitting tuned for patent prose.

The splitter is spaCy's rule-based ``sentencizer`` on a blank English pipeline (no model download, fast),
with fixes for how patents are written:

* **Abbreviations** that end in a period but never end a sentence in patents — ``FIG.``, ``FIGS.``,
  ``No.``, ``Nos.``, ``e.g.``, ``i.e.``, ``approx.``, ``U.S.``, ``Pat.``, ``Ser.``, ``al.``, ``vs.``,
  ``Ref.`` (see :data:`PATENT_ABBREVIATIONS`) — are single tokens, so "as shown in FIG. 1A, the arm"
  stays one sentence. ``etc.`` is the exception: it ends a sentence when the next word is capitalised.
* **Enumerators**: a lone ``"1."`` / ``"a."`` at the start of a paragraph ("1. Field of the Invention")
  is joined to the text after it instead of becoming a sentence of its own.
* **Length cap**: no sentence is longer than ``max_chars`` (default :data:`MAX_SENTENCE_CHARS`, 2,000
  characters). Longer ones — claims are often one 3,000-character sentence — are cut at the last
  whitespace inside the limit (hard cut if there is none), so downstream models get bounded input.

Cost is linear in the text length: paragraphs go through ``nlp.pipe`` in batches, and a paragraph longer
than :data:`CHUNK_CHARS` is fed in pieces cut at a sentence end or whitespace (spaCy also refuses texts
over 1,000,000 characters).

Spans are ``(start, end)`` character offsets into the text given, with surrounding whitespace already
excluded, so ``text[start:end]`` is the sentence.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.tokens import Doc

#: Longest sentence handed downstream, in characters.
MAX_SENTENCE_CHARS = 2000
#: Longest piece of text given to spaCy at once.
CHUNK_CHARS = 100_000

#: Tokens that end in "." but do not end a sentence. Exact spelling: spaCy special cases are case-sensitive.
PATENT_ABBREVIATIONS: tuple[str, ...] = (
    "FIG.", "FIGS.", "Fig.", "Figs.", "fig.", "figs.",
    "No.", "Nos.", "NO.", "NOS.",
    "e.g.", "E.g.", "i.e.", "I.e.", "etc.", "approx.", "Approx.", "cf.", "vs.", "al.",
    "U.S.", "U.S.C.", "Pat.", "Ser.", "Appl.", "Ref.", "Refs.", "Eq.", "Eqs.",
)  # fmt: skip

Span = tuple[int, int]

_ENUMERATOR = re.compile(r"^\(?(?:\d{1,3}|[A-Za-z]|[ivxIVX]{1,4})[.)]?$")
_WHITESPACE = re.compile(r"\s")
_LAST_BREAK = re.compile(r"[.!?]\s|\s", re.DOTALL)


class SentenceSplitter:
    """Split text into sentence spans; build once and reuse (building loads spaCy, ~0.2 s).

    Args:
        max_chars: cap on the length of one sentence (see the module docstring).
        abbreviations: tokens that never end a sentence.

    Example:
        >>> splitter = SentenceSplitter()
        >>> text = "As shown in FIG. 1, the arm is attached. See U.S. Pat. No. 5,123,456."
        >>> [text[s:e] for s, e in splitter.split(text)]
        ['As shown in FIG. 1, the arm is attached.', 'See U.S. Pat. No. 5,123,456.']
    """

    def __init__(
        self, *, max_chars: int = MAX_SENTENCE_CHARS, abbreviations: Iterable[str] = PATENT_ABBREVIATIONS
    ) -> None:
        # Imported here, not at module level: `import ingest` (e.g. for ingest.types) must stay cheap.
        import spacy
        from spacy.symbols import ORTH
        from spacy.util import compile_suffix_regex

        if max_chars < 1:
            raise ValueError("max_chars must be positive")
        self.max_chars = max_chars
        self._nlp = spacy.blank("en")
        # spaCy keeps "1B." and "ECU." whole (it only splits "." after lower-case letters and digits),
        # so "see FIG. 1B. The arm" never split. Split "." after two capitals/digits; "U.S." still holds.
        suffixes = [*self._nlp.Defaults.suffixes, r"(?<=[A-Z0-9][A-Z0-9])\."]
        self._nlp.tokenizer.suffix_search = compile_suffix_regex(suffixes).search
        for abbreviation in abbreviations:
            self._nlp.tokenizer.add_special_case(abbreviation, [{ORTH: abbreviation}])
        self._nlp.add_pipe("sentencizer")

    def split(self, text: str) -> list[Span]:
        """Sentence spans of one text."""
        return next(self.split_many([text]))

    def split_many(self, texts: Iterable[str], batch_size: int = 128) -> Iterator[list[Span]]:
        """Sentence spans for each text, in order (batched through spaCy: use this for many paragraphs).

        Example:
            >>> list(SentenceSplitter().split_many(["One. Two.", "", "Three"]))
            [[(0, 4), (5, 9)], [], [(0, 5)]]
        """
        texts = list(texts)
        pieces = [(i, offset, piece) for i, text in enumerate(texts) for offset, piece in _chunks(text)]
        docs = self._nlp.pipe((piece for _, _, piece in pieces), batch_size=batch_size)
        spans: list[list[Span]] = [[] for _ in texts]
        for (i, offset, _), doc in zip(pieces, docs, strict=True):
            for start, end in _sentence_bounds(doc):
                spans[i].extend(self.cap(texts[i], offset + start, offset + end))
        yield from spans

    def whole(self, text: str) -> list[Span]:
        """The text as one sentence (stripped and length-capped): for sections that are never split."""
        return self.cap(text, 0, len(text))

    def cap(self, text: str, start: int, end: int) -> list[Span]:
        """Strip ``text[start:end]`` and cut it into pieces of at most ``max_chars`` at whitespace.

        Example:
            >>> SentenceSplitter(max_chars=10).cap("  aaaa bbbb cccc ", 0, 17)
            [(2, 11), (12, 16)]
        """
        out: list[Span] = []
        while True:
            start, end = _strip(text, start, end)
            if start >= end:
                return out
            if end - start <= self.max_chars:
                out.append((start, end))
                return out
            limit = start + self.max_chars
            cut = _last_whitespace(text, start + 1, limit + 1) or limit
            piece = _strip(text, start, cut)
            if piece[0] < piece[1]:
                out.append(piece)
            start = cut


@functools.cache
def default_splitter() -> SentenceSplitter:
    """The shared splitter with default settings, built on first use (spaCy is loaded once per process)."""
    return SentenceSplitter()


# --- helpers -----------------------------------------------------------------------------------------


def _strip(text: str, start: int, end: int) -> Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _last_whitespace(text: str, start: int, stop: int) -> int | None:
    """Index of the last whitespace character in ``text[start:stop]`` (None if there is none)."""
    index = max(text.rfind(" ", start, stop), text.rfind("\n", start, stop), text.rfind("\t", start, stop))
    if index < 0:
        matches = list(_WHITESPACE.finditer(text, start, stop))
        return matches[-1].start() if matches else None
    return index


def _chunks(text: str) -> Iterator[tuple[int, str]]:
    """Cut text over :data:`CHUNK_CHARS` into ``(offset, piece)`` parts, at a sentence end if possible."""
    position = 0
    while len(text) - position > CHUNK_CHARS:
        window_start, limit = position + CHUNK_CHARS // 2, position + CHUNK_CHARS
        cut = text.rfind(". ", window_start, limit)
        if cut >= 0:
            cut += 2
        else:
            cut = (_last_whitespace(text, window_start, limit) or limit - 1) + 1
        yield position, text[position:cut]
        position = cut
    yield position, text[position:]


def _sentence_bounds(doc: Doc) -> Sequence[Span]:
    """``(start_char, end_char)`` of each sentence of a sentencized doc, after the patent fixes.

    Reads the doc as arrays, not Token objects: creating one Python object per token made the cost per
    character grow with the text (bench/sentences.py).
    """
    import numpy as np
    from spacy.attrs import IDX, IS_SPACE, LOWER, SENT_START

    if len(doc) == 0:
        return []
    columns = doc.to_array([IS_SPACE, SENT_START, LOWER, IDX]).astype(np.int64)
    words = np.flatnonzero(columns[:, 0] == 0)  # token indices of the non-space tokens
    if not len(words):
        return []
    # A sentence may start on a whitespace token ("end.   \n  Next"); move such starts to the next word.
    sent_starts = np.flatnonzero(columns[:, 1] == 1)
    positions = np.searchsorted(words, np.concatenate(([0], sent_starts)))
    starts = {int(p) for p in positions if p < len(words)}  # positions in `words`

    # "etc." is kept as one token (no split); split after it only when a capitalised word follows.
    etc = doc.vocab.strings["etc."]
    for position in np.flatnonzero(columns[words[:-1], 2] == etc):
        if doc[int(words[position + 1])].text[:1].isupper():
            starts.add(int(position) + 1)

    # A sentence that is only an enumerator ("1." / "a." / "(ii)") joins the sentence after it.
    ordered = sorted(starts)
    for first, following in itertools.pairwise(ordered):
        if following - first <= 3:
            label = "".join(doc[int(words[k])].text for k in range(first, following))
            if label.endswith((".", ")")) and _ENUMERATOR.match(label):
                starts.discard(following)

    offsets = [int(columns[words[position], 3]) for position in sorted(starts)]
    return list(zip(offsets, [*offsets[1:], len(doc.text)], strict=True))

"""Words with character offsets: the unit every extractor labels.

Subword tokenizers differ between backbones, so labels live on *words* and each model maps them to its
own subwords (first subword of a word carries the word's label). A word is a run of letters/digits joined
by inner hyphens, apostrophes, dots or slashes (``T-shaped``, ``Th2``, ``2.5``, ``and/or``), or one
punctuation character.

Example:
    >>> [w.text for w in words("The arm 12 is T-shaped; see FIG. 3.")]
    ['The', 'arm', '12', 'is', 'T-shaped', ';', 'see', 'FIG', '.', '3', '.']
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_WORD = re.compile(r"\w+(?:[-'’./]\w+)*|[^\w\s]", re.UNICODE)
_ARTICLE = re.compile(r"^(?:a|an|the)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Word:
    """One word of a sentence: its text and ``[start, end)`` offsets into the sentence."""

    text: str
    start: int
    end: int


def words(text: str) -> list[Word]:
    """Split ``text`` into :class:`Word` values (offsets into ``text``)."""
    return [Word(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


def normalise(phrase: str) -> str:
    """The loose form used to compare facts: lower case, NFKC, single spaces, no leading a/an/the.

    Example:
        >>> normalise("  The  Upper ARM ")
        'upper arm'
    """
    text = " ".join(unicodedata.normalize("NFKC", phrase).lower().split())
    return _ARTICLE.sub("", text)


def strict(phrase: str) -> str:
    """The strict form: the text itself with whitespace runs collapsed (case kept)."""
    return " ".join(phrase.split())

"""Normalised keys: how surface text becomes an entity or relation identity.

Two mentions are the same entity when their keys are equal. The rule is deliberately simple and documented
so that users can predict it: lower-case, Unicode NFKC, whitespace collapsed, surrounding punctuation
stripped, and one leading article (a/an/the) dropped. "The Arm" and "arm" are one entity; "arm 12" and
"arm" are not (reference numerals carry meaning in patents).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_SPACE = re.compile(r"\s+")
_ARTICLE = re.compile(r"^(?:a|an|the)\s+")
_EDGE_PUNCT = " \t\n\"'`.,;:!?()[]{}"


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return _SPACE.sub(" ", text).strip(_EDGE_PUNCT)


def entity_key(text: str) -> str:
    """The identity of an entity mention.

    Example:
        >>> entity_key("  The  Vacuum Cleaner, ")
        'vacuum cleaner'
    """
    return _ARTICLE.sub("", _clean(text), count=1)


def display_name(text: str) -> str:
    """The name shown for an entity: the surface text without a leading article, whitespace collapsed.

    Example:
        >>> display_name("the Blower  housing")
        'Blower housing'
    """
    text = _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip(_EDGE_PUNCT)
    return re.sub(r"^(?:a|an|the)\s+", "", text, count=1, flags=re.IGNORECASE)


def relation_key(text: str) -> str:
    """The canonical form of a relation, which is what link prediction treats as one relation type.

    Example:
        >>> relation_key(" Is  Mounted on ")
        'is mounted on'
    """
    return _clean(text)


def fact_id(
    sentence_id: str,
    head: str,
    relation: str,
    tail: str,
    head_span: tuple[int, int],
    tail_span: tuple[int, int],
    extractor: str = "",
) -> str:
    """A stable id for a fact, so writing the same extraction twice stores it once.

    ``extractor`` ("name@version") is part of it: two extractor versions stating the same fact keep
    separate provenance.
    """
    raw = "\x1f".join((
        sentence_id, entity_key(head), relation_key(relation), entity_key(tail),
        f"{head_span[0]},{head_span[1]}", f"{tail_span[0]},{tail_span[1]}", extractor,
    ))  # fmt: skip
    return hashlib.sha256(raw.encode()).hexdigest()[:20]

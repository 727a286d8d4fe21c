"""Safe XML parsing and text extraction for the patent parser.

Old USPTO DTDs declare named character entities (``&mdash;``, ``&lsquo;``, ``&Dgr;`` ...) in external DTD
files that are not shipped with the data. We never load DTDs and never touch the network, so those
names would be undefined. Instead of letting libxml2 "recover" (which silently drops content), the
bytes are rewritten first: every reference to a known HTML5 / ISO entity becomes a numeric character
reference, and an unknown one becomes the literal text ``&name;`` — the file still parses and nothing is
invented or lost. The rewrite never changes line numbers, so parse errors still point at the right line.
"""

from __future__ import annotations

import html.entities
import re
from collections.abc import Iterable

from lxml import etree

# ISO 8879 Greek (ISOgrk1): used by USPTO SGML-era files and not part of HTML5.
_ISO_GREEK = {
    "agr": "α", "Agr": "Α", "bgr": "β", "Bgr": "Β", "ggr": "γ", "Ggr": "Γ", "dgr": "δ", "Dgr": "Δ",
    "egr": "ε", "Egr": "Ε", "zgr": "ζ", "Zgr": "Ζ", "eegr": "η", "EEgr": "Η", "thgr": "θ", "THgr": "Θ",
    "igr": "ι", "Igr": "Ι", "kgr": "κ", "Kgr": "Κ", "lgr": "λ", "Lgr": "Λ", "mgr": "μ", "Mgr": "Μ",
    "ngr": "ν", "Ngr": "Ν", "xgr": "ξ", "Xgr": "Ξ", "ogr": "ο", "Ogr": "Ο", "pgr": "π", "Pgr": "Π",
    "rgr": "ρ", "Rgr": "Ρ", "sgr": "σ", "Sgr": "Σ", "sfgr": "ς", "tgr": "τ", "Tgr": "Τ", "ugr": "υ",
    "Ugr": "Υ", "phgr": "φ", "PHgr": "Φ", "khgr": "χ", "KHgr": "Χ", "psgr": "ψ", "PSgr": "Ψ",
    "ohgr": "ω", "OHgr": "Ω",
}  # fmt: skip

_XML_PREDEFINED = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})
_ENTITY_REF = re.compile(rb"&([A-Za-z_][A-Za-z0-9._:-]*);")
_ENTITY_DECL = re.compile(rb"<!ENTITY\s+(?:%\s+)?([^\s>]+)")


def entity_text(name: str) -> str | None:
    """The characters a named entity stands for, or None when the name is unknown.

    Example:
        >>> entity_text("mdash"), entity_text("Dgr"), entity_text("nope")
        ('—', 'Δ', None)
    """
    return html.entities.html5.get(name + ";") or _ISO_GREEK.get(name)


def replace_entities(data: bytes) -> bytes:
    """Rewrite named entity references so the document parses without its external DTD.

    Predefined XML entities and entities the document declares itself are left alone.

    Example:
        >>> replace_entities(b"<a>x &mdash; &amp; &foo;</a>")
        b'<a>x &#x2014; &amp; &amp;foo;</a>'
    """
    declared = set(_ENTITY_DECL.findall(data)) if b"<!ENTITY" in data else set()

    def substitute(match: re.Match[bytes]) -> bytes:
        name = match.group(1)
        if name in _XML_PREDEFINED or name in declared:
            return match.group(0)
        text = entity_text(name.decode("ascii", "replace"))
        if text is None:
            return b"&amp;" + name + b";"
        return "".join(f"&#x{ord(char):x};" for char in text).encode("ascii")

    return _ENTITY_REF.sub(substitute, data)


def safe_parser() -> etree.XMLParser:
    """An lxml parser that loads no DTD, resolves no entity, reads no network and never "recovers"."""
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        recover=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def local_name(element: etree._Element) -> str:
    """Tag name without a namespace (``{ns}p`` → ``p``); "" for comments, PIs and entities."""
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


_SPACE_BEFORE_PUNCT = re.compile(r"\s+(?=[,;:](?:\s|$)|\.(?:\s|$))")


def element_text(element: etree._Element, *, skip: Iterable[str] = (), blocks: Iterable[str] = ()) -> str:
    """All text inside ``element``, whitespace collapsed, in document order.

    Args:
        element: the element to read.
        skip: tag names whose content (not their tail) is left out, e.g. paragraph numbers.
        blocks: tag names that are separated from their neighbours by a space (claim steps, paragraphs),
            so words of adjacent blocks never run together. Other tags are inline (``<b>``, ``<figref>``):
            their text joins the surrounding text directly.

    Pretty-printed XML puts line breaks between inline elements (``in</PDAT> <CLREF>claim 1</CLREF>
    <PDAT>, wherein``); after collapsing, the stray space before ``,`` ``;`` ``:`` and a sentence-final
    ``.`` is removed.

    Example:
        >>> el = etree.fromstring("<p>The arm <b>12</b> of <figref>FIG. 1</figref>\\n , bent.</p>")
        >>> element_text(el)
        'The arm 12 of FIG. 1, bent.'
    """
    skip_set, block_set = frozenset(skip), frozenset(blocks)
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        if isinstance(node, etree._Entity):
            parts.append(entity_text(node.name) or node.text or "")
        elif isinstance(node.tag, str) and local_name(node) not in skip_set:
            block = local_name(node) in block_set
            if block:
                parts.append(" ")
            parts.append(node.text or "")
            for child in node:
                walk(child)
                parts.append(child.tail or "")
            if block:
                parts.append(" ")

    walk(element)
    return _SPACE_BEFORE_PUNCT.sub("", " ".join("".join(parts).split()))

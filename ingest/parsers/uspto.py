"""USPTO full-text patent XML: grants and applications, every DTD generation bulkdata.uspto.gov uses.

Supported families (told apart by the root element, not the file name):

=============================== ============================ =========================================
root element                    DTD generations              examples in ``samples/patents/``
=============================== ============================ =========================================
``patent-application-publication`` applications v1.5 / v1.6 (2001-04) ``application/v1-5-A1_*.xml``
``PATDOC``                      SGML-style grants v2.4 / v2.5 ``grant/v2-5-*.xml`` (tags B110, B540, SDOCL)
``us-patent-application``       applications v4.0 – v4.6     ``application/v4-*.xml``
``us-patent-grant``             grants v4.0 – v4.7           ``grant/v4-*.xml``, ``test.xml``
=============================== ============================ =========================================

**Bulk files.** The weekly bulk files are many ``<?xml ...?>`` documents concatenated in one file. The
bytes are split at each XML declaration and every piece is parsed on its own; a bad piece is *yielded*
as an :class:`~ingest.errors.IngestError` (source ``path:line``) and the others still come out. In a
file that holds a single document, a parse failure *raises* (the whole file is unusable).

**Safety.** No DTD is loaded, no entity is resolved, no network is used, ``recover`` is never on (it
drops content silently). Named entities of the missing external DTDs are handled by
:func:`ingest.parsers.xmltext.replace_entities`. A truncated or malformed document is an error that
names the line.

**Output.** ``title`` is the invention title. Paragraphs, in this order:

* ``"title"``: the invention title (one paragraph);
* ``"abstract"``: one paragraph per ``<p>`` / ``<paragraph>`` / ``PARA`` (a paragraph that only says
  "Abstract of the Disclosure" is dropped);
* ``"claims"``: one paragraph per claim, claim steps joined by spaces, the leading claim number
  (``"1. "``, ``"2."``) removed so the text starts with the claim itself; cancelled claims
  (``"1-18. (canceled)"``) are skipped;
* ``"description"``: one paragraph per ``<p>`` / ``<paragraph>`` / ``PARA``. Headings ("BACKGROUND",
  "SUMMARY") are **dropped**: they are labels, not sentences. The v1.x paragraph numbers
  (``<number>12.</number>``) are dropped too.

Inline markup (bold reference numerals, ``<figref>FIG. 1</figref>``, sub/superscripts) is removed but its
text kept — reference numerals stay, since extraction relies on the original wording. Whitespace is
collapsed. ``metadata`` holds ``doc_number``, ``kind``, ``country``, ``date`` (publication date),
``application_number``, ``filing_date``, ``type`` (``"grant"`` or ``"application"``) and
``dtd_version`` (``"4.5"``, ``"2.5"``, ``"1.5"``) when the document states them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lxml import etree

from ingest.errors import IngestError
from ingest.parsers.base import Parser, ParseResult, check_content, read_bytes
from ingest.parsers.xmltext import element_text, local_name, replace_entities, safe_parser
from ingest.types import Paragraph, ParsedDocument

#: Root elements this parser understands.
PATENT_ROOTS = ("us-patent-grant", "us-patent-application", "PATDOC", "patent-application-publication")

_ROOT_IN_HEAD = re.compile(rb"<(?:!DOCTYPE\s+)?(" + b"|".join(r.encode() for r in PATENT_ROOTS) + rb")[\s>]")
_XML_DECL = re.compile(rb"<\?xml[\s?]")
# "1. ", "2.", "12) ", and ranges of cancelled claims such as "1-18. ".
_CLAIM_NUMBER = re.compile(r"^\(?\d{1,4}(?:\s*[-–]\s*\d{1,4})?\s*[.):]\s*")
# Some early v4.0 files repeat the heading as the first abstract paragraph.
_ABSTRACT_HEADING = re.compile(r"^abstract(?: of the disclosure)?:?$", re.IGNORECASE)
_CANCELLED = re.compile(r"^\(?(?:canceled|cancelled|deleted)\)?\.?$", re.IGNORECASE)
# Tags whose content is a separate block: a space keeps the words of neighbouring blocks apart.
_BLOCKS = frozenset(
    "p paragraph PARA PTEXT claim-text CLMSTEP li ul ol dl dt dd br row entry tr td th heading H".split()
)


def split_documents(data: bytes) -> list[tuple[int, bytes]]:
    """Split a (possibly concatenated) XML file at each XML declaration.

    Returns ``(first line number, bytes)`` pairs; whitespace-only pieces are dropped. A file without
    any declaration is one piece.

    Example:
        >>> split_documents(b'<?xml version="1.0"?>\\n<a/>\\n  <?xml version="1.0"?>\\n<b/>\\n')
        [(1, b'<?xml version="1.0"?>\\n<a/>\\n  '), (3, b'<?xml version="1.0"?>\\n<b/>\\n')]
    """
    starts = [m.start() for m in _XML_DECL.finditer(data)]
    if not starts or data[: starts[0]].strip():
        starts.insert(0, 0)
    pieces: list[tuple[int, bytes]] = []
    line, previous = 1, 0
    for start, end in zip(starts, [*starts[1:], len(data)], strict=True):
        line += data.count(b"\n", previous, start)
        previous = start
        if data[start:end].strip():
            pieces.append((line, data[start:end]))
    return pieces


class UsptoParser(Parser):
    """USPTO grant/application XML, all DTD generations, single or concatenated (bulk) files.

    Example:
        >>> docs = list(UsptoParser().parse(Path("samples/patents/test.xml")))
        >>> [d.title for d in docs]
        ['Wheeled hand truck', 'Middle mounted implement tractor']
        >>> docs[0].metadata["doc_number"], docs[0].metadata["type"], docs[0].metadata["dtd_version"]
        ('11147202', 'grant', '4.5')
    """

    name = "uspto"
    suffixes = (".xml",)

    @classmethod
    def sniff(cls, head: bytes) -> bool:
        return _ROOT_IN_HEAD.search(head) is not None

    def parse(self, path: Path) -> Iterator[ParseResult]:
        data = read_bytes(path)
        check_content(data, path)
        pieces = split_documents(data)
        if len(pieces) == 1:
            yield parse_patent(pieces[0][1], str(path), first_line=1)
            return
        for line, piece in pieces:
            try:
                yield parse_patent(piece, f"{path}:{line}", first_line=line)
            except IngestError as exc:
                yield exc


def parse_patent(data: bytes, source: str, *, first_line: int = 1) -> ParsedDocument:
    """Parse one patent XML document.

    Args:
        data: the document's bytes (one piece of a bulk file, or a whole file).
        source: what to call it in the result and in errors.
        first_line: line of ``data``'s first byte in the file, so error lines refer to the file.

    Raises:
        IngestError: not well-formed, not a patent, or no text at all.
    """
    try:
        root = etree.fromstring(replace_entities(data), safe_parser())
    except etree.XMLSyntaxError as exc:
        raise IngestError(source, _syntax_reason(exc, first_line)) from None
    except ValueError as exc:  # e.g. an unsupported encoding declaration
        raise IngestError(source, f"cannot parse XML: {exc}") from None

    family = local_name(root)
    if family in ("us-patent-grant", "us-patent-application"):
        title, metadata, paragraphs = _v4(root)
    elif family == "patent-application-publication":
        title, metadata, paragraphs = _v1(root)
    elif family == "PATDOC":
        title, metadata, paragraphs = _patdoc(root)
    else:
        raise IngestError(source, f"root element <{family}> is not a USPTO patent document")
    if not paragraphs:
        raise IngestError(source, "patent has no title, abstract, claims or description text")
    metadata = {k: v for k, v in metadata.items() if v}
    return ParsedDocument(
        source=source, raw=data, title=title, paragraphs=tuple(paragraphs), kind="uspto", metadata=metadata
    )


def _syntax_reason(exc: etree.XMLSyntaxError, first_line: int) -> str:
    """``not well-formed XML at line N, column C: message``, with lines counted from the file start."""
    offset = first_line - 1
    message = re.sub(r",\s*line \d+, column \d+\s*$", "", exc.msg or "parse error")
    message = re.sub(r"\bline (\d+)", lambda m: f"line {int(m.group(1)) + offset}", message)
    line = (exc.lineno or 1) + offset
    column = exc.position[1] if exc.position else 0
    return f"not well-formed XML at line {line}, column {column}: {message}"


# --- per-family extraction ---------------------------------------------------------------------------

_Extracted = tuple[str, dict[str, Any], list[Paragraph]]


def _text(element: etree._Element | None, skip: Iterable[str] = ()) -> str:
    return "" if element is None else element_text(element, skip=skip, blocks=_BLOCKS)


def _top_level(container: etree._Element | None, tag: str) -> list[etree._Element]:
    """Descendants named ``tag`` that are not nested inside another ``tag`` (e.g. ``<p>`` in ``<p>``)."""
    if container is None:
        return []
    found = []
    for element in container.iter(tag):
        parent = element.getparent()
        while parent is not None and parent is not container and local_name(parent) != tag:
            parent = parent.getparent()
        if parent is container or parent is None:
            found.append(element)
    return found


def _blocks(section: str, elements: Iterable[etree._Element], skip: Iterable[str] = ()) -> list[Paragraph]:
    texts = (_text(element, skip) for element in elements)
    return [Paragraph(section, text) for text in texts if text]


def _claims(elements: Iterable[etree._Element]) -> list[Paragraph]:
    """One paragraph per claim, claim number stripped, cancelled claims skipped."""
    paragraphs = []
    for element in elements:
        text = _text(element, skip=("heading", "H"))
        stripped = _CLAIM_NUMBER.sub("", text, count=1)
        text = stripped or text
        if text and not _CANCELLED.match(text):
            paragraphs.append(Paragraph("claims", text))
    return paragraphs


def _assemble(
    title: str, abstract: list[Paragraph], claims: list[Paragraph], description: list[Paragraph]
) -> list[Paragraph]:
    head = [Paragraph("title", title)] if title else []
    return head + abstract + claims + description


def _version(value: str | None, pattern: str) -> str:
    match = re.search(pattern, value or "")
    return f"{match.group(1)}.{match.group(2)}" if match else ""


def _v4(root: etree._Element) -> _Extracted:
    """``us-patent-grant`` / ``us-patent-application`` (DTD v4.x)."""
    kind = "grant" if local_name(root) == "us-patent-grant" else "application"
    biblio = root.find(f"us-bibliographic-data-{kind}")
    pub = biblio.find("publication-reference/document-id") if biblio is not None else None
    app = biblio.find("application-reference/document-id") if biblio is not None else None
    title = _text(biblio.find("invention-title") if biblio is not None else None)
    metadata = {
        "doc_number": pub.findtext("doc-number", "").strip() if pub is not None else "",
        "kind": pub.findtext("kind", "").strip() if pub is not None else "",
        "country": (pub.findtext("country", "") if pub is not None else "").strip()
        or root.get("country", ""),
        "date": pub.findtext("date", "").strip() if pub is not None else "",
        "application_number": app.findtext("doc-number", "").strip() if app is not None else "",
        "filing_date": app.findtext("date", "").strip() if app is not None else "",
        "type": kind,
        "dtd_version": _version(root.get("dtd-version"), r"v?(\d)\.?(\d)"),
    }
    abstract = [p for a in root.findall("abstract") for p in _blocks("abstract", _top_level(a, "p"))]
    abstract = [p for p in abstract if not _ABSTRACT_HEADING.match(p.text)]
    claims = _claims(claim for c in root.findall("claims") for claim in c.findall("claim"))
    description = [p for d in root.findall("description") for p in _blocks("description", _top_level(d, "p"))]
    return title, metadata, _assemble(title, abstract, claims, description)


def _v1(root: etree._Element) -> _Extracted:
    """``patent-application-publication`` (application DTD v1.5/1.6, 2001-2004)."""
    biblio = root.find("subdoc-bibliographic-information")
    doc_id = biblio.find("document-id") if biblio is not None else None
    filing = biblio.find("domestic-filing-data") if biblio is not None else None
    title = _text(biblio.find("technical-information/title-of-invention") if biblio is not None else None)
    metadata = {
        "doc_number": doc_id.findtext("doc-number", "").strip() if doc_id is not None else "",
        "kind": doc_id.findtext("kind-code", "").strip() if doc_id is not None else "",
        # v1.x is the US pre-grant publication format; its document-id carries no country element.
        "country": "US",
        "date": doc_id.findtext("document-date", "").strip() if doc_id is not None else "",
        "application_number": filing.findtext("application-number/doc-number", "").strip()
        if filing is not None
        else "",
        "filing_date": filing.findtext("filing-date", "").strip() if filing is not None else "",
        "type": "application",
        "dtd_version": _version(root.getroottree().docinfo.system_url, r"v(\d)(\d)"),
    }
    number = ("number",)  # v1.x prefixes every paragraph with its number: <number>12.</number>
    abstract = _blocks("abstract", _top_level(root.find("subdoc-abstract"), "paragraph"), number)
    claims = _claims(_top_level(root.find("subdoc-claims"), "claim"))
    description = _blocks("description", _top_level(root.find("subdoc-description"), "paragraph"), number)
    return title, metadata, _assemble(title, abstract, claims, description)


def _patdoc(root: etree._Element) -> _Extracted:
    """``PATDOC`` (SGML-style grant DTD v2.4/2.5, 2001-2004): numbered B-tags for bibliographic data."""

    def pdat(xpath: str) -> str:
        return " ".join("".join(root.xpath(f"{xpath}//PDAT/text()")).split())

    title = _text(root.find("SDOBI/B500/B540"))
    metadata = {
        "doc_number": pdat("SDOBI/B100/B110"),
        "kind": pdat("SDOBI/B100/B130"),
        "country": pdat("SDOBI/B100/B190") or "US",
        "date": pdat("SDOBI/B100/B140"),
        "application_number": pdat("SDOBI/B200/B210"),
        "filing_date": pdat("SDOBI/B200/B220"),
        "type": "grant",
        "dtd_version": _version(root.get("DTD"), r"(\d)\.(\d)"),
    }
    abstract = _blocks("abstract", _top_level(root.find("SDOAB"), "PARA"))
    claims = _claims(_top_level(root.find("SDOCL"), "CLM"))
    description = _blocks("description", _top_level(root.find("SDODE"), "PARA"))
    return title, metadata, _assemble(title, abstract, claims, description)

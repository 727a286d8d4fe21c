"""Parsers on real files: every USPTO DTD generation in samples/patents, plus text, markdown, jsonl, log."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest import PARSERS, IngestError, ParsedDocument, load, parser_for
from ingest.parsers.jsonl import JsonlParser
from ingest.parsers.log import LogParser
from ingest.parsers.markdown import MarkdownParser
from ingest.parsers.text import TextParser
from ingest.parsers.uspto import UsptoParser, split_documents

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "patents"
FIXTURES = REPO / "tests" / "fixtures"


def parse_one(path: Path) -> ParsedDocument:
    (item,) = list(parser_for(path).parse(path))
    assert isinstance(item, ParsedDocument), item
    return item


def sections(doc: ParsedDocument, name: str) -> list[str]:
    return [p.text for p in doc.paragraphs if p.section == name]


# file, title, type, dtd, doc number, kind, claims, abstract paragraphs, has description
PATENTS = [
    ("application/v1-5-A1_1.xml",
     "Solvent mixture for use in a vapor degreaser and method of cleaning an article in a vapor degreaser "
     "utilizing said solvent", "application", "1.5", "20010000001", "A1", 0, 1, False),
    ("application/v1-5-A1_2.xml",
     "Process for detecting and correcting a fiber orientation cross direction profile change",
     "application", "1.5", "20010000002", "A1", 33, 1, True),
    ("application/v4-0-A1.xml", "Novelty jeans", "application", "4.0", "20050000001", "A1", 0, 1, False),
    ("application/v4-0-A2_1.xml", "METHODS AND APPARATUS FOR A STENT HAVING AN EXPANDABLE WEB STRUCTURE",
     "application", "4.0", "20050004655", "A2", 0, 1, False),
    ("application/v4-4-A1.xml", "METHODS AND APPARATUS FOR YARD AND GARDEN DEBRIS COLLECTION",
     "application", "4.4", "20210267109", "A1", 20, 1, True),
    # 24 <claim> elements, the first is "1-18. (canceled)" and is skipped.
    ("application/v4-4-A2.xml", "RAZOR WITH CUTTING BLADE ROTATABLE ABOUT MULTIPLE AXES",
     "application", "4.4", "20150075015", "A2", 23, 1, True),
    ("application/v4-5-A1.xml", "SEED DISTRIBUTOR USED FOR AGRICULTURAL MACHINES",
     "application", "4.5", "20220159901", "A1", 6, 1, True),
    ("application/v4-5-A2.xml", "CARRYING CASE WITH PIVOTING HOUSING",
     "application", "4.5", "20220160114", "A2", 8, 1, True),
    ("grant/v2-5-B1.xml", "Faucet support member", "grant", "2.5", "06334226", "B1", 31, 1, True),
    ("grant/v2-5-B2.xml", "Vacuum cleaner with muffled detachable blower exhaust",
     "grant", "2.5", "06530116", "B2", 20, 1, True),
    ("grant/v2-5-S1.xml", "Confection item in the form of a tied braid",
     "grant", "2.5", "D0452599", "S1", 1, 0, True),
    ("grant/v4-0-B2.xml",
     "Method and apparatus for manufacturing and installing water resistant cover on a limb",
     "grant", "4.0", "06857133", "B2", 6, 1, True),
    ("grant/v4-5-B1.xml",
     "System and method for pre-charging a hybrid vehicle for improving reverse driving performance",
     "grant", "4.5", "09358892", "B1", 20, 1, True),
    ("grant/v4-5-B2.xml", "Wheeled hand truck", "grant", "4.5", "11147202", "B2", 9, 1, True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "title", "doc_type", "dtd", "number", "kind", "claims", "abstracts", "has_description"), PATENTS
)
def test_uspto_every_dtd_generation_parses(
    name: str, title: str, doc_type: str, dtd: str, number: str, kind: str, claims: int, abstracts: int,
    has_description: bool,
) -> None:  # fmt: skip
    doc = parse_one(SAMPLES / name)
    assert doc.kind == "uspto"
    assert doc.title == title
    assert doc.paragraphs[0].section == "title" and doc.paragraphs[0].text == title
    meta = doc.metadata
    assert (meta["type"], meta["dtd_version"], meta["doc_number"], meta["kind"], meta["country"]) == (
        doc_type, dtd, number, kind, "US",
    )  # fmt: skip
    assert len(sections(doc, "claims")) == claims
    assert len(sections(doc, "abstract")) == abstracts
    assert bool(sections(doc, "description")) is has_description
    assert {p.section for p in doc.paragraphs} <= {"title", "abstract", "claims", "description"}
    assert all(p.text == " ".join(p.text.split()) for p in doc.paragraphs), "whitespace is collapsed"


@pytest.mark.parametrize("name", [row[0] for row in PATENTS if row[0] != "application/v4-4-A2.xml"])
def test_claim_count_matches_the_xml(name: str) -> None:
    raw = (SAMPLES / name).read_text(encoding="utf-8")
    in_xml = len(re.findall(r"<claim id=|<CLM ID=", raw))
    assert len(sections(parse_one(SAMPLES / name), "claims")) == in_xml


def test_claim_numbers_are_stripped() -> None:
    for name in (
        "grant/v2-5-B2.xml",
        "grant/v4-5-B1.xml",
        "application/v1-5-A1_2.xml",
        "application/v4-4-A1.xml",
    ):
        claims = sections(parse_one(SAMPLES / name), "claims")
        assert claims and not any(re.match(r"\d", c) for c in claims), name
    b2 = sections(parse_one(SAMPLES / "grant/v2-5-B2.xml"), "claims")
    assert b2[0].startswith("A vacuum cleaner comprising: a housing having a housing passage")
    assert b2[1].startswith("The vacuum cleaner according to claim 1, wherein the housing is substantially")
    # v4 claim steps (nested <claim-text>) join into one paragraph per claim.
    b1 = sections(parse_one(SAMPLES / "grant/v4-5-B1.xml"), "claims")
    assert b1[0].startswith("A pre-charging system for improving reverse direction hill climb performance")
    assert "a battery having a state of charge value; a motor for powering" in b1[0]


def test_patdoc_metadata_and_text() -> None:
    doc = parse_one(SAMPLES / "grant/v2-5-B2.xml")
    assert doc.metadata == {
        "doc_number": "06530116", "kind": "B2", "country": "US", "date": "20030311",
        "application_number": "09782496", "filing_date": "20010213", "type": "grant", "dtd_version": "2.5",
    }  # fmt: skip
    description = sections(doc, "description")
    # Headings ("FIELD OF THE INVENTION") are dropped; figure references keep their text.
    assert description[0].startswith("The present invention is directed to a vacuum cleaner")
    assert "FIELD OF THE INVENTION" not in description
    assert "FIG. 1 is a perspective view of a vacuum cleaner" in description[6]
    # Pretty-printed PATDOC (B1): no space before punctuation between inline elements.
    claims = sections(parse_one(SAMPLES / "grant/v2-5-B1.xml"), "claims")
    assert claims[1].startswith("A faucet support member as defined in claim 1, wherein said turning")


def test_v1_paragraph_numbers_and_entities() -> None:
    doc = parse_one(SAMPLES / "application/v1-5-A1_2.xml")
    description = sections(doc, "description")
    assert description[0].startswith("The present application claims priority under 35 U.S.C. 119")
    text = " ".join(description)
    # &ldquo; &rdquo; &uuml; &Dgr; come from an external DTD that is never loaded; they still resolve.
    assert "the \u201ccurl\u201d of copier papers" in text
    assert "Wochenblatt für Papierfabrikation" in text
    assert "ΔFG/Δt" in text
    assert "&" not in text


def test_file_without_xml_declaration() -> None:
    doc = parse_one(SAMPLES / "application/v4-0-A1.xml")
    assert sections(doc, "abstract")[0].startswith("Novelty play jeans for children")


def test_unknown_entity_is_kept_as_text(tmp_path: Path) -> None:
    doc = parse_one(FIXTURES / "patents" / "entities_v2-5.xml")
    assert doc.title == "Hinge with \u2018quoted\u2019 parts"
    assert sections(doc, "abstract") == ["A hinge has a leaf\u2014and a pin of ΔL length &unknownent; here."]
    assert sections(doc, "claims") == [
        "A hinge comprising: a leaf; and a pin.",
        "The hinge of claim 1, wherein the pin is steel.",
    ]
    # Without any DOCTYPE an undefined entity is still not fatal.
    bare = tmp_path / "bare.xml"
    bare.write_text("<us-patent-grant><us-bibliographic-data-grant><invention-title>Arm &hellip; &zzz;"
                    "</invention-title></us-bibliographic-data-grant></us-patent-grant>")  # fmt: skip
    assert parse_one(bare).title == "Arm \u2026 &zzz;"


def test_bulk_file_yields_each_document() -> None:
    items = list(UsptoParser().parse(SAMPLES / "test.xml"))
    assert [type(i) for i in items] == [ParsedDocument, ParsedDocument]
    assert [d.title for d in items] == ["Wheeled hand truck", "Middle mounted implement tractor"]
    assert [d.source for d in items] == [f"{SAMPLES / 'test.xml'}:1", f"{SAMPLES / 'test.xml'}:871"]
    assert items[1].metadata["doc_number"] == "11147203"
    assert len(sections(items[1], "claims")) == 20
    assert items[0].id != items[1].id


def test_bulk_file_with_a_bad_document(tmp_path: Path) -> None:
    good = (SAMPLES / "grant/v4-5-B1.xml").read_bytes()
    cut = (SAMPLES / "grant/v4-0-B2.xml").read_bytes()[:5000]
    bulk = tmp_path / "ipg.xml"
    bulk.write_bytes(good + b"\n" + cut + b"\n" + (SAMPLES / "application/v4-5-A1.xml").read_bytes())
    items = list(load(bulk))
    assert [type(i).__name__ for i in items] == ["Document", "IngestError", "Document"]
    error = items[1]
    bad_line = good.count(b"\n") + 2
    assert error.source == f"{bulk}:{bad_line}"
    assert error.reason.startswith("not well-formed XML at line")
    assert int(re.search(r"line (\d+)", error.reason).group(1)) > bad_line
    assert items[2].title == "SEED DISTRIBUTOR USED FOR AGRICULTURAL MACHINES"


def test_split_documents_keeps_line_numbers() -> None:
    data = b'<?xml version="1.0"?>\n<a/>\n\n   <?xml version="1.0"?>\n<b/>\n'
    assert [line for line, _ in split_documents(data)] == [1, 4]
    assert split_documents(b"<a/>") == [(1, b"<a/>")]


def test_text_parser() -> None:
    doc = parse_one(FIXTURES / "ingest" / "sample.txt")
    assert doc.kind == "text" and doc.title == "Hinge assembly notes"
    assert [p.text for p in doc.paragraphs] == [
        "Hinge assembly notes",
        "The hinge has a leaf and a pin. The pin is made of steel, e.g. stainless steel.",
        "As shown in FIG. 1, the arm is attached.",
    ]
    assert {p.section for p in doc.paragraphs} == {"body"}


def test_text_title_is_capped(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("\n\n   " + "word " * 100 + "\n\nbody")
    title = parse_one(path).title
    assert len(title) <= 200 and title.startswith("word word") and title == title.strip()


def test_markdown_sections() -> None:
    doc = parse_one(FIXTURES / "ingest" / "sample.md")
    assert doc.kind == "markdown" and doc.title == "Pump Handbook"
    assert [(p.section, p.text) for p in doc.paragraphs] == [
        ("pump handbook", "The pump moves water. See the manual for details."),
        ("parts", "a rotor with snake_case name"),
        ("parts", "a shaft"),
        ("safety notes", "Never run the pump dry."),
    ]
    assert "code is dropped" not in " ".join(p.text for p in doc.paragraphs)


def test_jsonl_custom_field_and_bad_lines() -> None:
    path = FIXTURES / "ingest" / "sample.jsonl"
    items = list(JsonlParser(text_field="sentence").parse(path))
    docs = [i for i in items if isinstance(i, ParsedDocument)]
    errors = [i for i in items if isinstance(i, IngestError)]
    assert [d.source for d in docs] == [f"{path}:1", f"{path}:2", f"{path}:7"]
    assert docs[0].title == "First" and docs[0].metadata == {"id": "a1"}
    assert docs[0].paragraphs[0].text == "The arm is attached to the frame. It pivots."
    assert docs[1].title == "" and docs[1].metadata == {"id": "a2"}
    assert [(e.source, e.reason.split(" (")[0]) for e in errors] == [
        (f"{path}:3", "invalid JSON"),
        (f"{path}:4", "missing text field 'sentence'"),
        (f"{path}:6", "text field 'sentence' is int, not a string"),
    ]
    # The default field is "text": only line 4 has one.
    default = list(parser_for(path).parse(path))
    assert [i.source for i in default if isinstance(i, ParsedDocument)] == [f"{path}:4"]


def test_log_lines_are_kept_verbatim() -> None:
    path = FIXTURES / "ingest" / "sample.log"
    doc = parse_one(path)
    assert doc.title == "sample.log" and doc.kind == "log"
    assert [(p.section, p.text) for p in doc.paragraphs] == [
        ("log", "2024-05-01 12:00:00 INFO pump started. Pressure ok."),
        ("log", "  2024-05-01 12:00:05 WARN pressure low"),
        ("log", "2024-05-01 12:00:09 ERROR pump stopped"),
    ]


def test_registry_by_suffix_and_content(tmp_path: Path) -> None:
    assert set(PARSERS) == {"text", "markdown", "jsonl", "log", "uspto"}
    expected = {"a.txt": TextParser, "a.md": MarkdownParser, "a.markdown": MarkdownParser,
                "a.jsonl": JsonlParser, "a.log": LogParser}  # fmt: skip
    for name, cls in expected.items():
        assert type(parser_for(tmp_path / name)) is cls  # decided by suffix, file not opened
    assert parser_for(tmp_path / "a.jsonl", jsonl_text_field="body").text_field == "body"
    assert type(parser_for(tmp_path / "a.txt", kind="log")) is LogParser

    patent = tmp_path / "patent.dat"  # unknown suffix, patent content
    patent.write_bytes((SAMPLES / "grant/v2-5-S1.xml").read_bytes())
    assert type(parser_for(patent)) is UsptoParser
    upper = tmp_path / "PATENT.XML"
    upper.write_bytes((SAMPLES / "grant/v4-5-B2.xml").read_bytes())
    assert type(parser_for(upper)) is UsptoParser
    notes = tmp_path / "NOTES"  # no suffix, UTF-8 text
    notes.write_text("Plain words. More words.\n")
    assert type(parser_for(notes)) is TextParser

    other = tmp_path / "other.xml"
    other.write_text("<root>hi</root>")
    with pytest.raises(IngestError, match="not a USPTO patent document"):
        parser_for(other)
    with pytest.raises(IngestError, match="unknown parser 'pdf'"):
        parser_for(notes, kind="pdf")

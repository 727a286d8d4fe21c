"""Sentence splitting and assembly: patent abbreviations, the offset invariant, the length cap, speed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ingest import Document, IngestError, Paragraph, ParsedDocument, assemble, default_splitter, load_paths
from ingest.sentences import MAX_SENTENCE_CHARS, SentenceSplitter

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "patents"


@pytest.fixture(scope="module")
def splitter() -> SentenceSplitter:
    return default_splitter()


def sentences(splitter: SentenceSplitter, text: str) -> list[str]:
    spans = splitter.split(text)
    return [text[start:end] for start, end in spans]


@pytest.mark.parametrize(
    "text",
    [
        "as shown in FIG. 1, the arm is attached.",
        "As shown in FIG. 1A, the arm 12 is attached to the frame 14.",
        "FIGS. 2 and 3 show the pin, e.g. a steel pin, i.e. a hard one.",
        "See U.S. Pat. No. 5,123,456 and Ser. No. 09/725,796, Ref. 3 and Nos. 4-6.",
        "The gap is approx. 5 mm, as in Smith et al. and Jones vs. Brown.",
        "1. Field of the Invention",
    ],
)
def test_abbreviations_do_not_end_a_sentence(splitter: SentenceSplitter, text: str) -> None:
    assert sentences(splitter, text) == [text]


def test_real_sentence_ends_still_split(splitter: SentenceSplitter) -> None:
    text = "The arm is shown in FIG. 1B. The pin is steel. Apples, pears, etc. The end (FIG. 2)! Is it? Yes."
    assert sentences(splitter, text) == [
        "The arm is shown in FIG. 1B.",
        "The pin is steel.",
        "Apples, pears, etc.",
        "The end (FIG. 2)!",
        "Is it?",
        "Yes.",
    ]
    assert sentences(splitter, "It is connected to the ECU. The ECU 102 reads it.") == [
        "It is connected to the ECU.",
        "The ECU 102 reads it.",
    ]


def test_spans_are_stripped_and_empty_dropped(splitter: SentenceSplitter) -> None:
    text = "  First one.   \n  Second one.  "
    assert splitter.split(text) == [(2, 12), (18, 29)]
    assert splitter.split("   \n ") == []
    assert list(splitter.split_many(["One.", "", "Two. Six."])) == [[(0, 4)], [], [(0, 4), (5, 9)]]


def test_long_sentences_are_capped_at_whitespace(splitter: SentenceSplitter) -> None:
    text = "A claim " + "with a very long list of elements " * 200 + "ends here."
    spans = splitter.split(text)
    assert len(spans) > 1
    assert all(end - start <= MAX_SENTENCE_CHARS for start, end in spans)
    assert all(text[start:end] == text[start:end].strip() for start, end in spans)
    assert " ".join(text[s:e] for s, e in spans) == text  # nothing lost but the cut whitespace
    # No whitespace at all: a hard cut.
    blob = "x" * 4500
    assert SentenceSplitter(max_chars=2000).cap(blob, 0, len(blob)) == [(0, 2000), (2000, 4000), (4000, 4500)]


def test_very_long_text_is_linear(splitter: SentenceSplitter) -> None:
    unit = "The arm 12 is attached to the frame 14 as shown in FIG. 1A. "
    small, large = unit * 500, unit * 5000  # 30 kB and 300 kB (the large one is fed in chunks)
    start = time.perf_counter()
    small_spans = splitter.split(small)
    small_time = time.perf_counter() - start
    start = time.perf_counter()
    large_spans = splitter.split(large)
    large_time = time.perf_counter() - start
    assert len(small_spans) == 500 and len(large_spans) == 5000
    assert all(large[s:e] == unit.strip() for s, e in large_spans)
    assert large_time < max(30 * small_time, 1.0)  # 10x the text, nowhere near 100x the time


def test_assemble_offsets_and_unsplit_sections(splitter: SentenceSplitter) -> None:
    parsed = ParsedDocument(
        source="memory",
        raw=b"example",
        title="Hinge. With dots.",
        paragraphs=(
            Paragraph("title", "Hinge. With dots."),
            Paragraph("body", "  The hinge has a pin. The pin is steel.  "),
            Paragraph("log", "12:00 pump started. Pressure ok."),
            Paragraph("body", "   "),
        ),
        kind="text",
    )
    doc = assemble(parsed, splitter)
    assert doc.id == parsed.id and doc.title == parsed.title and doc.kind == "text"
    assert doc.text == "Hinge. With dots.\n\n  The hinge has a pin. The pin is steel.  \n\n" \
                       "12:00 pump started. Pressure ok.\n\n   "  # fmt: skip
    assert [(s.section, s.text) for s in doc.sentences] == [
        ("title", "Hinge. With dots."),
        ("body", "The hinge has a pin."),
        ("body", "The pin is steel."),
        ("log", "12:00 pump started. Pressure ok."),
    ]
    assert [s.index for s in doc.sentences] == [0, 1, 2, 3]
    assert doc.sentences[1].id == f"{doc.id}:1"
    assert all(doc.text[s.start : s.end] == s.text for s in doc.sentences)


def test_default_splitter_is_cached() -> None:
    assert default_splitter() is default_splitter()


def test_offsets_hold_for_every_sample_sentence() -> None:
    start = time.perf_counter()
    items = list(load_paths([SAMPLES, REPO / "tests" / "fixtures" / "ingest"], jsonl_text_field="sentence"))
    elapsed = time.perf_counter() - start
    documents = [i for i in items if isinstance(i, Document)]
    errors = [i for i in items if isinstance(i, IngestError)]
    # 15 patent files (one holds 2) + 3 corpus files + log, markdown, text + 3 good jsonl records
    assert len(documents) == 16 + 3 + 3 + 3
    assert sorted(e.source.rsplit(":", 1)[1] for e in errors) == ["3", "4", "6"]  # the bad jsonl lines
    total = 0
    for doc in documents:
        assert doc.sentences, doc.source
        for sentence in doc.sentences:
            assert doc.text[sentence.start : sentence.end] == sentence.text
            assert sentence.text == sentence.text.strip() and sentence.text
            assert len(sentence.text) <= MAX_SENTENCE_CHARS
            assert sentence.document_id == doc.id
        total += len(doc.sentences)
    assert total > 2000
    assert elapsed < 10  # parsing + splitting all samples takes about a second


def test_patent_sentences_look_right() -> None:
    (doc,) = [d for d in load_paths([SAMPLES / "grant" / "v2-5-B2.xml"]) if isinstance(d, Document)]
    texts = [s.text for s in doc.sentences]
    assert texts[0] == "Vacuum cleaner with muffled detachable blower exhaust"
    assert "FIG. 1 is a perspective view of a vacuum cleaner according to an embodiment of the present " \
           "invention;" in texts  # fmt: skip
    assert not any(t in {"FIG.", "FIGS.", "No.", "U.S."} for t in texts)
    claims = [s for s in doc.sentences if s.section == "claims"]
    assert claims[0].text.startswith("A vacuum cleaner comprising:")

"""Sentence splitting and assembly: patent abbreviations, the offset invariant, the length cap, speed."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from ingest import Document, IngestError, Paragraph, ParsedDocument, assemble, default_splitter, load_paths
from ingest.sentences import CHUNK_CHARS, MAX_SENTENCE_CHARS, SentenceSplitter, _chunks

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


def test_very_long_text_reaches_spacy_in_bounded_pieces(splitter: SentenceSplitter) -> None:
    # Linear cost comes from never handing spaCy more than CHUNK_CHARS at once; the timing itself is
    # measured by bench/sentences.py (a timed test here failed on a busy CI machine).
    unit = "The arm 12 is attached to the frame 14 as shown in FIG. 1A. "
    large = unit * 20_000  # 1.2 MB: over spaCy's own 1,000,000-character limit
    seen: list[int] = []
    pipe = splitter._nlp.pipe

    def recording_pipe(texts: Iterable[str], **kwargs: object) -> Iterator[object]:
        for text in texts:
            seen.append(len(text))
            yield from pipe([text], **kwargs)

    splitter._nlp.pipe = recording_pipe  # type: ignore[method-assign]
    try:
        spans = splitter.split(large)
    finally:
        del splitter._nlp.pipe
    assert len(spans) == 20_000
    assert all(large[s:e] == unit.strip() for s, e in spans)
    assert sum(seen) == len(large) and max(seen) <= CHUNK_CHARS and len(seen) >= len(large) // CHUNK_CHARS


def test_chunks_cut_at_sentence_ends_then_whitespace_then_anywhere() -> None:
    prose = "Word. " * 40_000  # cut just after ". "
    pieces = list(_chunks(prose))
    assert "".join(piece for _, piece in pieces) == prose
    assert all(piece.endswith(". ") for _, piece in pieces[:-1])
    words = "word " * 50_000  # no sentence end: cut after a space
    assert all(piece.endswith(" ") for _, piece in list(_chunks(words))[:-1])
    blob = "x" * 250_000  # nothing to cut at: hard cuts of CHUNK_CHARS
    assert [(offset, len(piece)) for offset, piece in _chunks(blob)] == [
        (0, CHUNK_CHARS), (CHUNK_CHARS, CHUNK_CHARS), (2 * CHUNK_CHARS, 50_000)
    ]  # fmt: skip


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
    items = list(load_paths([SAMPLES, REPO / "tests" / "fixtures" / "ingest"], jsonl_text_field="sentence"))
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


def test_patent_sentences_look_right() -> None:
    (doc,) = [d for d in load_paths([SAMPLES / "grant" / "v2-5-B2.xml"]) if isinstance(d, Document)]
    texts = [s.text for s in doc.sentences]
    assert texts[0] == "Vacuum cleaner with muffled detachable blower exhaust"
    assert "FIG. 1 is a perspective view of a vacuum cleaner according to an embodiment of the present " \
           "invention;" in texts  # fmt: skip
    assert not any(t in {"FIG.", "FIGS.", "No.", "U.S."} for t in texts)
    claims = [s for s in doc.sentences if s.section == "claims"]
    assert claims[0].text.startswith("A vacuum cleaner comprising:")


def test_bench_script_prints_its_table() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "sentences.py"), "--sizes", "20,60", "--repeats", "1"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    rows = [line for line in result.stdout.splitlines() if line.startswith(("| 20 |", "| 60 |"))]
    assert len(rows) == 2 and rows[0].split("|")[5].strip() == "1.00"  # the first row is its own baseline

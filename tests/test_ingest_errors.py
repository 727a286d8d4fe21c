"""Bad input: every failure is an IngestError naming the file and a one-line reason; nothing else escapes.

Also the directory walk (recursion, order, hidden files, corpus paperwork). Tests run as root in CI, and
root can read a chmod-000 file, so that case is skipped there; a broken symlink and a directory named
like a file cover "cannot be read" for everyone.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest

from ingest import Document, IngestError, iter_files, load, load_paths
from ingest.parsers.base import decode_utf8

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "patents"
FIXTURES = REPO / "tests" / "fixtures"


def only_error(path: Path, **options: str) -> IngestError:
    """Load ``path`` and return its single result, which must be an IngestError naming the file."""
    items = list(load(path, **options))
    assert len(items) == 1, items
    (error,) = items
    assert isinstance(error, IngestError), error
    assert error.source == str(path)
    assert "\n" not in str(error) and str(error) == f"{path}: {error.reason}"
    return error


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a chmod-000 file")
def test_permission_denied(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("hidden words")
    path.chmod(0)
    try:
        assert only_error(path).reason == "permission denied"
    finally:
        path.chmod(0o600)


def test_unreadable_paths(tmp_path: Path) -> None:
    broken = tmp_path / "broken.txt"
    broken.symlink_to(tmp_path / "nowhere.txt")
    assert only_error(broken).reason == "broken symbolic link"
    directory = tmp_path / "looks_like_a_file.txt"
    directory.mkdir()
    assert only_error(directory).reason == "is a directory, not a file"
    assert only_error(tmp_path / "missing.md").reason == "no such file"


@pytest.mark.parametrize("name", ["blob.txt", "blob.md", "blob.log", "blob.jsonl", "blob.xml", "blob.bin"])
def test_binary_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert "binary file (NUL byte at offset 8)" in only_error(path).reason


def test_undecodable_file_of_unknown_suffix(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"\xff\xd8\xff\xe0 jpeg-ish")
    assert only_error(path).reason.startswith("not UTF-8 text (invalid byte at offset 0)")


@pytest.mark.parametrize("name", ["empty.txt", "empty.md", "empty.log", "empty.jsonl", "empty.xml", "empty"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    assert only_error(path).reason == "empty file"


def test_whitespace_only_and_no_text(tmp_path: Path) -> None:
    blank = tmp_path / "blank.txt"
    blank.write_text(" \n\t\n")
    assert only_error(blank).reason == "empty file (only whitespace)"
    code_only = tmp_path / "code.md"
    code_only.write_text("```\nprint('x')\n```\n")
    assert only_error(code_only).reason == "no text found"


def test_truncated_xml_names_the_line() -> None:
    path = FIXTURES / "patents" / "truncated_v4-0-A1.xml"  # the first 2,000 bytes of v4-0-A1.xml
    reason = only_error(path).reason
    # 43 complete lines, then the cut inside "<doc-nu" on line 44.
    assert reason.startswith("not well-formed XML at line 44, column 40: ")


def test_malformed_xml_names_the_line() -> None:
    reason = only_error(FIXTURES / "patents" / "malformed.xml").reason
    assert reason.startswith("not well-formed XML at line 8, column")
    assert "mismatch" in reason


def test_truncated_real_grant(tmp_path: Path) -> None:
    path = tmp_path / "cut.xml"
    path.write_bytes((SAMPLES / "grant" / "v2-5-B1.xml").read_bytes()[:100_000])
    assert only_error(path).reason.startswith("not well-formed XML at line")


def test_invalid_utf8_names_the_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Caf\u00e9 au lait.".encode("latin-1"))
    assert only_error(path).reason == "invalid UTF-8 at byte offset 3"
    with_bom = tmp_path / "bom_bad.md"
    with_bom.write_bytes(codecs.BOM_UTF8 + b"ok \xc3(")
    assert only_error(with_bom).reason == "invalid UTF-8 at byte offset 6"  # offset in the file, BOM included


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes(codecs.BOM_UTF8 + b"Hinge notes\n\nThe pin is steel.")
    (doc,) = load(path)
    assert isinstance(doc, Document)
    assert doc.title == "Hinge notes" and doc.text.startswith("Hinge notes")
    assert decode_utf8(codecs.BOM_UTF8 + b"x", "a") == "x"


def test_utf16_gets_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "wide.txt"
    path.write_bytes("hello".encode("utf-16"))
    assert only_error(path).reason == "UTF-16 text is not supported; convert the file to UTF-8"


def test_non_patent_xml(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_text('<?xml version="1.0"?><rss><channel/></rss>')
    assert "not a USPTO patent document" in only_error(path).reason
    empty_patent = tmp_path / "stub.xml"
    empty_patent.write_text("<us-patent-grant><us-bibliographic-data-grant/></us-patent-grant>")
    assert only_error(empty_patent).reason == "patent has no title, abstract, claims or description text"


def test_bad_jsonl_lines_do_not_stop_the_file(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_bytes(
        b'{"text": "The first record is fine."}\n'
        b"not json at all\n"
        b'["a list"]\n'
        b'{"text": "bad byte \xff here"}\n'
        b'{"text": ""}\n'
        b'{"text": "The last record is fine."}\r\n'
    )
    items = list(load(path))
    assert [type(i).__name__ for i in items] == ["Document"] + ["IngestError"] * 4 + ["Document"]
    reasons = {i.source: i.reason for i in items if isinstance(i, IngestError)}
    assert reasons[f"{path}:2"].startswith("invalid JSON (Expecting value at column 1)")
    assert reasons[f"{path}:3"] == "expected a JSON object, got list"
    assert reasons[f"{path}:4"] == "invalid UTF-8 at byte 19 of the line"
    assert reasons[f"{path}:5"] == "text field 'text' is empty"
    assert items[-1].sentences[0].text == "The last record is fine."


def test_load_paths_never_raises_on_a_mixed_bag(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("A good file. It has two sentences.")
    (tmp_path / "bad.xml").write_bytes((SAMPLES / "grant" / "v4-5-B1.xml").read_bytes()[:3000])
    (tmp_path / "bin.log").write_bytes(b"\x00\x01")
    (tmp_path / "empty.md").write_bytes(b"")
    (tmp_path / "dir.txt").mkdir()
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "gone")
    items = list(load_paths([tmp_path, tmp_path / "not-there.txt"]))
    documents = [i for i in items if isinstance(i, Document)]
    errors = {Path(i.source).name: i.reason for i in items if isinstance(i, IngestError)}
    assert [d.source for d in documents] == [str(tmp_path / "good.txt")]
    assert set(errors) == {"bad.xml", "bin.log", "empty.md", "dangling.txt", "not-there.txt"}
    assert errors["dangling.txt"] == "broken symbolic link"
    assert errors["not-there.txt"] == "no such file"


def test_walk_recurses_sorted_and_skips_hidden_and_paperwork() -> None:
    corpus = FIXTURES / "ingest" / "corpus"
    names = [p.relative_to(corpus).as_posix() for p in iter_files([corpus])]
    # .hidden.txt, .cache/ and LICENSE.txt are skipped; entries are sorted by name at every level.
    assert names == ["a.txt", "sub/b.md", "z.txt"]
    # A file named explicitly is always yielded, hidden or not.
    assert list(iter_files([corpus / ".hidden.txt"])) == [corpus / ".hidden.txt"]
    assert list(iter_files([corpus], skip_names=())) == [
        corpus / "LICENSE.txt", corpus / "a.txt", corpus / "sub" / "b.md", corpus / "z.txt",
    ]  # fmt: skip


def test_walk_samples_skips_license_and_sources() -> None:
    files = list(iter_files([SAMPLES]))
    assert len(files) == 15 and all(f.suffix == ".xml" for f in files)
    assert files[0] == SAMPLES / "application" / "v1-5-A1_1.xml" and files[-1] == SAMPLES / "test.xml"


def test_walk_does_not_follow_directory_symlinks(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "doc.txt").write_text("words")
    (tmp_path / "real" / "loop").symlink_to(tmp_path)  # a cycle
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert list(iter_files([tmp_path])) == [tmp_path / "real" / "doc.txt"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can list a chmod-000 directory")
def test_unlistable_directory_is_reported(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        (error,) = load_paths([tmp_path])
        assert isinstance(error, IngestError) and error.reason.startswith("cannot list directory")
    finally:
        locked.chmod(0o700)

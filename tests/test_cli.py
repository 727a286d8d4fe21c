"""The factloom command, run as a real subprocess against the session's store."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, SAMPLES


def factloom(env: dict[str, str], *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def stats(env: dict[str, str]) -> dict[str, int]:
    result = factloom(env, "stats", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_ingest_samples_then_again_is_unchanged(store_env: dict[str, str], tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLES, corpus)
    before = stats(store_env)
    first = factloom(store_env, "ingest", str(corpus), "--no-progress")
    assert first.returncode == 0, first.stderr
    assert "16 new" in first.stdout and "0 failed" in first.stdout
    after = stats(store_env)
    assert after["documents"] - before["documents"] == 16
    assert after["sentences"] - before["sentences"] > 1000
    again = factloom(store_env, "ingest", str(corpus), "--no-progress")
    assert again.returncode == 0 and "0 new" in again.stdout and "16 unchanged" in again.stdout
    assert stats(store_env) == after


def test_bad_files_are_reported_and_the_rest_ingested(store_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text(f"A good file {tmp_path.name}.\n\nIt has two paragraphs.\n")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02garbage\xff")
    truncated = (SAMPLES / "grant" / "v4-5-B1.xml").read_bytes()[:5000]
    (tmp_path / "truncated.xml").write_bytes(truncated)
    result = factloom(store_env, "ingest", str(tmp_path), "--no-progress")
    assert result.returncode == 1
    assert "1 new" in result.stdout and "2 failed" in result.stdout
    failures = [line for line in result.stderr.splitlines() if line.startswith("failed")]
    assert len(failures) == 2
    assert any("binary.txt" in line for line in failures) and any(
        "truncated.xml" in line for line in failures
    )


def test_sentences_facts_and_delete(store_env: dict[str, str], tmp_path: Path) -> None:
    text_file = tmp_path / "note.md"
    text_file.write_text(f"# Note {tmp_path.name}\n\nThe valve closes the port. See FIG. 2 for details.\n")
    assert factloom(store_env, "ingest", str(text_file), "--no-progress").returncode == 0
    facts = factloom(store_env, "facts", "--entity", f"note {tmp_path.name}", "--json")
    assert facts.returncode == 0 and facts.stdout == ""  # no extractor has run yet
    from ingest.walk import load

    [doc] = list(load(text_file))
    listed_docs = factloom(store_env, "documents", "--source", tmp_path.name, "--json")
    [info] = [json.loads(line) for line in listed_docs.stdout.splitlines()]
    expected = {"id": doc.id, "source": str(text_file), "title": f"Note {tmp_path.name}", "kind": "markdown"}
    assert info == {**expected, "sentences": len(doc.sentences)}
    listed = factloom(store_env, "sentences", "--document", doc.id, "--json")
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["text"] for r in rows] == [s.text for s in doc.sentences]
    assert all(doc.text[r["start"] : r["end"]] == r["text"] for r in rows)
    first = factloom(store_env, "sentences", "--document", doc.id, "--limit", "1", "--json")
    assert len(first.stdout.splitlines()) == 1
    deleted = factloom(store_env, "delete", "--document", doc.id)
    assert deleted.returncode == 0 and f"deleted document {doc.id}" in deleted.stdout
    missing = factloom(store_env, "delete", "--document", doc.id)
    assert missing.returncode == 2 and "no document with id" in missing.stderr


def test_store_status_json(store_env: dict[str, str], store_config) -> None:  # type: ignore[no-untyped-def]
    if not store_config.embedded:
        pytest.skip("the embedded server is not used when FACTLOOM_NEO4J_URI is set")
    result = factloom(store_env, "store", "status", "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["running"] is True


def test_store_status_when_not_running(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "FACTLOOM_DATA_DIR": str(tmp_path / "none")}
    result = factloom(env, "store", "status")
    assert result.returncode == 3 and "not running" in result.stdout


def test_bad_setting_is_one_clear_line(tmp_path: Path) -> None:
    result = factloom({"PATH": "/usr/bin:/bin", "FACTLOOM_BOLT_PORT": "x"}, "stats", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: invalid settings") and "bolt_port" in result.stderr


def test_help_explains_configuration() -> None:
    result = factloom({"PATH": "/usr/bin:/bin"}, "--help")
    assert result.returncode == 0
    for name in (
        "FACTLOOM_NEO4J_URI",
        "FACTLOOM_DATA_DIR",
        "FACTLOOM_STORE_HEAP",
        "FACTLOOM_JSONL_TEXT_FIELD",
        "ingest",
        "stats",
        "facts",
        "delete",
        "store",
    ):
        assert name in result.stdout

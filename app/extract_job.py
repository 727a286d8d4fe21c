"""Running an extractor where users need it: over a JSON Lines file, over the store, against a reference."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extract.base import FactExtractor
from extract.errors import ExtractDataError
from ingest import Sentence
from ingest.files import write_file
from kg.store import FactStore

EXTRACTOR_NAME = "factloom-patent"


def extractor_tag(model: FactExtractor) -> tuple[str, str]:
    """``(extractor, version)`` written with every fact: design name plus the model's version label."""
    return f"{EXTRACTOR_NAME}-{model.design}", model.config.version


@dataclass
class FileSummary:
    lines: int = 0
    sentences: int = 0
    facts: int = 0
    errors: list[str] = field(default_factory=list)


def extract_file(input: Path, output: Path, model: FactExtractor, *, batch_size: int = 64) -> FileSummary:
    """Read ``{"id"?, "sentence"}`` lines, write each line back with ``"facts"`` (same order, same count).

    A line that is not a JSON object with a string ``sentence`` gets ``{"line": n, "error": "...",
    "facts": []}`` in the output and a message in the summary; the rest of the file is still processed.
    The output is written to a temporary file and renamed, so a failure never leaves half a file.
    """
    summary = FileSummary()
    try:
        src = input.open(encoding="utf-8", errors="replace")  # bad bytes become U+FFFD, not a crash
    except OSError as exc:
        raise ExtractDataError(str(input), f"cannot read: {exc.strerror or exc}") from exc

    def write(path: Path) -> None:
        with path.open("w", encoding="utf-8") as out:
            for records in _batches(_records(src, input, summary), batch_size):
                texts = [r["sentence"] for r in records if "error" not in r]
                found = iter(model.extract(texts, batch_size=batch_size)) if texts else iter(())
                for record in records:
                    if "error" not in record:
                        facts = next(found)
                        record["facts"] = [f.to_json() for f in facts]
                        summary.sentences += 1
                        summary.facts += len(facts)
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")

    try:
        write_file(output, write)
    finally:
        src.close()  # also when the output cannot be created
    return summary


def _records(lines: Iterator[str], path: Path, summary: FileSummary) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(lines, 1):
        summary.lines += 1
        where = f"{path}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield _bad(number, f"{where}: not valid JSON ({exc.msg})", summary)
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("sentence"), str):
            yield _bad(number, f"{where}: field 'sentence' must be a string", summary)
            continue
        record: dict[str, Any] = {"id": obj["id"]} if "id" in obj else {}
        record["sentence"] = obj["sentence"]
        yield record


def _bad(number: int, message: str, summary: FileSummary) -> dict[str, Any]:
    summary.errors.append(message)
    return {"line": number, "error": message, "facts": []}


def _batches(items: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size * 8:  # several forward batches per call: better length bucketing
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class StoreSummary:
    extractor: str
    sentences: int = 0
    skipped: int = 0
    facts_found: int = 0
    facts_written: int = 0
    seconds: float = 0.0


def extract_stored_sentences(
    store: FactStore,
    model: FactExtractor,
    *,
    batch_size: int = 64,
    write_every: int = 512,
    limit: int | None = None,
) -> StoreSummary:
    """Extract facts for every stored sentence this model version has not read, writing in batches.

    Sentences are marked as read by this version even when they yield no facts, so a second run does
    nothing; a new model version (``config.version``) reads everything again.
    """
    name, version = extractor_tag(model)
    tag = f"{name}@{version}"
    summary = StoreSummary(extractor=tag)
    started = time.perf_counter()
    pending: list[Sentence] = []

    def flush() -> None:
        found = model.extract([s.text for s in pending], batch_size=batch_size)
        facts = [
            f.bind(s.document_id, s.id, name, version)
            for s, fs in zip(pending, found, strict=True)
            for f in fs
        ]
        summary.facts_found += len(facts)
        summary.facts_written += store.write_facts(facts)
        store.mark_extracted([s.id for s in pending], tag)
        summary.sentences += len(pending)
        pending.clear()

    for sentence in store.sentences_to_extract(tag):
        if limit is not None and summary.sentences + len(pending) >= limit:
            break
        pending.append(sentence)
        if len(pending) >= write_every:
            flush()
    if pending:
        flush()
    summary.seconds = time.perf_counter() - started
    return summary


def evaluate(
    reference: Path, model: FactExtractor | None, predictions: Path | None, silver_test: Path | None
) -> dict[str, Any]:
    """Scores for ``factloom extract eval`` (see :mod:`extract.evaluate`)."""
    from extract.data import SILVER_DIR
    from extract.evaluate import model_predictions, model_tag_scores, read_fact_file, score_facts
    from extract.examples import read_examples

    ref = read_fact_file(reference)
    if predictions is not None:
        pred = read_fact_file(predictions)
    else:
        assert model is not None
        pred = model_predictions(model, ref)
    report: dict[str, Any] = {}
    for mode in ("normalised", "strict"):
        report[mode] = score_facts(pred, ref, mode).__dict__
    if model is not None:
        scores = model_tag_scores(model, list(read_examples(silver_test or SILVER_DIR / "test.jsonl")))
        report["tokens"] = {k: v.__dict__ for k, v in scores.items() if k != "O"}
    return report

"""Build the committed silver training set for the patent fact extractors.

A data-building tool: it needs Node.js and ``npm install`` in this folder (wink-nlp, MIT) for part-of-speech
tags; nothing here is used at run time. Its outputs are committed under ``data/silver/`` so training is
reproducible without it.

Steps:
1. sentences from ``../shared/data/patents/raw`` (USPTO XML through Factloom's own ingest parsers, and the
   IP Street claims split at ``;``), 6–80 words, de-duplicated;
2. POS tags from ``pos.mjs``; tokens aligned to character offsets;
3. :mod:`labeler` rules → entity spans and facts;
4. a split by patent (seeded): ``train.jsonl`` / ``validation.jsonl`` / ``test.jsonl``;
5. the same labeler run on the published reference sentences (``reference_labeler.jsonl``, in the
   ``factloom extract sentences`` output format) for the "labeler alone" row of the evaluation table.

Usage (from the repository root)::

    (cd tools/silver && npm install)
    .venv/bin/python tools/silver/build.py --shared ../shared --out data/silver
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from labeler import Tagged, label  # noqa: E402

from extract.examples import SentenceExample, write_examples  # noqa: E402
from ingest import IngestError, load_paths  # noqa: E402

SEED = 20261125
MIN_WORDS, MAX_WORDS = 6, 80
SKIP_SECTIONS = {"title"}


def patent_sentences(shared: Path) -> Iterator[tuple[str, str]]:
    """``(group, sentence)`` pairs from the raw USPTO XML and the claims file."""
    xml_dir = shared / "data/patents/raw/uspto_xml"
    for item in load_paths([xml_dir]):
        if isinstance(item, IngestError):
            continue
        group = str(item.metadata.get("number") or item.metadata.get("doc_number") or item.id[:12])
        for s in item.sentences:
            if s.section not in SKIP_SECTIONS:
                yield group, s.text
    claims = shared / "data/patents/raw/ipstreet_single_claim.tsv"
    for line in claims.read_text(encoding="utf-8").splitlines():
        number, _, text = line.partition("\t")
        for clause in re.split(r";\s*|:\s+(?=[a-z])", text):
            yield f"claims-{number}", clause.strip()


def tag(records: list[dict[str, str]]) -> dict[str, list[list[str]]]:
    """POS-tag ``{"id", "sentence"}`` records with the Node tool."""
    payload = "".join(json.dumps(r) + "\n" for r in records)
    out = subprocess.run(
        ["node", str(HERE / "pos.mjs")], input=payload, capture_output=True, text=True, check=True, cwd=HERE
    ).stdout
    return {rec["id"]: rec["tokens"] for rec in map(json.loads, out.splitlines())}


def align(sentence: str, tokens: list[list[str]]) -> list[Tagged] | None:
    """Character offsets for each tagged token (``None`` when the tagger changed the text)."""
    result, pos = [], 0
    for text, upos, *_ in tokens:
        start = sentence.find(text, pos)
        if start < 0 or sentence[pos:start].strip():
            return None
        result.append(Tagged(text, start, start + len(text), upos))
        pos = start + len(text)
    return result


def labelled(records: list[dict[str, str]]) -> list[SentenceExample]:
    tags = tag(records)
    examples = []
    for rec in records:
        tokens = align(rec["sentence"], tags.get(rec["id"], []))
        if tokens:
            examples.append(label(rec["sentence"], tokens, id=rec["id"], group=rec["group"]))
    return examples


def split(examples: list[SentenceExample]) -> dict[str, list[SentenceExample]]:
    groups = sorted({e.group for e in examples})
    random.Random(SEED).shuffle(groups)
    total, parts = len(examples), {"test": [], "validation": []}
    by_group: dict[str, list[SentenceExample]] = {}
    for e in examples:
        by_group.setdefault(e.group, []).append(e)
    chosen: dict[str, str] = {}
    for g in groups:
        for name in ("test", "validation"):
            if sum(len(by_group[x]) for x in parts[name]) < 0.1 * total:
                parts[name].append(g)
                chosen[g] = name
                break
    out: dict[str, list[SentenceExample]] = {"train": [], "validation": [], "test": []}
    for e in examples:
        out[chosen.get(e.group, "train")].append(e)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--out", type=Path, default=Path("data/silver"))
    args = parser.parse_args()

    seen: set[str] = set()
    records = []
    for group, sentence in patent_sentences(args.shared):
        key = " ".join(sentence.lower().split())
        n = len(sentence.split())
        if key in seen or not MIN_WORDS <= n <= MAX_WORDS or not re.search(r"[a-z]", sentence):
            continue
        seen.add(key)
        records.append({"id": f"{group}:{len(records)}", "group": group, "sentence": sentence})
    examples = labelled(records)
    for name, part in split(examples).items():
        count = write_examples(args.out / f"{name}.jsonl", part)
        facts = sum(len(e.facts) for e in part)
        print(f"{name}: {count} sentences, {facts} facts, {len({e.group for e in part})} documents")

    reference = args.shared / "data/patents/design_kgex_samples/selected_facts.jsonl"
    refs = [json.loads(line) for line in reference.read_text(encoding="utf-8").splitlines() if line.strip()]
    ref_records = [
        {"id": f"{r['patent_id']}:{r['sent_idx']}", "group": r["patent_id"], "sentence": r["sentence"]}
        for r in refs
    ]
    with (args.out / "reference_labeler.jsonl").open("w", encoding="utf-8") as out:
        for e in labelled(ref_records):
            facts = [{"head": h, "relation": r, "tail": t} for h, r, t in e.triples()]
            out.write(
                json.dumps({"id": e.id, "sentence": e.sentence, "facts": facts}, ensure_ascii=False) + "\n"
            )
    print(f"reference_labeler.jsonl: {len(ref_records)} sentences")


if __name__ == "__main__":
    main()

"""Fact-extraction benchmark: speed and quality of each extractor design, side by side in one run.

For each model folder given: end-to-end sentences/s on real patent sentences (``factloom``'s own
``FactExtractor.extract``: word split, windows, encoder, decoding) with ``--threads`` CPU threads, median
of ``--repeats`` runs; and, next to it, fact-level P/R/F1 against the published reference facts and the
token-level micro F1 of stage-1 tags on the silver test split. Rows may also be plain prediction files
(``NAME=predictions.jsonl``: the silver labeler alone, cross-validated fine-tunes) — those get quality only.

The slow reference design (one encoder pass per entity pair) can be timed on fewer sentences with
``--slow-sentences``; the table says how many sentences each speed figure used.

Usage:
    python bench/extract.py --model joint=models/extract/patent-joint --model two-stage=/tmp/two-stage \\
        --predictions labeler=data/silver/reference_labeler.jsonl --threads 2
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from extract.base import FactExtractor
from extract.checkpoint import load_model
from extract.evaluate import model_predictions, model_tag_scores, read_fact_file, score_facts
from extract.examples import read_examples

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared/data/patents/design_kgex_samples/selected_facts.jsonl"


def patent_sentences(n: int) -> list[str]:
    """``n`` real patent sentences from the committed silver set (test split first)."""
    out: list[str] = []
    for split in ("test", "validation", "train"):
        out += [e.sentence for e in read_examples(ROOT / "data/silver" / f"{split}.jsonl")]
    return out[:n]


def speed(model: FactExtractor, sentences: list[str], repeats: int, batch_size: int) -> tuple[float, int]:
    model.extract(sentences[:32], batch_size=batch_size)  # warm-up
    rates, facts = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        found = model.extract(sentences, batch_size=batch_size)
        rates.append(len(sentences) / (time.perf_counter() - started))
        facts = sum(len(f) for f in found)
    return statistics.median(rates), facts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", action="append", default=[], help="NAME=MODEL_DIR (repeatable)")
    parser.add_argument(
        "--predictions", action="append", default=[], help="NAME=PREDICTIONS.jsonl (quality only)"
    )
    parser.add_argument("--reference", type=Path, default=REFERENCE)
    parser.add_argument("--silver-test", type=Path, default=ROOT / "data/silver/test.jsonl")
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--slow-sentences", type=int, default=200, help="sentences for the two-stage design")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    reference = read_fact_file(args.reference)
    silver = list(read_examples(args.silver_test))
    sentences = patent_sentences(args.sentences)
    rows = []
    for spec in args.model:
        name, _, path = spec.partition("=")
        model = load_model(Path(path))
        n = args.slow_sentences if model.design == "two-stage" else args.sentences
        rate, n_facts = speed(
            model, sentences[:n], args.repeats if n == args.sentences else 1, args.batch_size
        )
        pred = model_predictions(model, reference)
        tags = model_tag_scores(model, silver)["micro"]
        rows.append((name, model.design, rate, n, n_facts / n, pred, tags.f1))
    for spec in args.predictions:
        name, _, path = spec.partition("=")
        rows.append((name, "file", None, 0, None, read_fact_file(Path(path)), None))

    print(
        f"\n# fact extraction — {time.strftime('%Y-%m-%d')} — {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, torch threads {args.threads}\n"
    )
    print("| design | sentences/s | timed on | facts/sentence | P | R | F1 | strict F1 | stage-1 token F1 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, design, rate, n, per, pred, tok in rows:
        loose = score_facts(pred, reference, "normalised")
        strict = score_facts(pred, reference, "strict")
        print(
            f"| {name} ({design}) | {f'{rate:.1f}' if rate else '–'} | {n or '–'} | "
            f"{f'{per:.2f}' if per is not None else '–'} | {loose.precision:.3f} | {loose.recall:.3f} | "
            f"{loose.f1:.3f} | {strict.f1:.3f} | {f'{tok:.3f}' if tok is not None else '–'} |"
        )
    print(
        f"\nreference: {args.reference} ({len(reference)} sentences); speed on real patent sentences from "
        f"data/silver; P/R/F1 normalised (lower case, whitespace, leading a/an/the dropped from head/tail)."
    )


if __name__ == "__main__":
    main()

"""Sentence-splitter benchmark: is the cost linear in the text length?

Times ``SentenceSplitter.split`` on one repeated patent sentence at growing sizes (30 kB up to 1.2 MB,
past spaCy's 1,000,000-character limit, so the longest are fed in ``CHUNK_CHARS`` pieces). Baselines, in
the same run:

* the first (smallest) text, 30 kB by default: every row gives its cost per kB as a ratio to that row's
  (1.0 = perfectly linear);
* plain spaCy (``spacy.blank("en")`` + ``sentencizer``, no patent fixes, no chunking) on the same text,
  up to its length limit.

Each time is the median of ``--repeats`` runs. This replaced a timed unit test, which failed on a
busy CI machine; the test suite now checks the chunking itself.

Usage: python bench/sentences.py [--repeats 5] [--sizes 500,5000,20000]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.sentences import CHUNK_CHARS, SentenceSplitter

T = TypeVar("T")

UNIT = "The arm 12 is attached to the frame 14 as shown in FIG. 1A. "


def median_seconds(run: Callable[[], T], repeats: int) -> tuple[float, T]:
    """Median wall-clock seconds of ``repeats`` calls, and what the last call returned."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", default="500,1500,5000,20000", help="sentences per text, comma-separated")
    args = parser.parse_args()

    import spacy

    splitter = SentenceSplitter()
    plain = spacy.blank("en")
    plain.add_pipe("sentencizer")
    splitter.split(UNIT * 50)  # warm both up
    plain(UNIT * 50)

    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"spaCy {spacy.__version__}, CHUNK_CHARS {CHUNK_CHARS:,}, median of {args.repeats}")  # fmt: skip
    print("| sentences | kB | splitter s | µs/kB | ratio to first row | plain spaCy s | splitter / plain |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    base_per_kb = None
    for n in (int(size) for size in args.sizes.split(",")):
        text = UNIT * n
        kb = len(text) / 1000
        seconds, spans = median_seconds(lambda: splitter.split(text), args.repeats)  # noqa: B023
        if len(spans) != n:
            raise SystemExit(f"{n} sentences expected, got {len(spans)}")
        per_kb = seconds / kb * 1e6
        base_per_kb = base_per_kb or per_kb
        if len(text) < plain.max_length:
            plain_seconds, _ = median_seconds(lambda: plain(text), args.repeats)  # noqa: B023
            plain_cells = f"{plain_seconds:.3f} | {seconds / plain_seconds:.2f}"
        else:
            plain_cells = "over spaCy's limit | -"
        ratio = per_kb / base_per_kb
        print(f"| {n:,} | {kb:,.0f} | {seconds:.3f} | {per_kb:,.0f} | {ratio:.2f} | {plain_cells} |")


if __name__ == "__main__":
    main()

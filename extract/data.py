"""Where training data comes from: one function that understands every source the CLI accepts.

``--data`` may be
- a folder with ``train.jsonl`` (and optionally ``validation.jsonl``/``test.jsonl``) of
  :class:`~extract.examples.SentenceExample` records — the committed silver set ``data/silver`` is one;
- one such ``.jsonl`` file;
- the published reference facts (``selected_facts.jsonl``: ``patent_id``, ``sentence``, ``facts[].raw``),
  converted by :mod:`extract.reference` (for fine-tuning; evaluate such models by cross-validation);
- anything in the reference paper's hub format: the hub id ``siddharthl1293/engineering_design_facts`` (needs
  a network), a local copy in the hub layout (``data/train-*.parquet``), or one parquet/jsonl file of rows.
"""

from __future__ import annotations

import json
from pathlib import Path

from extract.errors import ExtractDataError
from extract.examples import SentenceExample, read_examples

SILVER_DIR = Path(__file__).resolve().parents[1] / "data" / "silver"
SPLIT_FILES = {"train": "train.jsonl", "validation": "validation.jsonl", "test": "test.jsonl"}


def load_split(
    source: str | Path | None, split: str = "train", *, limit: int | None = None
) -> list[SentenceExample]:
    """Examples of one split (``train``/``validation``/``test``) from ``source`` (default: the silver set).

    A missing validation/test split of a local examples folder gives an empty list; every other problem
    raises :class:`ExtractDataError` naming the source.
    """
    path = Path(source) if source is not None else SILVER_DIR
    if path.is_dir() and (path / SPLIT_FILES["train"]).exists():
        file = path / SPLIT_FILES.get(split, f"{split}.jsonl")
        return _limit(list(read_examples(file)) if file.exists() else [], limit)
    kind = _jsonl_kind(path) if path.is_file() and path.suffix == ".jsonl" else None
    if kind == "examples":
        return _limit(list(read_examples(path)) if split == "train" else [], limit)
    if kind == "reference":
        from extract.reference import examples_from_reference

        return _limit(examples_from_reference(path)[0] if split == "train" else [], limit)
    from extract.hub import load_hub_dataset

    try:
        examples, _stats = load_hub_dataset(str(source), split, limit=limit)
    except ExtractDataError:
        if split == "train":
            raise
        return []
    return examples


def _jsonl_kind(path: Path) -> str | None:
    """``examples``, ``reference`` or ``None`` (hub rows), judged by the first record."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                try:
                    first = json.loads(line)
                except json.JSONDecodeError:
                    return "examples"  # let read_examples name the bad line
                if isinstance(first, dict) and "entities" in first:
                    return "examples"
                if isinstance(first, dict) and "patent_id" in first and "facts" in first:
                    return "reference"
                return None
    return "examples"


def _limit(examples: list[SentenceExample], limit: int | None) -> list[SentenceExample]:
    return examples[:limit] if limit else examples

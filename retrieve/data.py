"""Link-prediction datasets: ``head<TAB>relation<TAB>tail`` split directories, as integer triples.

A split directory holds ``train.txt``, ``valid.txt`` and ``test.txt`` (FB15k-237 and WN18RR layout; CRLF
line endings are accepted). Entities and relations are numbered in order of first appearance over
train, valid, test, so ids are stable for a given directory. Optional ``entity2text.txt`` /
``relation2text.txt`` (``id<TAB>text``) give readable names.

Example:
    >>> data = load_split_dir(Path("tests/fixtures/kg/tiny"))   # doctest: +SKIP
    >>> data.train.shape, data.num_entities                      # doctest: +SKIP
    ((40, 3), 12)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.errors import FactloomError

SPLITS = ("train", "valid", "test")


class DatasetError(FactloomError):
    """A split directory is missing a file or holds a malformed line (the message names file and line)."""


@dataclass
class TripleDataset:
    """Triples as ``int64`` arrays of shape ``(n, 3)`` (head, relation, tail) plus the vocabularies.

    Args:
        entities: entity id strings; index = integer id.
        relations: relation id strings; index = integer id.
        train, valid, test: triples per split.
        entity_text, relation_text: optional readable names by string id.
        name: a label for reports and cache keys.
    """

    entities: list[str]
    relations: list[str]
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    entity_text: dict[str, str] = field(default_factory=dict)
    relation_text: dict[str, str] = field(default_factory=dict)
    name: str = "dataset"

    @property
    def num_entities(self) -> int:
        return len(self.entities)

    @property
    def num_relations(self) -> int:
        return len(self.relations)

    def split(self, name: str) -> np.ndarray:
        if name not in SPLITS:
            raise DatasetError(f"unknown split {name!r}; choose one of {', '.join(SPLITS)}")
        return getattr(self, name)

    def fingerprint(self) -> str:
        """A short hash of the triples and vocabularies: cache files are keyed by it."""
        digest = hashlib.sha256()
        for part in (self.train, self.valid, self.test):
            digest.update(np.ascontiguousarray(part).tobytes())
        digest.update("\x1f".join([*self.entities, "|", *self.relations]).encode())
        return digest.hexdigest()[:16]

    def entity_label(self, index: int) -> str:
        key = self.entities[index]
        return self.entity_text.get(key, key)

    def relation_label(self, index: int) -> str:
        key = self.relations[index]
        return self.relation_text.get(key, key)


def _read_pairs(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _, text = line.rstrip("\r").partition("\t")
        if key:
            pairs[key] = text.strip() or key
    return pairs


def from_string_triples(
    splits: dict[str, list[tuple[str, str, str]]], *, name: str = "dataset"
) -> TripleDataset:
    """Number string triples (first appearance order over train, valid, test) into a dataset."""
    ent: dict[str, int] = {}
    rel: dict[str, int] = {}
    arrays = {}
    for split in SPLITS:
        rows = splits.get(split, [])
        arr = np.empty((len(rows), 3), dtype=np.int64)
        for i, (h, r, t) in enumerate(rows):
            arr[i] = (ent.setdefault(h, len(ent)), rel.setdefault(r, len(rel)), ent.setdefault(t, len(ent)))
        arrays[split] = arr
    return TripleDataset(list(ent), list(rel), arrays["train"], arrays["valid"], arrays["test"], name=name)


def load_split_dir(directory: Path) -> TripleDataset:
    """Read a ``train/valid/test.txt`` directory.

    Raises:
        DatasetError: a split file is missing, or a line does not have three tab-separated fields.
    """
    directory = Path(directory)
    splits: dict[str, list[tuple[str, str, str]]] = {}
    for split in SPLITS:
        path = directory / f"{split}.txt"
        if not path.is_file():
            raise DatasetError(f"{path}: missing (a split directory needs train.txt, valid.txt, test.txt)")
        rows = []
        with open(path, encoding="utf-8", newline="") as f:
            for lineno, line in enumerate(f, start=1):
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                parts = line.split("\t")
                if len(parts) != 3 or not all(p.strip() for p in parts):
                    raise DatasetError(
                        f"{path}:{lineno}: expected head<TAB>relation<TAB>tail, got {line[:80]!r}"
                    )
                rows.append((parts[0].strip(), parts[1].strip(), parts[2].strip()))
        splits[split] = rows
    data = from_string_triples(splits, name=directory.name)
    data.entity_text = _read_pairs(directory / "entity2text.txt")
    data.relation_text = _read_pairs(directory / "relation2text.txt")
    return data

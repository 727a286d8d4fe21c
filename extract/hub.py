"""The reference paper's gold data on the Hugging Face hub, read as :class:`SentenceExample` values.

The dataset ``siddharthl1293/engineering_design_facts`` (MIT) holds ONE ordered entity pair of one patent
sentence per row::

    {"id": "US7000001_0",
     "sentence": "The {HEAD ~ protector} has {TAIL ~ curved walls} and a guide rail.",
     "relation": "has",
     "tokens": ["The", "{", "HEAD", "~", "protector", "}", "has", "{", "TAIL", "~", "curved", ...],
     "tags":   ["O",   "O", "O",    "O", "O",         "O", "REL", "O", "O",    "O", "O",      ...]}

``sentence`` carries ``{HEAD ~ text}`` and ``{TAIL ~ text}`` markers (either may come first), ``tokens``
tokenise that marked sentence and ``tags`` mark the relation's tokens; a negative row has an empty
``relation`` and no relation tags. This module strips the markers, aligns the tokens back to the plain
sentence, and folds all rows of one plain sentence into one example (entities = every head and tail seen,
facts = the positive rows).

We wrote this without seeing real rows, so it is tolerant where the format is unknown: tokens may or may not
include the marker pieces, tags may be strings (``REL``, ``B-REL``, ``1``, ``O``, ...) or integers, and
markers may carry extra spaces. A row that still cannot be read is skipped and counted (or raises, with
``strict=True``).

Example:
    >>> rows = [{"id": "US1_0", "sentence": "The {HEAD ~ arm} has {TAIL ~ a hook}", "relation": "has",
    ...          "tokens": ["The", "arm", "has", "a", "hook"], "tags": ["O", "O", "REL", "O", "O"]}]
    >>> examples, stats = examples_from_rows(rows, "demo")
    >>> examples[0].sentence, examples[0].triples()
    ('The arm has a hook', [('arm', 'has', 'a hook')])
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from extract.errors import ExtractDataError
from extract.examples import FactLabel, SentenceExample
from extract.types import Span

HUB_DATASET = "siddharthl1293/engineering_design_facts"
"""The hub id of the reference paper's gold data (MIT licence)."""

# Opening marker; the spaces are optional so that ``{HEAD~x}`` or ``{ HEAD ~ x }`` read the same way.
_OPEN = re.compile(r"\{\s*(HEAD|TAIL)\s*~\s*")
# Tag values meaning "not part of the relation"; a B-/I- prefix is dropped first (so ``B-ENT`` is no
# relation either). Everything else (``REL``, ``B-REL``, ``1``, ...) marks a relation token.
_NOT_RELATION = frozenset({"", "O", "0", "OTHER", "OTHERS", "ENT", "NONE"})
_BIO_PREFIX = re.compile(r"^[BIES][-_]")
# A name that can only be a hub id (``owner/name``), used when no local path of that name exists.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet"}
_MAX_ERRORS = 5


@dataclass(frozen=True)
class HubStats:
    """What a conversion read and what it left out.

    Args:
        rows: rows read (usable or not).
        sentences: examples produced (distinct plain sentences).
        facts: facts in those examples (positive rows, duplicates merged).
        skipped: rows that could not be read (only when not strict).
        overlaps_dropped: facts dropped because one of their entities overlapped a longer entity of another
            row of the same sentence (examples need non-overlapping entities).
        first_errors: the first few skip reasons, ``"<source>[row i]: <reason>"``.
    """

    rows: int
    sentences: int
    facts: int
    skipped: int
    overlaps_dropped: int
    first_errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Row:
    """One readable row, in plain-sentence coordinates."""

    id: str
    sentence: str
    head: Span
    tail: Span
    relation: tuple[Span, ...]


def examples_from_rows(
    rows: Iterable[Mapping[str, object]], source: str, *, strict: bool = False
) -> tuple[list[SentenceExample], HubStats]:
    """Fold hub rows into one :class:`SentenceExample` per plain sentence (in order of first appearance).

    Args:
        rows: mappings with ``id``, ``sentence``, ``relation``, ``tokens`` and ``tags``.
        source: names the data in errors, as ``f"{source}[row {i}]"`` (``i`` counts from 0).
        strict: raise :class:`ExtractDataError` on the first unreadable row instead of skipping it.

    Returns:
        The examples and a :class:`HubStats`. An example's ``id`` is its first row's id; its ``group`` is
        that id up to its last ``_`` or ``-`` (a guess that ids look like ``<patent>_<n>``; an id without
        either is its own group). Relation pieces stay one span per token; consumers merge them if they
        want.

    Example:
        >>> rows = [{"id": "p-1", "sentence": "{TAIL ~ a slot} in {HEAD ~ the lid}", "relation": "",
        ...          "tokens": ["a", "slot", "in", "the", "lid"], "tags": [0, 0, 0, 0, 0]}]
        >>> examples, stats = examples_from_rows(rows, "demo")
        >>> examples[0].entities, examples[0].facts, examples[0].group
        (((0, 6), (10, 17)), (), 'p')
    """
    by_sentence: dict[str, list[_Row]] = {}
    count = skipped = 0
    errors: list[str] = []
    for i, raw in enumerate(rows):
        count += 1
        try:
            row = _read_row(raw, f"{source}[row {i}]")
        except ExtractDataError as exc:
            if strict:
                raise
            skipped += 1
            if len(errors) < _MAX_ERRORS:
                errors.append(str(exc))
            continue
        by_sentence.setdefault(row.sentence, []).append(row)

    examples: list[SentenceExample] = []
    dropped = 0
    for sentence, group_rows in by_sentence.items():
        example, lost = _fold(sentence, group_rows)
        examples.append(example)
        dropped += lost
    stats = HubStats(
        rows=count,
        sentences=len(examples),
        facts=sum(len(e.facts) for e in examples),
        skipped=skipped,
        overlaps_dropped=dropped,
        first_errors=tuple(errors),
    )
    return examples, stats


def load_hub_dataset(
    name_or_path: str, split: str = "train", *, limit: int | None = None, strict: bool = False
) -> tuple[list[SentenceExample], HubStats]:
    """Load one split of the hub dataset (or a local copy of it) as sentence examples.

    Args:
        name_or_path: a hub id (:data:`HUB_DATASET`); a directory in the hub layout
            (``data/train-*.parquet``, ``data/validation-*.jsonl``, ...); or one ``.jsonl``/``.json``/
            ``.parquet`` file, which is read as the requested ``split``.
        split: the split name (``train``, ``validation``, ``test``).
        limit: read only the first ``limit`` rows (a sentence whose rows straddle the cut is partial).
        strict: raise on the first unreadable row instead of skipping it.

    Raises:
        ExtractDataError: naming ``name_or_path`` when the data cannot be loaded (missing path, unknown
            split, hub unreachable or offline), or naming the row when ``strict`` and a row is bad.

    Example:
        >>> examples, stats = load_hub_dataset("tests/fixtures/extract/hub_engineering_design_facts")
        >>> stats.skipped
        0
    """
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    dataset = _load_split(name_or_path, split)
    rows: Iterable[Mapping[str, object]] = dataset if limit is None else islice(dataset, limit)
    return examples_from_rows(rows, f"{name_or_path}:{split}", strict=strict)


def _load_split(name_or_path: str, split: str) -> Iterable[Mapping[str, object]]:
    try:
        # Imported here: ``datasets`` takes seconds to import and most commands never need it.
        import datasets
        from datasets.exceptions import DatasetsError
    except ImportError as exc:
        raise ExtractDataError(
            name_or_path, "the 'datasets' package is not installed (pip install datasets)"
        ) from exc

    path = Path(name_or_path)
    try:
        if path.is_file():
            builder = _BUILDERS.get(path.suffix.lower())
            if builder is None:
                raise ExtractDataError(
                    name_or_path, f"unsupported file type {path.suffix!r}; use .jsonl, .json or .parquet"
                )
            # Mapping the file to the requested split name lets a lone file serve as any split.
            return datasets.load_dataset(builder, data_files={split: str(path)}, split=split)
        if path.is_dir():
            # The directory loader understands the hub layout (data/<split>-*.parquet) and works offline.
            return datasets.load_dataset(str(path), split=split)
        if not _HUB_ID.match(name_or_path):
            raise ExtractDataError(name_or_path, "no such file or directory")
        return datasets.load_dataset(name_or_path, split=split)
    except ExtractDataError:
        raise
    # ValueError covers an unknown split; OSError covers missing files, offline mode and network errors.
    except (DatasetsError, OSError, ValueError) as exc:
        prefix = "" if path.exists() else "not a local path, and the hub dataset failed: "
        raise ExtractDataError(name_or_path, f"cannot load split {split!r}: {prefix}{exc}") from exc


def _read_row(raw: Mapping[str, object], where: str) -> _Row:
    """Check one row's fields and convert it to plain-sentence spans."""
    if not isinstance(raw, Mapping):
        raise ExtractDataError(where, "a row must be a mapping of field names to values")
    row_id = raw.get("id")
    if not isinstance(row_id, str | int) or isinstance(row_id, bool):
        raise ExtractDataError(where, f"field 'id' must be a string, got {type(row_id).__name__}")
    marked = raw.get("sentence")
    if not isinstance(marked, str):
        raise ExtractDataError(where, f"field 'sentence' must be a string, got {type(marked).__name__}")
    relation = raw.get("relation")
    if relation is not None and not isinstance(relation, str):
        raise ExtractDataError(where, f"field 'relation' must be a string, got {type(relation).__name__}")
    tokens = raw.get("tokens")
    if not isinstance(tokens, list | tuple) or not all(isinstance(t, str) for t in tokens):
        raise ExtractDataError(where, "field 'tokens' must be a list of strings")
    tags = raw.get("tags")
    if not isinstance(tags, list | tuple):
        raise ExtractDataError(where, "field 'tags' must be a list")
    if len(tags) != len(tokens):
        raise ExtractDataError(where, f"field 'tags' has {len(tags)} tags for {len(tokens)} tokens")

    sentence, mapping, entities = _strip_markers(marked, where)
    token_spans = _align(list(tokens), marked, mapping, where)
    pieces = tuple(
        span
        for span, tag in zip(token_spans, tags, strict=True)
        if span is not None and _is_relation(tag, where)
    )
    return _Row(str(row_id), sentence, entities["HEAD"], entities["TAIL"], pieces)


def _strip_markers(marked: str, where: str) -> tuple[str, list[int | None], dict[str, Span]]:
    """Remove the markers.

    Returns the plain sentence, for each character of ``marked`` its index in the plain sentence (``None``
    for marker characters), and the ``HEAD`` and ``TAIL`` spans in the plain sentence.
    """
    plain: list[str] = []
    mapping: list[int | None] = [None] * len(marked)
    entities: dict[str, Span] = {}

    def copy(start: int, end: int) -> None:
        for k in range(start, end):
            mapping[k] = len(plain)
            plain.append(marked[k])

    pos = 0
    while (opening := _OPEN.search(marked, pos)) is not None:
        kind = opening.group(1)
        close = marked.find("}", opening.end())
        if close < 0:
            raise ExtractDataError(where, f"field 'sentence': the {{{kind} ~ ...}} marker is never closed")
        inner = marked[opening.end() : close].rstrip()
        if _OPEN.search(inner):
            raise ExtractDataError(where, "field 'sentence': HEAD and TAIL markers are nested")
        if not inner:
            raise ExtractDataError(where, f"field 'sentence': the {kind} marker is empty")
        if kind in entities:
            raise ExtractDataError(where, f"field 'sentence' has more than one {kind} marker")
        copy(pos, opening.start())
        start = len(plain)
        copy(opening.end(), opening.end() + len(inner))
        entities[kind] = (start, len(plain))
        pos = close + 1
    copy(pos, len(marked))
    missing = [k for k in ("HEAD", "TAIL") if k not in entities]
    if missing:
        names = " and ".join(f"{{{k} ~ ...}}" for k in missing)
        raise ExtractDataError(where, f"field 'sentence' has no {names} marker")
    return "".join(plain), mapping, entities


def _align(tokens: list[str], marked: str, mapping: list[int | None], where: str) -> list[Span | None]:
    """Each token's span in the plain sentence (``None`` for a token made only of marker characters).

    The tokens are matched left to right against the marked sentence; marker characters that no token claims
    are skipped, so token lists with or without the marker pieces both align. Should that still fail (a
    token list without markers whose text happens to look like marker pieces), the tokens are matched
    against the plain sentence instead.
    """
    try:
        return _walk(tokens, marked, mapping, where)
    except ExtractDataError as first:
        plain: list[int | None] = [i for i in mapping if i is not None]
        sentence = "".join(marked[k] for k, i in enumerate(mapping) if i is not None)
        try:
            return _walk(tokens, sentence, plain, where)
        except ExtractDataError:
            raise first from None


def _walk(tokens: list[str], text: str, mapping: list[int | None], where: str) -> list[Span | None]:
    spans: list[Span | None] = []
    pos, n = 0, len(text)
    for k, token in enumerate(tokens):
        piece = token.strip()
        if not piece:
            spans.append(None)
            continue
        while True:
            while pos < n and text[pos].isspace():
                pos += 1
            if _matches(piece, text, pos, mapping):
                break
            if pos < n and mapping[pos] is None:
                pos += 1  # marker syntax the token list leaves out
                continue
            raise ExtractDataError(
                where, f"field 'tokens': token {k} {token!r} does not match the sentence at char {pos}"
            )
        covered = [m for m in mapping[pos : pos + len(piece)] if m is not None]
        spans.append((covered[0], covered[-1] + 1) if covered else None)
        pos += len(piece)
    return spans


def _matches(piece: str, text: str, pos: int, mapping: list[int | None]) -> bool:
    end = pos + len(piece)
    window = text[pos:end]
    if pos < len(text) and mapping[pos] is None:
        # Inside marker syntax only a whole marker piece counts, so that the token "A" of a list without
        # marker pieces is not matched against the "A" inside "HEAD".
        return window == piece and _boundary(text, pos) and _boundary(text, end)
    # Case-insensitive as a fallback: some tokenisers lower-case their output.
    return window == piece or window.casefold() == piece.casefold()


def _boundary(text: str, k: int) -> bool:
    """No word continues across position ``k``."""
    return k <= 0 or k >= len(text) or not (text[k - 1].isalnum() and text[k].isalnum())


def _is_relation(tag: object, where: str) -> bool:
    if tag is None:
        return False
    if isinstance(tag, bool | int):
        return bool(tag)
    if isinstance(tag, str):
        return _BIO_PREFIX.sub("", tag.strip().upper()) not in _NOT_RELATION
    raise ExtractDataError(where, f"field 'tags' holds {tag!r}; tags must be strings or integers")


def _fold(sentence: str, rows: list[_Row]) -> tuple[SentenceExample, int]:
    """One example from all rows of one plain sentence; also returns how many facts overlaps cost."""
    # Longest first, so that of two overlapping entities the longer one survives.
    candidates = sorted({s for r in rows for s in (r.head, r.tail)}, key=lambda s: (s[0] - s[1], s[0]))
    kept: list[Span] = []
    for span in candidates:
        if all(span[1] <= other[0] or other[1] <= span[0] for other in kept):
            kept.append(span)
    entities = tuple(sorted(kept))
    index = {span: i for i, span in enumerate(entities)}

    facts: list[FactLabel] = []
    dropped = 0
    for row in rows:
        if not row.relation:
            continue  # a negative row contributes its entities only
        if row.head not in index or row.tail not in index:
            dropped += 1
            continue
        fact = FactLabel(index[row.head], index[row.tail], row.relation)
        if fact not in facts:
            facts.append(fact)
    first = rows[0].id
    cut = max(first.rfind("_"), first.rfind("-"))
    group = first[:cut] if cut > 0 else first
    return SentenceExample(first, sentence, entities, tuple(facts), group), dropped

"""The ingest job: files → documents (``ingest``) → fact store (``kg``), with progress and a summary."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import IngestError
from ingest.walk import iter_files, load
from kg.errors import StoreUnavailable
from kg.store import FactStore
from kg.types import WriteOutcome


@dataclass
class IngestSummary:
    """Counts for one ``factloom ingest`` run; ``errors`` holds one line per failed file or record."""

    files: int = 0
    new: int = 0
    unchanged: int = 0
    replaced: int = 0
    sentences: int = 0
    errors: list[IngestError] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.errors)

    def as_dict(self) -> dict[str, int]:
        return {
            "files": self.files,
            "new": self.new,
            "unchanged": self.unchanged,
            "replaced": self.replaced,
            "failed": self.failed,
            "sentences": self.sentences,
        }


def ingest_paths(
    store: FactStore,
    paths: Iterable[Path],
    *,
    jsonl_text_field: str = "text",
    on_file: Callable[[Path], None] | None = None,
    on_error: Callable[[IngestError], None] | None = None,
) -> IngestSummary:
    """Ingest files and directories into ``store``; a bad file never stops the run.

    Each document is written in one transaction (all or nothing). ``sentences`` counts sentences written
    by this run (unchanged documents add none).

    Args:
        store: where to write.
        paths: files and directories (walked recursively).
        jsonl_text_field: the text field of ``.jsonl`` records.
        on_file: called after each file (progress bars).
        on_error: called with each error as it happens.

    Raises:
        StoreUnavailable: the store went away; what was written so far stays written.
    """
    summary = IngestSummary()

    def fail(error: IngestError) -> None:
        summary.errors.append(error)
        if on_error:
            on_error(error)

    for path in iter_files(paths):
        summary.files += 1
        for item in load(path, jsonl_text_field=jsonl_text_field):
            if isinstance(item, IngestError):
                fail(item)
                continue
            try:
                outcome = store.write_document(item)
            except StoreUnavailable:
                raise
            except Exception as exc:  # a store refusal is this document's failure, not the run's
                fail(IngestError(item.source, f"could not be stored: {exc}"))
                continue
            if outcome is WriteOutcome.UNCHANGED:
                summary.unchanged += 1
            else:
                summary.sentences += len(item.sentences)
                if outcome is WriteOutcome.NEW:
                    summary.new += 1
                else:
                    summary.replaced += 1
        if on_file:
            on_file(path)
    return summary

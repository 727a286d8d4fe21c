"""Errors the fact store raises (see ``ingest.errors`` for the whole tree)."""

from __future__ import annotations

from ingest.errors import FactloomError


class StoreError(FactloomError):
    """The fact store failed or refused a request."""


class StoreUnavailable(StoreError):
    """The store server could not be reached or started; the message says which and why."""


class StoreBusy(StoreUnavailable):
    """Another process already runs an embedded server on the same data directory."""


class DocumentNotFound(StoreError):
    """A delete or lookup named a document the store does not hold."""

    def __init__(self, document_id: str) -> None:
        self.document_id = document_id
        super().__init__(f"no document with id {document_id!r} in the store")

"""Reading JSON Lines input with errors that name ``file:line`` (shared by every extract-stage reader)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from extract.errors import ExtractDataError


def iter_jsonl(path: Path) -> Iterator[tuple[int, str, object]]:
    """``(line number, "path:line", parsed value)`` for each non-blank line.

    Raises :class:`ExtractDataError` for an unreadable file or a line that is not JSON.
    """
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise ExtractDataError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                yield number, where, json.loads(line)
            except json.JSONDecodeError as exc:
                raise ExtractDataError(where, f"not valid JSON ({exc.msg})") from exc

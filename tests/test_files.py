"""``ingest.files``: the all-or-nothing saves under both model checkpoints, job outputs and caches."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.files import write_file, write_together


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def _folder(files: dict[str, str]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.mkdir()
        for name, text in files.items():
            (path / name).write_text(text)

    return write


def test_replaces_files_and_a_non_empty_folder_and_keeps_the_rest(tmp_path: Path) -> None:
    first = {"sub": _folder({"a": "1", "gone": "x"}), "w.bin": lambda p: p.write_text("old")}
    write_together(tmp_path, first)
    (tmp_path / "MODEL_CARD.md").write_text("card")
    write_together(tmp_path, {"sub": _folder({"a": "2"}), "w.bin": lambda p: p.write_text("new")})
    assert _tree(tmp_path) == {"MODEL_CARD.md": "card", "sub/a": "2", "w.bin": "new"}


def test_a_failing_writer_leaves_everything_as_it_was(tmp_path: Path) -> None:
    write_together(tmp_path, {"sub": _folder({"a": "1"}), "w.bin": lambda p: p.write_text("old")})
    before = _tree(tmp_path)

    def half_then_fail(path: Path) -> None:
        path.write_text("ha")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        write_together(tmp_path, {"sub": _folder({"a": "2"}), "w.bin": half_then_fail})
    assert _tree(tmp_path) == before  # nothing replaced, no temporary entries left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub", "w.bin"]


def test_leftovers_of_an_earlier_crash_are_written_over(tmp_path: Path) -> None:
    (tmp_path / ".sub.partial").mkdir()
    (tmp_path / ".sub.partial" / "stale").write_text("s")
    (tmp_path / ".w.bin.partial").write_text("stale")
    write_together(tmp_path, {"sub": _folder({"a": "1"}), "w.bin": lambda p: p.write_text("new")})
    assert _tree(tmp_path) == {"sub/a": "1", "w.bin": "new"}


def test_write_file_replaces_one_file_or_leaves_it(tmp_path: Path) -> None:
    target = tmp_path / "new" / "out.jsonl"
    write_file(target, lambda p: p.write_text("first"))
    with pytest.raises(ValueError):
        write_file(target, lambda p: (p.write_text("half"), int("x")))
    assert target.read_text() == "first" and [p.name for p in target.parent.iterdir()] == ["out.jsonl"]

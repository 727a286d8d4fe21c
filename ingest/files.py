"""Writing a model folder's files so that a failed write never leaves a mix of old and new ones.

Every stage that saves a model (``extract.checkpoint``, ``reader.checkpoint``) writes several files that only
make sense together (weights, config, vocabulary). :func:`write_together` writes each under a temporary name
first and renames them into place only when all are written; :func:`write_file` does the same for one
file (a job's output, a cache, a state file).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


def write_together(directory: Path, writers: Mapping[str, Callable[[Path], Any]]) -> None:
    """Replace the files (or sub-folders) named in ``writers`` inside ``directory``, all or none.

    Args:
        directory: the folder (created when missing). Entries not named in ``writers`` are left alone.
        writers: entry name -> a function that writes that entry at the path it is given (a file, or a
            folder it creates). Called in order; put the likeliest to fail (the biggest) last.

    If a writer raises, every temporary entry is removed and the exception propagates: ``directory`` is as
    it was. Once all are written they are renamed into place one after another (a few renames: the window
    for a crash to mix old and new is that short, not the length of the writes).

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> write_together(folder, {"a.txt": lambda p: p.write_text("1"),
        ...                         "b.txt": lambda p: p.write_text("2")})
        >>> sorted(p.name for p in folder.iterdir())
        ['a.txt', 'b.txt']
    """
    directory.mkdir(parents=True, exist_ok=True)
    staged = {name: directory / f".{name}.partial" for name in writers}
    try:
        for name, write in writers.items():
            _remove(staged[name])  # left by an earlier crash
            write(staged[name])
    except BaseException:
        for path in staged.values():
            _remove(path)
        raise
    for name, path in staged.items():
        target = directory / name
        if path.is_dir() and target.exists():  # a folder cannot be renamed onto a non-empty one
            old = directory / f".{name}.old"
            _remove(old)
            target.rename(old)
            path.rename(target)
            _remove(old)
        else:
            os.replace(path, target)


def write_file(path: Path, write: Callable[[Path], Any]) -> None:
    """Replace one file, all or nothing: :func:`write_together` for a single entry.

    Args:
        path: the file to write (its folder is created when missing).
        write: writes the content at the temporary path it is given.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "state.json"
        >>> write_file(target, lambda p: p.write_text("{}"))
        >>> target.read_text()
        '{}'
    """
    write_together(path.parent, {path.name: write})


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)

"""Every class in a registry (config string -> class) must have its own tests (PyKEEN's rule).

A registered name ``key`` is covered when some test function is named ``test_<key>_...``. Add new registries
to ``REGISTRIES`` as stages grow; a new registered class without a test makes this fail.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from extract.registry import DESIGNS
from ingest.parsers import PARSERS
from reader.losses import LOSSES
from reader.registry import MODELS
from retrieve.retrievers import RETRIEVERS

REGISTRIES: dict[str, dict[str, type]] = {
    "ingest.parsers.PARSERS": PARSERS,
    "retrieve.retrievers.RETRIEVERS": RETRIEVERS,
    "reader.registry.MODELS": MODELS,
    "reader.losses.LOSSES": LOSSES,
    "extract.registry.DESIGNS": DESIGNS,
}


def _test_names() -> set[str]:
    names: set[str] = set()
    for path in Path(__file__).parent.glob("test_*.py"):
        tree = ast.parse(path.read_text())
        names.update(node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef))
    return names


@pytest.mark.parametrize(("registry", "key"), [(r, k) for r, reg in REGISTRIES.items() for k in reg])
def test_registered_class_has_tests(registry: str, key: str) -> None:
    prefix = f"test_{key.replace('-', '_')}_"
    assert any(name.startswith(prefix) for name in _test_names()), (
        f"{registry}[{key!r}] has no test named {prefix}...: add one"
    )

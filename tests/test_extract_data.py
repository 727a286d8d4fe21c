"""``--data`` sources: the committed silver set, an examples file, the reference facts, hub-format files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO

from extract.data import load_split
from extract.errors import ExtractDataError
from extract.labels import stage1_tags

HUB_FIXTURE = REPO / "tests/fixtures/extract/hub_engineering_design_facts"


def test_default_is_the_committed_silver_set_split_by_document() -> None:
    train, valid, test = (load_split(None, s) for s in ("train", "validation", "test"))
    assert len(train) > 2000 and len(valid) > 300 and len(test) > 300
    groups = [{e.group for e in part} for part in (train, valid, test)]
    assert not (groups[0] & groups[1]) and not (groups[0] & groups[2]) and not (groups[1] & groups[2])
    tagged = [stage1_tags(e) for e in test[:50]]
    assert all("B-ENT" in t for t in tagged) and sum("REL" in t for t in tagged) > 40


def test_an_examples_file_and_limit(tmp_path: Path) -> None:
    path = tmp_path / "ex.jsonl"
    record = {
        "id": "x:0",
        "sentence": "The arm has a hook",
        "entities": [[0, 7], [12, 18]],
        "facts": [{"head": 0, "tail": 1, "relation": [[8, 11]]}],
    }
    path.write_text(json.dumps(record) + "\n" + json.dumps({**record, "id": "x:1"}) + "\n", encoding="utf-8")
    examples = load_split(path, limit=1)
    assert len(examples) == 1 and examples[0].triples() == [("The arm", "has", "a hook")]
    assert load_split(path, "validation") == []


def test_a_bad_examples_record_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"sentence": "abc", "entities": [[0, 99]]}) + "\n", encoding="utf-8")
    with pytest.raises(ExtractDataError, match=r"bad\.jsonl:1: field 'entities'"):
        load_split(path)


def test_hub_format_directory_loads_through_datasets() -> None:
    examples = load_split(str(HUB_FIXTURE))
    assert examples and all(e.entities for e in examples)
    assert any(e.facts for e in examples)


REFERENCE = REPO.parent / "shared/data/patents/design_kgex_samples/selected_facts.jsonl"


@pytest.mark.skipif(not REFERENCE.exists(), reason="needs ../shared")
def test_reference_facts_file_is_recognised() -> None:
    examples = load_split(REFERENCE)
    assert len(examples) == 110 and sum(len(e.facts) for e in examples) > 690

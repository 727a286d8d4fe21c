"""The hub-format loader: markers stripped, tokens aligned, rows folded into sentence examples.

The fixture (``tests/fixtures/extract/hub_engineering_design_facts``) is hand-written in the layout of the hub
dataset; ``tests/fixtures/extract/make_hub_fixture.py`` regenerates it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from extract.errors import ExtractDataError
from extract.examples import SentenceExample
from extract.hub import HUB_DATASET, examples_from_rows, load_hub_dataset

FIXTURE = Path(__file__).parent / "fixtures" / "extract" / "hub_engineering_design_facts"


@pytest.fixture(autouse=True)
def _datasets_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the ``datasets`` cache out of the user's home: builders read this setting on every load."""
    datasets_config = pytest.importorskip("datasets.config")
    monkeypatch.setattr(datasets_config, "HF_DATASETS_CACHE", tmp_path_factory.getbasetemp() / "hf-datasets")


def by_sentence(examples: list[SentenceExample]) -> dict[str, SentenceExample]:
    return {e.sentence: e for e in examples}


def good_row(row_id: str = "US1_0") -> dict[str, object]:
    return {
        "id": row_id,
        "sentence": "The {HEAD ~ arm} has {TAIL ~ a hook}.",
        "relation": "has",
        "tokens": ["The", "arm", "has", "a", "hook", "."],
        "tags": ["O", "O", "REL", "O", "O", "O"],
    }


def test_fixture_train_split_gives_sentences_entities_and_facts() -> None:
    examples, stats = load_hub_dataset(str(FIXTURE))

    assert (stats.rows, stats.sentences, stats.facts, stats.skipped) == (12, 4, 7, 0)
    assert stats.overlaps_dropped == 0 and stats.first_errors == ()
    got = by_sentence(examples)
    assert list(got) == [
        "The protector has curved walls and a guide rail.",
        "A bracket is mounted on the frame by two bolts.",
        "The shaft that the bearing supports is coupled to a motor.",
        "The lever is pivotally connected at one end to the housing.",
    ]

    # Markers as tokens; a negative row adds no fact but its entities are already there.
    protector = got["The protector has curved walls and a guide rail."]
    assert (protector.id, protector.group) == ("US7000001_0", "US7000001")
    assert protector.entities == ((4, 13), (18, 30), (35, 47))
    assert protector.triples() == [("protector", "has", "curved walls"), ("protector", "has", "a guide rail")]

    # A multi-word relation, and a discontinuous one, from token lists without marker pieces.
    bracket = got["A bracket is mounted on the frame by two bolts."]
    assert [bracket.text(s) for s in bracket.entities] == ["A bracket", "the frame", "two bolts"]
    assert bracket.triples() == [
        ("A bracket", "is mounted on", "the frame"),
        ("A bracket", "is mounted by", "two bolts"),
    ]
    assert [bracket.text(s) for s in bracket.facts[1].relation] == ["is", "mounted", "by"]

    # TAIL before HEAD in the text: the fact's head index comes after its tail index.
    shaft = got["The shaft that the bearing supports is coupled to a motor."]
    assert shaft.triples() == [
        ("the bearing", "supports", "The shaft"),
        ("The shaft", "is coupled to", "a motor"),
    ]
    assert (shaft.facts[0].head, shaft.facts[0].tail) == (1, 0)

    # A discontinuous relation keeps one span per token, in text order.
    lever = got["The lever is pivotally connected at one end to the housing."]
    assert lever.triples() == [("The lever", "is connected to", "the housing")]
    assert lever.facts[0].relation == ((10, 12), (23, 32), (44, 46))
    assert [lever.text(s) for s in lever.entities] == ["The lever", "one end", "the housing"]


def test_fixture_validation_split_loads() -> None:
    examples, stats = load_hub_dataset(str(FIXTURE), "validation")

    assert (stats.rows, stats.sentences, stats.facts, stats.skipped) == (2, 1, 2, 0)
    assert examples[0].triples() == [("The clip", "engages", "a groove"), ("a groove", "in", "the cap")]


def test_limit_reads_only_the_first_rows() -> None:
    examples, stats = load_hub_dataset(str(FIXTURE), limit=4)

    assert (stats.rows, stats.sentences) == (4, 2)
    assert examples[1].triples() == [("A bracket", "is mounted on", "the frame")]


def test_single_jsonl_file_with_integer_tags(tmp_path: Path) -> None:
    rows = [
        {**good_row("X-1"), "tags": [0, 0, 1, 0, 0, 0]},
        {
            "id": "X-2",
            "sentence": "{TAIL ~ The lid} covers {HEAD ~ a box}.",
            "relation": "",
            "tokens": ["{", "TAIL", "~", "The", "lid", "}", "covers", "{", "HEAD", "~", "a", "box", "}", "."],
            "tags": [0] * 14,
        },
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    examples, stats = load_hub_dataset(str(path))

    assert (stats.rows, stats.sentences, stats.facts) == (2, 2, 1)
    assert examples[0].sentence == "The arm has a hook."
    assert examples[0].triples() == [("arm", "has", "a hook")]
    assert examples[0].group == "X"
    assert examples[1].sentence == "The lid covers a box."
    assert examples[1].entities == ((0, 7), (15, 20)) and examples[1].facts == ()


def test_bad_rows_are_skipped_and_counted() -> None:
    no_marker = {**good_row("US1_1"), "sentence": "The arm has {TAIL ~ a hook}."}
    short_tags = {**good_row("US1_2"), "tags": ["O", "REL"]}
    bad_token = {**good_row("US1_3"), "tokens": ["The", "leg", "has", "a", "hook", "."]}

    examples, stats = examples_from_rows([good_row(), no_marker, short_tags, bad_token], "demo")

    assert (stats.rows, stats.sentences, stats.facts, stats.skipped) == (4, 1, 1, 3)
    assert stats.first_errors[0] == "demo[row 1]: field 'sentence' has no {HEAD ~ ...} marker"
    assert stats.first_errors[1] == "demo[row 2]: field 'tags' has 2 tags for 6 tokens"
    assert stats.first_errors[2].startswith("demo[row 3]: field 'tokens': token 1 'leg'")
    assert examples[0].triples() == [("arm", "has", "a hook")]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sentence": "The arm has {TAIL ~ a hook}."}, "field 'sentence'"),
        ({"tags": ["O"]}, "field 'tags'"),
        ({"tokens": "The arm has a hook ."}, "field 'tokens'"),
    ],
)
def test_strict_raises_naming_row_and_field(change: dict[str, object], field: str) -> None:
    rows = [good_row(), {**good_row("US1_1"), **change}]

    with pytest.raises(ExtractDataError) as info:
        examples_from_rows(rows, "demo", strict=True)

    assert info.value.where == "demo[row 1]"
    assert info.value.reason.startswith(field)


def test_strict_load_names_the_split_and_row(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({**good_row(), "tags": ["O"]}) + "\n", encoding="utf-8")

    with pytest.raises(ExtractDataError, match=r"rows\.jsonl:train\[row 0\]: field 'tags'"):
        load_hub_dataset(str(path), strict=True)


def test_overlapping_entities_keep_the_longer_one() -> None:
    rows = [
        good_row("US1_0"),
        # "a hook" overlaps "hook"; the fact using "hook" goes, its other entity stays.
        {**good_row("US1_1"), "sentence": "The {HEAD ~ arm} has a {TAIL ~ hook}."},
    ]

    examples, stats = examples_from_rows(rows, "demo")

    assert stats.overlaps_dropped == 1 and stats.facts == 1
    assert examples[0].entities == ((4, 7), (12, 18))


def test_tag_spellings_and_marker_spacing() -> None:
    row = {
        "id": 7,
        "sentence": "{ HEAD ~ The arm } is fixed to {TAIL~the hook}",
        "relation": "is fixed to",
        "tokens": ["The", "arm", "IS", "fixed", "to", "the", "hook"],
        "tags": ["O", "B-ENT", "B-REL", "I-REL", "1", "OTHERS", ""],
    }

    examples, _ = examples_from_rows([row], "demo", strict=True)

    assert examples[0].sentence == "The arm is fixed to the hook"
    assert examples[0].triples() == [("The arm", "is fixed to", "the hook")]
    assert (examples[0].id, examples[0].group) == ("7", "7")


def test_missing_path_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir"

    with pytest.raises(ExtractDataError) as info:
        load_hub_dataset(str(missing))

    assert info.value.where == str(missing)
    assert "no such file" in info.value.reason


def test_unknown_split_is_a_data_error() -> None:
    with pytest.raises(ExtractDataError, match="test"):
        load_hub_dataset(str(FIXTURE), "test")


@pytest.mark.skipif(os.environ.get("HF_HUB_OFFLINE") != "1", reason="needs HF_HUB_OFFLINE=1 to fail fast")
def test_unreachable_hub_id_is_a_data_error() -> None:
    with pytest.raises(ExtractDataError) as info:
        load_hub_dataset("factloom-tests/no-such-dataset")

    assert info.value.where == "factloom-tests/no-such-dataset"
    assert HUB_DATASET.count("/") == 1

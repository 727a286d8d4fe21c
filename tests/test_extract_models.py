"""Extractor designs on a real (small) backbone: labels, training on a tiny set, save/load, bad input.

The backbone is the packaged MiniLM cut to its first layer(s) so a few dozen steps run in seconds; the
tests check behaviour (a memorised fact comes back with correct spans), not quality.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from extract.base import split_windows
from extract.checkpoint import load_model, save_model
from extract.errors import ModelLoadError
from extract.examples import FactLabel, SentenceExample
from extract.facts import entity_spans, make_fact
from extract.joint import JointExtractor, position_codes
from extract.labels import mark, stage1_tags
from extract.text import words
from extract.train import ExtractTrainConfig, train

SENTENCE = "The protector 9 has curved walls and a guide rail."
EXAMPLE = SentenceExample(
    id="t:0",
    sentence=SENTENCE,
    entities=((0, 13), (20, 32), (37, 49)),
    facts=(FactLabel(0, 1, ((16, 19),)), FactLabel(0, 2, ((16, 19),))),
    group="t",
)
OTHER = SentenceExample(
    id="t:1",
    sentence="A bracket is mounted on the frame.",
    entities=((0, 9), (24, 33)),
    facts=(FactLabel(0, 1, ((10, 23),)),),
    group="t",
)


def test_stage1_tags_mark_entities_and_relation_words() -> None:
    assert stage1_tags(EXAMPLE) == [
        "B-ENT",
        "I-ENT",
        "O",
        "REL",
        "B-ENT",
        "I-ENT",
        "O",
        "B-ENT",
        "I-ENT",
        "I-ENT",
        "O",
    ]


def test_marker_sentence_follows_the_reference_format_and_maps_back() -> None:
    marked = mark(words(SENTENCE), (0, 2), (4, 6))
    assert " ".join(marked.words).startswith("{ HEAD ~ The protector } 9 has { TAIL ~ curved walls }")
    assert [marked.origin[i] for i, w in enumerate(marked.words) if w == "has"] == [3]
    assert all(o == -1 for w, o in zip(marked.words, marked.origin, strict=True) if w in "{}~")


def test_entity_spans_decode_bio_runs() -> None:
    assert entity_spans(["B-ENT", "I-ENT", "O", "I-ENT", "B-ENT", "REL", "B-ENT"]) == [
        (0, 2),
        (3, 4),
        (4, 5),
        (6, 7),
    ]


def test_weak_relations_need_adjacent_entities() -> None:
    wl = words("the end of the arm of the lever")
    assert make_fact("the end of the arm of the lever", wl, (0, 2), (3, 5), [2], 0.9) is not None
    assert make_fact("the end of the arm of the lever", wl, (0, 2), (6, 8), [5], 0.9) is None


def test_position_codes_distinguish_order_and_region() -> None:
    pos = torch.arange(6).view(1, 1, -1)
    head = torch.tensor([[[1, 2]], [[4, 5]]]).view(2, 1, 2)
    tail = torch.tensor([[[4, 5]], [[1, 2]]]).view(2, 1, 2)
    codes = position_codes(pos.expand(2, 1, 6), head, tail)
    assert codes[0, 0, 3] != codes[1, 0, 3]  # same word, same region, opposite order
    assert len(set(codes[0, 0].tolist())) >= 4


def test_long_sentences_are_read_in_windows_that_cover_every_word() -> None:
    sentence = ", ".join(f"part {i} has a hook" for i in range(100))
    windows = split_windows(0, sentence, 120)
    assert len(windows) > 1 and all(len(w.words) <= 120 for w in windows)
    assert sum(len(w.words) for w in windows) == len(words(sentence))


def _tiny(design: str) -> ExtractTrainConfig:
    return ExtractTrainConfig(
        design=design, num_layers=1, epochs=30, batch_size=2, lr=1e-3, head_lr=3e-3, seed=1
    )


@pytest.fixture(scope="module")
def trained_joint() -> JointExtractor:
    torch.set_num_threads(2)
    model, logs = train(_tiny("joint"), [EXAMPLE, OTHER], progress=False)
    assert logs[-1].loss < logs[0].loss / 3
    return model  # type: ignore[return-value]


def test_joint_memorises_facts_with_spans(trained_joint: JointExtractor) -> None:
    facts = trained_joint.extract([SENTENCE, OTHER.sentence])
    triples = {(f.head, f.relation, f.tail) for f in facts[0]}
    assert ("The protector", "has", "curved walls") in triples
    fact = next(f for f in facts[1] if f.relation == "is mounted on")
    assert OTHER.sentence[slice(*fact.head_span)] == "A bracket"
    assert [OTHER.sentence[s:e] for s, e in fact.relation_spans] == ["is mounted on"]
    assert 0.0 < fact.confidence <= 1.0


def test_joint_save_load_round_trip_gives_the_same_facts(
    trained_joint: JointExtractor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_model(trained_joint, tmp_path / "m", metadata={"note": "test"})
    loaded = load_model(tmp_path / "m")
    before = [(f.head, f.relation, f.tail) for f in trained_joint.extract([SENTENCE])[0]]
    after = [(f.head, f.relation, f.tail) for f in loaded.extract([SENTENCE])[0]]
    assert before == after
    assert (tmp_path / "m/model.safetensors").stat().st_size < 30_000_000  # fp16, one layer
    files = {p: p.read_bytes() for p in (tmp_path / "m").rglob("*") if p.is_file()}

    def disk_full(state: object, path: str, **kwargs: object) -> None:  # fault injection: half written
        Path(path).write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("extract.checkpoint.save_file", disk_full)
    with pytest.raises(OSError, match="No space"):
        save_model(trained_joint, tmp_path / "m", metadata={"note": "second"})
    assert {p: p.read_bytes() for p in (tmp_path / "m").rglob("*") if p.is_file()} == files


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "x" * 5000,
        "The arm has a hook. " * 250,
        "\x00\x01\ufffd\x7f binary",
        "Лопасть крепится к валу.",
        "水泵包括叶轮",
        "The ﬁn ‐ shaped arm — with “quotes” and emoji 🚀 — has a hook",
        "...",
    ],
)
def test_joint_odd_input_gets_a_result_not_a_crash(trained_joint: JointExtractor, text: str) -> None:
    facts = trained_joint.extract([text, SENTENCE])
    assert len(facts) == 2
    for f in facts[0]:
        assert text[slice(*f.head_span)] == f.head and text[slice(*f.tail_span)] == f.tail


def test_two_stage_memorises_facts_through_marked_pairs() -> None:
    torch.set_num_threads(2)
    model, _ = train(_tiny("two-stage"), [EXAMPLE, OTHER], progress=False)
    triples = {(f.head, f.relation, f.tail) for f in model.extract([OTHER.sentence])[0]}
    assert ("A bracket", "is mounted on", "the frame") in triples


def test_loading_a_folder_that_is_not_a_model_names_it(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=str(tmp_path)):
        load_model(tmp_path)

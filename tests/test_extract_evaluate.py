"""Fact and tag scoring (hand-computed cases) and reading of reference fact files."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from extract.errors import ExtractDataError
from extract.evaluate import (
    FactScores,
    FactSentence,
    fact_sentence_from_example,
    format_table,
    group_folds,
    read_fact_file,
    score_facts,
    score_parts,
    score_tags,
)
from extract.examples import FactLabel, SentenceExample

REFERENCE = Path("/work/shared/data/patents/design_kgex_samples/selected_facts.jsonl")


def fs(sentence: str, *facts: tuple[str, str, str], key: str = "k") -> FactSentence:
    return FactSentence(key, sentence, key.split(":")[0], tuple(facts))


# ---------------------------------------------------------------------------------------------- facts


def test_normalised_drops_leading_article_case_and_whitespace() -> None:
    ref = [fs("The arm has a hook", ("The arm", "has", "a hook"))]
    pred = [fs("The arm has a hook", ("  ARM ", "has", "an   Hook"))]
    # "an Hook" -> "hook": the article is dropped whatever its spelling.
    assert score_facts(pred, ref, "normalised").tp == 1
    assert score_facts(pred, ref, "strict").tp == 0


def test_normalised_relation_keeps_articles_but_ignores_case_and_spaces() -> None:
    ref = [fs("s", ("arm", "is a part of", "frame"))]
    assert score_facts([fs("s", ("arm", "Is  A part of", "frame"))], ref, "normalised").tp == 1
    assert score_facts([fs("s", ("arm", "is part of", "frame"))], ref, "normalised").tp == 0


def test_strict_collapses_whitespace_only() -> None:
    ref = [fs("s", ("The arm", "has", "a hook"))]
    assert score_facts([fs("s", (" The  arm", "has ", "a\thook"))], ref, "strict").tp == 1
    assert score_facts([fs("s", ("the arm", "has", "a hook"))], ref, "strict").tp == 0


def test_duplicated_prediction_matches_once() -> None:
    ref = [fs("s", ("arm", "has", "hook"), ("arm", "has", "pin"))]
    pred = [fs("s", ("arm", "has", "hook"), ("the arm", "has", "hook"), ("arm", "has", "pin"))]
    s = score_facts(pred, ref, "normalised")
    # tp 2 of 3 predicted, 2 of 2 reference.
    assert (s.tp, s.predicted, s.reference) == (2, 3, 2)
    assert s.precision == pytest.approx(2 / 3)
    assert s.recall == 1.0
    assert s.f1 == pytest.approx(0.8)
    # Both copies in the reference: both match.
    ref2 = [fs("s", ("arm", "has", "hook"), ("arm", "has", "hook"))]
    assert score_facts(pred, ref2, "normalised").tp == 2


def test_missing_prediction_lowers_recall_and_unknown_sentence_is_ignored() -> None:
    ref = [
        fs("A b c", ("A", "b", "c"), ("A", "d", "e"), key="p1:0"),
        fs("X y z", ("X", "y", "z"), key="p1:1"),
    ]
    pred = [
        fs("A  b\nc", ("A", "b", "c"), ("A", "b", "e"), key="other:7"),  # paired by text, not key
        fs("Not in the reference", ("q", "r", "s"), ("t", "u", "v")),
    ]
    s = score_facts(pred, ref, "normalised")
    # Sentence 1: tp 1 of 2 predicted; sentence 2 unpredicted: 1 missed. The unknown sentence is ignored.
    assert s == FactScores(
        tp=1,
        predicted=2,
        reference=3,
        precision=0.5,
        recall=pytest.approx(1 / 3),
        f1=pytest.approx(0.4),
        sentences=2,
        unmatched_predictions=1,
    )


def test_precision_recall_f1_arithmetic() -> None:
    ref = [
        fs("s1", ("a", "r", "b"), ("a", "r", "c"), ("b", "r", "c"), ("c", "r", "d")),
        fs("s2", ("x", "r", "y"), ("x", "q", "y")),
    ]
    pred = [
        fs("s1", ("a", "r", "b"), ("a", "r", "c"), ("a", "r", "d")),
        fs("s2", ("x", "r", "y"), ("y", "r", "x"), ("x", "q", "z"), ("x", "q", "w"), ("x", "q", "v")),
    ]
    s = score_facts(pred, ref, "strict")
    # tp 2 + 1 = 3; predicted 3 + 5 = 8; reference 4 + 2 = 6.
    assert (s.tp, s.predicted, s.reference) == (3, 8, 6)
    assert s.precision == 0.375
    assert s.recall == 0.5
    assert s.f1 == pytest.approx(2 * 0.375 * 0.5 / 0.875)  # 0.428571...
    assert s.sentences == 2 and s.unmatched_predictions == 0


def test_zero_denominators_give_zero() -> None:
    empty = score_facts([], [], "normalised")
    assert (empty.precision, empty.recall, empty.f1, empty.sentences) == (0.0, 0.0, 0.0, 0)
    ref = [fs("s", ("a", "r", "b"))]
    nothing_predicted = score_facts([fs("s")], ref, "normalised")
    assert (nothing_predicted.predicted, nothing_predicted.precision, nothing_predicted.recall) == (
        0,
        0.0,
        0.0,
    )
    assert nothing_predicted.f1 == 0.0
    no_reference_facts = score_facts([fs("s", ("a", "r", "b"))], [fs("s")], "normalised")
    assert (no_reference_facts.precision, no_reference_facts.recall, no_reference_facts.f1) == (0.0, 0.0, 0.0)


def test_repeated_reference_sentence_reuses_single_prediction() -> None:
    ref = [fs("s", ("a", "r", "b"), key="p:0"), fs("s", ("a", "r", "b"), key="p:2")]
    once = score_facts([fs("s", ("a", "r", "b"))], ref, "strict")
    assert (once.tp, once.predicted, once.reference, once.unmatched_predictions) == (2, 2, 2, 0)
    thrice = score_facts([fs("s", ("a", "r", "b"))] * 3, ref, "strict")
    assert (thrice.tp, thrice.unmatched_predictions) == (2, 1)


def test_bad_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="mode"):
        score_facts([], [], "loose")  # type: ignore[arg-type]


def test_score_parts_entities_and_pairs() -> None:
    ref = [fs("s", ("The arm", "has", "a hook"), ("the arm", "carries", "pin"), ("pin", "in", "slot"))]
    pred = [fs("s", ("arm", "holds", "hook"), ("arm", "has", "slot"), ("slot", "has", "bolt"))]
    parts = score_parts(pred, ref, "normalised")
    # Entities: ref {arm, hook, pin, slot} (arm once, not once per fact), pred {arm, hook, slot, bolt}.
    assert (parts.entities.tp, parts.entities.predicted, parts.entities.reference) == (3, 4, 4)
    assert parts.entities.precision == 0.75 and parts.entities.recall == 0.75
    # Pairs: ref (arm,hook) (arm,pin) (pin,slot); pred (arm,hook) (arm,slot) (slot,bolt) -> only (arm,hook).
    assert (parts.pairs.tp, parts.pairs.predicted, parts.pairs.reference) == (1, 3, 3)
    assert score_facts(pred, ref, "normalised").tp == 0
    # Strict: "The arm"/"the arm"/"a hook" differ from "arm"/"hook"; only "slot" matches.
    strict_entities = score_parts(pred, ref, "strict").entities
    assert (strict_entities.tp, strict_entities.predicted, strict_entities.reference) == (1, 4, 5)


def test_fact_sentence_from_example() -> None:
    ex = SentenceExample(
        "US1:3", "The arm has a hook", ((0, 7), (12, 18)), (FactLabel(0, 1, ((8, 11),)),), "US1"
    )
    assert fact_sentence_from_example(ex) == FactSentence(
        "US1:3", ex.sentence, "US1", (("The arm", "has", "a hook"),)
    )


# ---------------------------------------------------------------------------------------------- folds


def test_group_folds_keeps_groups_together_and_balances_items() -> None:
    groups = ["a"] * 5 + ["b"] * 3 + ["c"] * 3 + ["d"] * 2 + ["e"] * 2 + ["f"]
    folds = group_folds(groups, k=3, seed=7)
    assert all(0 <= f < 3 for f in folds)
    fold_of: dict[str, int] = {}
    for g, f in zip(groups, folds, strict=True):
        assert fold_of.setdefault(g, f) == f
    sizes = Counter(folds)
    # Greedy to the lightest fold: no fold exceeds the lightest by more than the largest group (5).
    assert sum(sizes.values()) == 16 and max(sizes.values()) - min(sizes.values()) <= 5


def test_group_folds_by_hand() -> None:
    groups = ["x", "y", "y", "z", "z", "z"]
    order = ["x", "y", "z"]
    random.Random(3).shuffle(order)
    # Greedy: the first group to fold 0, the second to fold 1, the third to the lighter of the two.
    load = {order[0]: 0, order[1]: 1}
    sizes = {"x": 1, "y": 2, "z": 3}
    load[order[2]] = 0 if sizes[order[0]] <= sizes[order[1]] else 1
    assert group_folds(groups, k=2, seed=3) == [load[g] for g in groups]


def test_group_folds_is_deterministic_and_seeded() -> None:
    groups = [f"p{i % 12}" for i in range(60)]
    assert group_folds(groups, 4, seed=1) == group_folds(groups, 4, seed=1)
    # Item order does not change which fold a group lands in.
    reordered = list(reversed(groups))
    first = dict(zip(groups, group_folds(groups, 4, seed=1), strict=True))
    second = dict(zip(reordered, group_folds(reordered, 4, seed=1), strict=True))
    assert first == second
    assert any(group_folds(groups, 4, seed=s) != group_folds(groups, 4, seed=1) for s in range(2, 6))
    with pytest.raises(ValueError, match="k must be"):
        group_folds(groups, 0, seed=1)


# ---------------------------------------------------------------------------------------------- tags


def test_score_tags_by_hand() -> None:
    gold = [["B-ENT", "I-ENT", "REL", "B-ENT", "O"], ["B-ENT", "O", "O"]]
    pred = [["B-ENT", "O", "REL", "B-ENT", "REL"], ["I-ENT", "O", "REL"]]
    s = score_tags(gold, pred, ["B-ENT", "I-ENT", "REL", "O"])
    assert list(s) == ["B-ENT", "I-ENT", "REL", "O", "micro"]
    # B-ENT: gold 3, predicted 2, tp 2.
    assert (s["B-ENT"].tp, s["B-ENT"].predicted, s["B-ENT"].support) == (2, 2, 3)
    assert s["B-ENT"].precision == 1.0 and s["B-ENT"].recall == pytest.approx(2 / 3)
    assert s["B-ENT"].f1 == pytest.approx(0.8)
    # I-ENT: gold 1, predicted 1 (wrong word), tp 0.
    assert (s["I-ENT"].tp, s["I-ENT"].predicted, s["I-ENT"].support, s["I-ENT"].f1) == (0, 1, 1, 0.0)
    # REL: gold 1, predicted 3, tp 1.
    assert (s["REL"].precision, s["REL"].recall, s["REL"].f1) == (pytest.approx(1 / 3), 1.0, 0.5)
    # O: gold 3, predicted 2, tp 1.
    assert (s["O"].tp, s["O"].predicted, s["O"].support) == (1, 2, 3)
    # Micro over non-O: tp 3, predicted 6, support 5.
    micro = s["micro"]
    assert (micro.tp, micro.predicted, micro.support, micro.precision, micro.recall) == (3, 6, 5, 0.5, 0.6)
    assert micro.f1 == pytest.approx(6 / 11)


def test_score_tags_rejects_length_mismatch() -> None:
    with pytest.raises(ValueError, match="sentence 1"):
        score_tags([["O"], ["O", "O"]], [["O"], ["O"]], ["O"])
    with pytest.raises(ValueError, match="2 sentences"):
        score_tags([["O"], ["O"]], [["O"]], ["O"])
    empty = score_tags([], [], ["REL"])
    assert (empty["REL"].precision, empty["REL"].recall, empty["micro"].f1) == (0.0, 0.0, 0.0)


# ---------------------------------------------------------------------------------------------- files


def test_read_real_reference_file() -> None:
    if not REFERENCE.exists():
        pytest.skip(f"{REFERENCE} not present")
    rows = read_fact_file(REFERENCE)
    assert len(rows) == 110
    assert sum(len(r.facts) for r in rows) == 711
    first = rows[0]
    assert (first.key, first.group) == ("US7978247:0", "US7978247")
    assert first.facts[0] == ("The focusing information visualization system", "of", "the invention")
    assert len({r.key for r in rows}) == 110
    # The reference scores perfectly against itself in both modes.
    for mode in ("normalised", "strict"):
        s = score_facts(rows, rows, mode)  # type: ignore[arg-type]
        assert (s.tp, s.predicted, s.reference, s.f1) == (711, 711, 711, 1.0)


def test_read_prediction_format(tmp_path: Path) -> None:
    path = tmp_path / "pred.jsonl"
    lines = [
        {
            "id": "US9:4",
            "sentence": "The arm has a hook",
            "facts": [{"head": "The arm", "relation": "has", "tail": "a hook", "confidence": 0.9}],
        },
        {"sentence": "No ids here", "facts": [{"head": "a", "relationship": "", "tail": "b"}]},
        {"id": "loose", "sentence": "s", "facts": []},
        {"patent_id": "US5", "sentence": "only a patent", "facts": []},
    ]
    path.write_text(
        "\n".join(json.dumps(x) for x in lines[:2]) + "\n\n" + "\n".join(json.dumps(x) for x in lines[2:])
    )
    rows = read_fact_file(path)
    assert rows[0] == FactSentence("US9:4", "The arm has a hook", "US9", (("The arm", "has", "a hook"),))
    assert rows[1] == FactSentence("2", "No ids here", "2", (("a", "", "b"),))
    # Line 3 is blank, so these are lines 4 and 5.
    assert (rows[2].key, rows[2].group) == ("loose", "loose")
    assert (rows[3].key, rows[3].group) == ("5", "US5")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"facts": []}', "'sentence'"),
        ('{"sentence": "s"}', "'facts'"),
        ('{"sentence": "s", "facts": [{"head": "a", "tail": "b"}]}', r"'facts\[0\]' needs 'relation'"),
        (
            '{"sentence": "s", "facts": [{"head": "a", "relation": "r", "tail": "b"}, '
            '{"head": " ", "relation": "r", "tail": "b"}]}',
            r"'facts\[1\]\.head'",
        ),
        (
            '{"sentence": "s", "facts": [{"head": "a", "relation": [[0, 1]], "tail": "b"}]}',
            r"'facts\[0\]\.relation'",
        ),
        (
            '{"sentence": "s", "facts": [{"head": "a", "relation": "r", "relationship": "q", "tail": "b"}]}',
            "differ",
        ),
        ('{"id": true, "sentence": "s", "facts": []}', "'id'"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"sentence": "ok", "facts": []}\n' + line + "\n")
    with pytest.raises(ExtractDataError, match=rf"bad\.jsonl:2: .*{message}") as info:
        read_fact_file(path)
    assert info.value.where == f"{path}:2"


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ExtractDataError, match=r"missing\.jsonl: cannot read"):
        read_fact_file(tmp_path / "missing.jsonl")


# ---------------------------------------------------------------------------------------------- table


def test_format_table() -> None:
    loose = score_facts([fs("s", ("a", "r", "b"), ("a", "r", "c"))], [fs("s", ("A", "r", "b"))], "normalised")
    exact = score_facts([fs("s", ("a", "r", "b"), ("a", "r", "c"))], [fs("s", ("A", "r", "b"))], "strict")
    table = format_table([("two|stage", loose, exact)])
    assert table.splitlines() == [
        "| design | P | R | F1 (normalised) | P | R | F1 (strict) | predicted facts | reference facts |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        "| two\\|stage | 0.500 | 1.000 | 0.667 | 0.000 | 0.000 | 0.000 | 2 | 1 |",
    ]

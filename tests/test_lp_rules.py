"""Mined relation-path rules (retrieve/rules.py) and the rule reading that re-ranks a model (reader/rules.py).

Confidences are checked against hand counts on small graphs, the evidence against a brute-force application
of the mined rules, and the reading's two promises (a rule only raises a candidate; the top candidates alone
decide a query's order) on random scores.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from lp_tiny import write_tiny_kg

from reader import checkpoint
from reader.base import LinkPredictor
from reader.evaluate import evaluate_model, known_answers, model_ranks, with_inverse
from reader.kge import ComplExModel
from reader.rules import FEATURES, RuleReading, _Params, features, fit_rule_reading, out_of_fold
from reader.train import TrainConfig, train
from retrieve.data import TripleDataset, from_string_triples, load_split_dir
from retrieve.rules import CACHE_KEEP, KINDS, RuleConfig, RuleSet, cached_rules, mine_rules

EXACT = RuleConfig(laplace=0.0, min_confidence=0.0, constant_min_confidence=0.0)
"""Keep every rule with support >= 2, confidences as plain ratios: what the hand counts below assume."""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_kg(tmp_path_factory.mktemp("tiny"))


def mined(triples: list[tuple[str, str, str]], config: RuleConfig = EXACT) -> tuple[RuleSet, TripleDataset]:
    data = from_string_triples({"train": triples})
    return mine_rules(data.train, data.num_entities, data.num_relations, config), data


def rule_table(rules: RuleSet, data: TripleDataset, kind: str) -> dict[tuple[str, ...], tuple[int, int]]:
    """Rules of ``kind`` by readable atoms -> (support, body). Inverse relations read ``name^-1``."""
    r = data.num_relations

    def rel(i: int) -> str:
        return data.relations[i] if i < r else data.relations[i - r] + "^-1"

    out = {}
    for row, sup, body in zip(rules.rules[kind].tolist(), rules.support[kind], rules.body[kind], strict=True):
        if kind == "constant":
            q, c, b, d = row
            key = (rel(q), data.entities[c], rel(b), data.entities[d])
        else:
            key = tuple(rel(i) for i in row)
        out[key] = (int(sup), int(body))
    return out


def test_path1_rule_counts_pairs_joined_by_both_relations() -> None:
    rules, data = mined([("a", "born_in", "x"), ("a", "lives_in", "x"), ("b", "born_in", "y"),
                         ("b", "lives_in", "y"), ("c", "born_in", "z")])  # fmt: skip
    table = rule_table(rules, data, "path1")
    assert table[("lives_in", "born_in")] == (2, 3)  # born_in holds for 3 pairs, lives_in for 2 of them
    assert table[("born_in", "lives_in")] == (2, 2)
    assert table[("lives_in^-1", "born_in^-1")] == (2, 3)  # and read backwards
    conf = dict(zip(map(tuple, rules.rules["path1"].tolist()), rules.confidence["path1"], strict=True))
    assert conf[(1, 0)] == pytest.approx(2 / 3) and conf[(0, 1)] == pytest.approx(1.0)
    laplace = mine_rules(data.train, data.num_entities, data.num_relations,
                         RuleConfig(laplace=5.0, min_confidence=0.0))  # fmt: skip
    conf = dict(zip(map(tuple, laplace.rules["path1"].tolist()), laplace.confidence["path1"], strict=True))
    assert conf[(1, 0)] == pytest.approx(2 / (3 + 5))  # pessimistic: small bodies count for less


def test_path2_rule_counts_distinct_pairs_not_paths() -> None:
    triples = [("f1", "directed_by", "d1"), ("d1", "nationality", "us"), ("f1", "country", "us"),
               ("f2", "directed_by", "d2"), ("d2", "nationality", "us"), ("f2", "country", "us"),
               ("f3", "directed_by", "d3"), ("d3", "nationality", "fr"),
               # f1 reaches us through a second director too: still one grounding (f1, us)
               ("f1", "directed_by", "d4"), ("d4", "nationality", "us")]  # fmt: skip
    rules, data = mined(triples)
    table = rule_table(rules, data, "path2")
    assert table[("country", "directed_by", "nationality")] == (2, 3)  # (f1,us), (f2,us), (f3,fr)
    conf = {k: c for k, c in zip(table, rules.confidence["path2"], strict=True)}
    assert conf[("country", "directed_by", "nationality")] == pytest.approx(2 / 3)


def test_constant_rule_links_a_fact_to_a_fixed_answer() -> None:
    triples = [(f"p{i}", "lives_in", "paris") for i in range(4)]
    triples += [(f"p{i}", "speaks", "french") for i in range(3)] + [("p3", "speaks", "english")]
    triples += [("q", "speaks", "french")]
    rules, data = mined(triples)
    table = rule_table(rules, data, "constant")
    assert table[("speaks", "french", "lives_in", "paris")] == (3, 4)
    assert table[("lives_in", "paris", "speaks", "french")] == (3, 4)
    assert all(key[1] != key[3] for key in table)  # never d == c: that is a direct link, path1's business
    assert all(key[:2] != key[2:] for key in table)  # never the head's own fact


def test_a_self_loop_never_grounds_a_path() -> None:
    """With the loop ``y -same-> y`` a path ``x -r-> y -same-> y`` would read the head fact ``x -r-> y``
    itself as the body of ``r(X, Y) <- r(X, Z), same(Z, Y)``: a rule that always holds, and says nothing."""
    triples = [(f"x{i}", "r", f"y{i}") for i in range(4)] + [(f"y{i}", "same", f"y{i}") for i in range(4)]
    rules, data = mined(triples)
    assert rule_table(rules, data, "path2") == {}
    assert rules.evidence(np.array([[0, 0]])).dense(np.array([[0, 0]])).sum() == 0


def random_graph(seed: int, entities: int = 14, relations: int = 3, triples: int = 60) -> TripleDataset:
    rng = np.random.default_rng(seed)
    columns = (rng.integers(0, entities, triples), rng.integers(0, relations, triples),
               rng.integers(0, entities, triples))  # fmt: skip
    rows = {(f"e{h}", f"r{r}", f"e{t}") for h, r, t in zip(*columns, strict=True)}
    return from_string_triples({"train": sorted(rows)})


def brute_force(rules: RuleSet, data: TripleDataset, x: int, q: int) -> np.ndarray:
    """The best confidence of each kind naming each entity, by walking the graph rule by rule."""
    r, n = data.num_relations, data.num_entities
    facts = set()
    for h, rel, t in data.train.tolist():
        if h != t:  # rules never walk self-loops
            facts.add((h, rel, t))
            facts.add((t, rel + r, h))
    out = np.zeros((len(KINDS), n), dtype=np.float32)
    for k, kind in enumerate(KINDS):
        for row, conf in zip(rules.rules[kind].tolist(), rules.confidence[kind], strict=True):
            if row[0] != q:
                continue
            if kind == "path1":
                named = {y for y in range(n) if (x, row[1], y) in facts}
            elif kind == "path2":
                named = {y for z, y in itertools.product(range(n), range(n))
                         if (x, row[1], z) in facts and (z, row[2], y) in facts}  # fmt: skip
            else:
                named = {row[1]} if (x, row[2], row[3]) in facts else set()
            for y in named - {x}:
                out[k, y] = max(out[k, y], conf)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_evidence_is_the_best_confidence_of_the_rules_that_fire(seed: int) -> None:
    data = random_graph(seed)
    rules = mine_rules(data.train, data.num_entities, data.num_relations,
                       RuleConfig(min_support=1, constant_min_support=1, min_confidence=0.0,
                                  constant_min_confidence=0.0, laplace=1.0))  # fmt: skip
    assert all(rules.counts()[k] > 0 for k in KINDS)
    queries = np.array([(x, q) for x in range(data.num_entities) for q in range(2 * data.num_relations)])
    evidence = rules.evidence(queries[::-1], chunk=5)  # any order, groups cut in pieces
    dense = evidence.dense(queries)
    for (x, q), got in zip(queries.tolist(), dense, strict=True):
        np.testing.assert_allclose(got, brute_force(rules, data, x, q), rtol=1e-6)
    more = rules.evidence(queries[:3]).merged(rules.evidence(queries[3:10]))
    np.testing.assert_allclose(more.dense(queries[:10]), dense[:10])
    assert len(more.missing(queries)) == len(queries) - 10
    with pytest.raises(KeyError, match="no rule evidence"):
        more.dense(queries[-1:])


def test_explain_gives_rules_with_facts_that_lead_to_the_answer() -> None:
    data = random_graph(3)
    rules = mine_rules(data.train, data.num_entities, data.num_relations, RuleConfig(min_support=1))
    r = data.num_relations
    facts = {(h, rel, t) for h, rel, t in data.train.tolist()} | {
        (t, rel + r, h) for h, rel, t in data.train.tolist()
    }
    explained = 0
    for x, q in itertools.product(range(data.num_entities), range(2 * r)):
        ev = rules.evidence(np.array([[x, q]])).dense(np.array([[x, q]]))[0]
        for y in np.nonzero(ev.max(0))[0].tolist():
            found = rules.explain(x, q, y, limit=10)
            assert found, (x, q, y)
            best = max(ev[:, y])
            assert found[0].rule.confidence == pytest.approx(best)  # the most confident first
            for grounding in found:
                path = grounding.path
                assert path[0][0] == x and (path[-1][2] == y or grounding.rule.kind == "constant")
                assert all(step in facts for step in path)
                assert list(grounding.rule.relations) == [step[1] for step in path]
                explained += 1
    assert explained > 20


def test_rule_reading_only_raises_and_keeps_outsiders_below_the_top() -> None:
    data = random_graph(4)
    rules = mine_rules(data.train, data.num_entities, data.num_relations, RuleConfig(min_support=1))
    generator = torch.Generator().manual_seed(0)
    r2 = 2 * data.num_relations
    scale = torch.rand(r2, generator=generator) + 0.5
    weights = torch.rand(r2, len(FEATURES), generator=generator) * 3
    reading = RuleReading(rules, scale, weights, top=5)
    queries = torch.tensor([(x, q) for x in range(data.num_entities) for q in range(r2)])
    scores = torch.randn(len(queries), data.num_entities, generator=generator)
    out = reading.apply(queries, scores)
    scaled = scores * scale[queries[:, 1]][:, None]
    assert bool((out >= scaled - 1e-6).all())  # a rule never lowers a candidate
    top = scores.topk(5, dim=1).indices
    inside = torch.zeros_like(scores, dtype=torch.bool).scatter(1, top, True)
    assert torch.equal(out[~inside], scaled[~inside])  # outside the top: the model's order, scaled
    lowest_inside = out.masked_fill(~inside, float("inf")).min(1).values
    highest_outside = out.masked_fill(inside, float("-inf")).max(1).values
    assert bool((highest_outside <= lowest_inside).all())
    assert bool((out != scaled).any())  # and the rules did raise some
    with pytest.raises(ValueError, match="weights >= 0"):
        RuleReading(rules, scale, -weights, top=5)
    with pytest.raises(ValueError, match="do not fit"):
        RuleReading(rules, scale[:-1], weights)


def test_features_are_zero_without_a_rule_and_grow_with_confidence() -> None:
    f = features(torch.tensor([[0.0, 0.0, 0.0], [0.1, 0.2, 0.3], [0.2, 0.4, 0.6]]))
    assert f.shape == (3, len(FEATURES)) and bool((f[0] == 0).all())
    assert bool((f[2] > f[1]).all()) and bool((f[1] > f[0]).all())


class Oracle(LinkPredictor):
    """Scores every known answer of a query 1 and the rest 0: filtered, every query ranks first, so no
    rule reading can help it. A test double for the fit's keep-or-drop decision."""

    name = "oracle"

    def __init__(self, data: TripleDataset) -> None:
        super().__init__()
        self._hp = {"num_entities": data.num_entities, "num_relations": data.num_relations}
        self.known = known_answers(data)
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    def direct_scores(self, queries: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(len(queries), self._hp["num_entities"])
        for i, (e, r) in enumerate(queries.tolist()):
            out[i, torch.as_tensor(self.known.get((e, r), []), dtype=torch.long)] = 1.0
        return out


def test_fit_keeps_rules_that_help_a_weak_model(tiny: Path) -> None:
    """On the ring graph ``prev`` is ``next`` backwards and ``pair`` is symmetric, so rules name every
    held-out answer; an untrained ComplEx ranks at random."""
    data = load_split_dir(tiny)
    model = ComplExModel(data.num_entities, data.num_relations, dim=8).eval()
    rules = mine_rules(data.train, data.num_entities, data.num_relations)
    fit = fit_rule_reading(model, data, rules, penalties=[None, 1e-3])
    assert fit.reading is not None and fit.z >= 2 and fit.cv_mrr["shared"] > fit.base_mrr + 0.3
    assert bool((fit.reading.scale == 1.0).all())  # the model's scores keep their scale
    assert fit.as_json()["kept"] and set(fit.cv_mrr) == {"shared", "0.001"}
    before = evaluate_model(model, data, "test").mrr
    model.set_rule_reading(fit.reading)
    assert evaluate_model(model, data, "test").mrr > before + 0.3  # held out from the fit, too


def test_the_kept_reading_ranks_as_the_fitted_one_on_the_models_scale() -> None:
    """The fit gives each relation its own scale; the kept values divide it out: every query's scores are
    the fitted ones over a positive number, so the order is the same, and the model's scores stay as
    they are."""
    generator = torch.Generator().manual_seed(3)
    params = _Params(6, per_relation=True)
    with torch.no_grad():
        params.scale.fill_(0.4)
        params.scale_dev.copy_(torch.randn(6, generator=generator))
        params.weight_dev.copy_(torch.randn(6, len(FEATURES), generator=generator))
    (a, w), (kept_a, kept_w) = params.values(6), params.kept(6)
    assert bool((kept_a == 1.0).all()) and not bool((a == a[0]).all())
    scores = torch.randn(6, 10, generator=generator)
    found = torch.rand(6, 10, len(FEATURES), generator=generator)
    fitted = a[:, None] * scores + (found * w[:, None, :]).sum(-1)
    kept = kept_a[:, None] * scores + (found * kept_w[:, None, :]).sum(-1)
    assert torch.allclose(kept, fitted / a[:, None], atol=1e-5)
    assert torch.equal(kept.argsort(1), fitted.argsort(1))


def test_fit_drops_rules_that_cannot_help(tiny: Path) -> None:
    data = load_split_dir(tiny)
    oracle = Oracle(data)
    assert evaluate_model(oracle, data, "valid").mrr == 1.0
    rules = mine_rules(data.train, data.num_entities, data.num_relations)
    fit = fit_rule_reading(oracle, data, rules, penalties=[None])
    assert fit.reading is None and not fit.as_json()["kept"] and fit.base_mrr == 1.0


def test_a_checkpoint_keeps_its_rule_reading(tiny: Path, tmp_path: Path) -> None:
    """Training fits the reading; the saved folder scores exactly as the trained model (its rules mined
    again on load); ``update_config`` replaces or removes it."""
    data = load_split_dir(tiny)
    config = TrainConfig(model="complex", hparams={"dim": 16}, epochs=2, lr=0.05, batch_size=32, eval_limit=8)
    result = train(data, config, log=lambda _: None)
    assert result.rule_fit is not None and result.model.rule_reading is not None  # rules beat 2 epochs here
    checkpoint.save(result.model, data, tmp_path / "c", extra=checkpoint.rule_fit_entry(result.rule_fit))
    saved = checkpoint.read_config(tmp_path / "c")
    assert saved["rule_reading"]["rules"] == RuleConfig().as_json() and saved["rule_fit"]["kept"]
    loaded = checkpoint.load(tmp_path / "c", data)
    answers = known_answers(data)
    ranks = model_ranks(result.model, data, answers=answers)
    assert torch.equal(model_ranks(loaded, data, answers=answers), ranks)
    plain = checkpoint.load(tmp_path / "c", data, rules=False)
    assert plain.rule_reading is None
    checkpoint.update_config(tmp_path / "c", {}, rule_reading=None)
    assert "rule_reading" not in checkpoint.read_config(tmp_path / "c")
    assert checkpoint.load(tmp_path / "c", data).rule_reading is None
    (tmp_path / "c" / checkpoint.RULES).unlink()
    checkpoint.update_config(tmp_path / "c", {}, rule_reading=result.model.rule_reading)
    assert checkpoint.load(tmp_path / "c", data).rule_reading is not None
    (tmp_path / "c" / checkpoint.RULES).unlink()
    with pytest.raises(checkpoint.CheckpointError, match=r"rules\.safetensors: missing"):
        checkpoint.load(tmp_path / "c", data)


def test_training_can_skip_the_rule_reading(tiny: Path) -> None:
    data = load_split_dir(tiny)
    config = TrainConfig(model="complex", hparams={"dim": 8}, epochs=1, eval_limit=8, rule_reading=False)
    result = train(data, config, log=lambda _: None)
    assert result.rule_fit is None and result.model.rule_reading is None


def test_a_reading_of_another_graph_is_refused() -> None:
    data = random_graph(5)
    rules = mine_rules(data.train, data.num_entities, data.num_relations)
    model = ComplExModel(data.num_entities + 1, data.num_relations, dim=4)
    with pytest.raises(ValueError, match="rule reading's graph"):
        model.set_rule_reading(RuleReading.constant(rules, 1.0))


def test_cached_rules_are_read_back_and_pruned(tmp_path: Path) -> None:
    data = random_graph(6)
    args = (data.train, data.num_entities, data.num_relations)
    first = cached_rules(*args, RuleConfig(), fingerprint="aaaa", cache_dir=tmp_path)
    files = list(tmp_path.glob("rules-*.npz"))
    assert len(files) == 1
    again = cached_rules(*args, RuleConfig(), fingerprint="aaaa", cache_dir=tmp_path)
    for kind in KINDS:  # read back, not mined: the same rules
        np.testing.assert_array_equal(again.rules[kind], first.rules[kind])
        np.testing.assert_array_equal(again.confidence[kind], first.confidence[kind])
    assert RuleSet.load(files[0], data.train, "bbbb") is None  # another dataset's file is not used
    assert RuleSet.load(files[0], data.train, "aaaa", RuleConfig(laplace=1.0)) is None
    files[0].write_bytes(b"not a zip")  # a broken file is mined again and replaced
    mended = cached_rules(*args, RuleConfig(), fingerprint="aaaa", cache_dir=tmp_path)
    assert mended.counts() == first.counts()
    for i in range(6):
        cached_rules(*args, RuleConfig(laplace=float(i)), fingerprint="aaaa", cache_dir=tmp_path)
    assert len(list(tmp_path.glob("rules-*.npz"))) == CACHE_KEEP


def test_evidence_at_candidates_reads_the_same_as_the_dense_rows() -> None:
    data = random_graph(7)
    rules = mine_rules(data.train, data.num_entities, data.num_relations, RuleConfig(min_support=1))
    queries = np.array([(x, q) for x in range(data.num_entities) for q in range(2 * data.num_relations)])
    evidence = rules.evidence(queries)
    candidates = np.random.default_rng(0).integers(0, data.num_entities, size=(len(queries), 5))
    dense = evidence.dense(queries)
    expected = np.take_along_axis(dense, candidates[:, None, :].repeat(len(KINDS), 1), axis=2)
    np.testing.assert_array_equal(evidence.at(queries, candidates), expected.transpose(0, 2, 1))
    assert expected.any()


def test_path2_counts_sparsely_with_many_relations() -> None:
    """Thousands of relations (free-text relation keys of an extracted graph): the same rules as a hand
    count, without an r x r table per relation."""
    triples = [(f"a{i}", f"r{i}", f"b{i}") for i in range(1500)]  # 1,500 relations, each once
    triples += [(f"x{i}", "p", f"z{i}") for i in range(3)] + [(f"z{i}", "q", f"y{i}") for i in range(3)]
    triples += [(f"x{i}", "s", f"y{i}") for i in range(2)]
    rules, data = mined(triples)
    assert rule_table(rules, data, "path2")[("s", "p", "q")] == (2, 3)


def test_out_of_fold_scores_each_fitted_query_with_the_reading_that_did_not_see_it(tiny: Path) -> None:
    """What is fitted after the rules (the temperature) must see valid as a fresh split would: each valid
    query scored by the fold reading fitted without it; other queries by the kept reading."""
    data = load_split_dir(tiny)
    model = ComplExModel(data.num_entities, data.num_relations, dim=8).eval()
    rules = mine_rules(data.train, data.num_entities, data.num_relations)
    fit = fit_rule_reading(model, data, rules, penalties=[None])
    assert fit.reading is not None and len(fit.folds) == 2
    first, second = (set(keys.tolist()) for keys, _ in fit.folds)
    r2 = 2 * data.num_relations
    valid = {e * r2 + r for e, r in with_inverse(data.valid, data.num_relations)[:, :2].tolist()}
    assert first | second == valid and not first & second  # folds of query keys, all of valid
    crossed = fit.out_of_fold()
    assert crossed is not None
    queries = torch.tensor([(k // r2, k % r2) for k in sorted(valid)] + [(0, 0), (1, 2)])
    with torch.no_grad():
        scores = model.base_scores(queries)
        got = crossed.apply(queries, scores)
        for i, (e, r) in enumerate(queries.tolist()):
            key = e * r2 + r
            reading = next((rd for keys, rd in fit.folds if key in set(keys.tolist())), fit.reading)
            assert torch.allclose(got[i], reading.apply(queries[i : i + 1], scores[i : i + 1])[0])
    own = RuleReading.constant(rules, 1.0)
    model.set_rule_reading(own)
    with out_of_fold(model, fit):
        assert model.rule_reading is not own and isinstance(model.rule_reading, RuleReading)
    assert model.rule_reading is own
    with out_of_fold(model, None):
        assert model.rule_reading is own

"""Link predictors: 1-vs-all scoring matches PyG, training learns the tiny graph, checkpoints round-trip,
and the ``factloom lp`` commands work end to end (tiny models, CPU, a few seconds each)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from conftest import REPO
from lp_tiny import write_tiny_kg
from safetensors.torch import load_file
from torch_geometric.nn import kge

from app.errors import ConfigError
from app.lp import build_config, evaluate_checkpoint, find_entity, find_relation, predict
from reader import checkpoint
from reader import train as train_module
from reader.checkpoint import CheckpointError
from reader.evaluate import evaluate_model
from reader.graph_reader import GraphReader
from reader.kge import ComplExModel, RotatEModel
from reader.presets import PRESETS, continued
from reader.registry import MODELS
from reader.train import TrainConfig, TrainResult, lr_factor, make_optimizer, save_run, train
from retrieve.data import TripleDataset, load_split_dir
from retrieve.store_data import split_triples

RANDOM_MRR = 0.15  # filtered MRR of random scores on the tiny graph is about 0.1


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_kg(tmp_path_factory.mktemp("tiny"))


def test_complex_scores_match_pyg_forward() -> None:
    model = ComplExModel(7, 3, dim=8, dropout=0.0).eval()
    q = torch.tensor([[0, 1], [3, 5], [6, 2]])
    all_scores = model.score(q)
    for i, (h, r) in enumerate(q.tolist()):
        tails = torch.arange(7)
        expected = model.kge(torch.full((7,), h), torch.full((7,), r), tails)
        assert torch.allclose(all_scores[i], expected, atol=1e-5)


def test_rotate_scores_match_pyg_forward() -> None:
    model = RotatEModel(7, 3, dim=8, margin=6.0).eval()
    q = torch.tensor([[0, 1], [3, 5]])
    all_scores = model.score(q)
    for i, (h, r) in enumerate(q.tolist()):
        expected = model.kge(torch.full((7,), h), torch.full((7,), r), torch.arange(7))
        assert torch.allclose(all_scores[i], expected, atol=1e-4)


def test_reader_complex_shortcut_is_complex_algebra() -> None:
    reader = GraphReader(7, 3, dim=8, shortcut="complex", shortcut_init="identity").eval()
    e, r = reader.entity.weight.detach(), torch.randn(6, 8)
    one = reader.diag.weight[:1].detach().expand(7, -1)  # every relation starts as 1 + 0i
    assert torch.allclose(reader._kge(e, one), e)
    pyg = kge.ComplEx(7, 6, 4)
    with torch.no_grad():
        pyg.node_emb.weight.copy_(e[:, :4])
        pyg.node_emb_im.weight.copy_(e[:, 4:])
        pyg.rel_emb.weight.copy_(r[:, :4])
        pyg.rel_emb_im.weight.copy_(r[:, 4:])
    heads, rels, tails = torch.tensor([0, 3, 6]), torch.tensor([1, 5, 2]), torch.tensor([2, 2, 4])
    ours = (reader._kge(e[heads], r[rels]) * e[tails]).sum(-1)
    assert torch.allclose(ours, pyg(heads, rels, tails), atol=1e-5)


def test_reader_shortcut_settings() -> None:
    assert GraphReader(5, 2, dim=8, bilinear=True).hparams()["shortcut"] == "distmult"  # older checkpoints
    with pytest.raises(ValueError, match="shortcut must be one of"):
        GraphReader(5, 2, dim=8, shortcut="transe")
    with pytest.raises(ValueError, match="even dim"):
        GraphReader(5, 2, dim=9, heads=1, shortcut="complex")


def test_shortcut_init_identity_makes_each_entity_its_own_answer() -> None:
    queries = torch.stack([torch.arange(50), torch.zeros(50, dtype=torch.long)], 1)
    top = {}
    for init in ("identity", "random"):
        torch.manual_seed(0)
        reader = GraphReader(50, 2, dim=32, heads=2, shortcut="complex", shortcut_init=init)
        reader.set_kge_only(True)
        top[init] = (reader.score(queries).argmax(1) == queries[:, 0]).float().mean().item()
    assert top["identity"] == 1.0 and top["random"] < 0.5
    with pytest.raises(ValueError, match="shortcut_init"):
        GraphReader(5, 2, dim=8, shortcut="complex", shortcut_init="zeros")


def test_embedding_tables_get_their_own_rate(tiny: Path) -> None:
    data = load_split_dir(tiny)
    config = TrainConfig(model="reader", hparams={"dim": 16, "heads": 2, "ffn": 32, "shortcut": "complex"},
                         epochs=1, lr=1e-3, embedding_lr=1e-2, batch_size=64, eval_limit=10)  # fmt: skip
    model = MODELS["reader"].build(data, **config.hparams)
    tables, rest = make_optimizer(config, model).param_groups
    assert (tables["base_lr"], rest["base_lr"]) == (1e-2, 1e-3)
    assert {id(p) for p in tables["params"]} == {
        id(m.weight) for m in (model.entity, model.relation, model.token_type, model.diag)
    }
    assert len(tables["params"]) + len(rest["params"]) == len(list(model.parameters()))
    config.embedding_lr = None
    (only,) = make_optimizer(config, model).param_groups
    assert only["base_lr"] == 1e-3


def test_kge_only_reader_scores_exactly_like_its_shortcut(tiny: Path) -> None:
    data = load_split_dir(tiny)
    reader = MODELS["reader"].build(data, dim=16, heads=2, ffn=32, shortcut="complex").eval()
    queries = torch.tensor([[0, 0], [3, 1]])
    reader.prepare(queries.numpy())
    before = reader.score(queries)
    reader.set_kge_only(True)  # zeroes the reader's output layer
    kge_only = reader.score(queries)
    e, r = reader.entity(queries[:, 0]), reader.diag(queries[:, 1])
    assert torch.allclose(kge_only, reader._kge(e, r) @ reader.entity.weight.T + reader.bias)
    reader.set_kge_only(False)
    assert torch.allclose(reader.score(queries), kge_only, atol=1e-5)  # reader term is exactly 0 now
    assert not torch.allclose(before, kge_only)  # ... and was not before
    with pytest.raises(ValueError, match="needs a shortcut"):
        MODELS["reader"].build(data, dim=16, heads=2, ffn=32).set_kge_only(True)
    with pytest.raises(ValueError, match="no KGE shortcut"):
        MODELS["complex"].build(data, dim=8).set_kge_only(True)


def train_watching(
    data: TripleDataset, config: TrainConfig, watch: Callable[[Any], None], log: Callable[[str], None]
) -> TrainResult:
    """``train`` with ``watch(reader)`` called before each of the reader's training steps."""
    reader_cls = MODELS["reader"]
    original = reader_cls.training_terms

    def spy(self, queries, answers):  # type: ignore[no-untyped-def]
        watch(self)
        return original(self, queries, answers)

    reader_cls.training_terms = spy  # type: ignore[method-assign]
    try:
        return train(data, config, log=log)
    finally:
        reader_cls.training_terms = original  # type: ignore[method-assign]


def test_kge_warmup_trains_tables_first_then_the_reader(tiny: Path) -> None:
    data = load_split_dir(tiny)
    config = TrainConfig(model="reader", hparams={"dim": 16, "heads": 2, "ffn": 32, "shortcut": "complex"},
                         epochs=8, lr=1e-3, embedding_lr=1e-2, batch_size=16, warmup_steps=3,
                         kge_warmup=0.5, eval_limit=10, eval_every_minutes=1e-4)  # fmt: skip
    lines: list[str] = []
    seen: list[tuple[bool, float]] = []

    def watch(r: Any) -> None:
        seen.append((r.kge_only, r.query.layers[0].linear1.weight.abs().sum().item()))

    result = train_watching(data, config, watch, log=lines.append)
    steps_per_epoch = -(-2 * len(data.train) // 16)
    switch = next(i for i, (kge_only, _) in enumerate(seen) if not kge_only)
    assert switch == 4 * steps_per_epoch  # half of 8 epochs as KGE alone
    assert all(kge_only for kge_only, _ in seen[:switch]) and not any(k for k, _ in seen[switch:])
    assert seen[0][1] == seen[switch][1] != seen[-1][1]  # the layers stay frozen, then train
    assert any("the reader joins the KGE shortcut" in line for line in lines)
    assert not result.model.kge_only and 0.0 < result.best_valid.mrr <= 1.0
    with pytest.raises(ValueError, match="kge_warmup must be in"):
        train(data, TrainConfig(model="reader", kge_warmup=1.0), log=lambda _: None)


def test_freeze_kge_on_join_fixes_the_tables_and_trains_the_layers(tiny: Path) -> None:
    data = load_split_dir(tiny)
    config = TrainConfig(model="reader", hparams={"dim": 16, "heads": 2, "ffn": 32, "shortcut": "complex"},
                         epochs=6, lr=1e-3, embedding_lr=1e-2, batch_size=16, kge_warmup=0.5,
                         freeze_kge_on_join=True, eval_limit=10)  # fmt: skip
    seen: list[tuple[bool, float, float, float]] = []

    def watch(r: Any) -> None:
        seen.append((r.kge_only, r.entity.weight.sum().item(), r.diag.weight.sum().item(),
                     r.query.layers[0].linear1.weight.sum().item()))  # fmt: skip

    result = train_watching(data, config, watch, log=lambda _: None)
    switch = next(i for i, row in enumerate(seen) if not row[0])
    assert seen[0][1:3] != seen[switch][1:3]  # the tables trained in the KGE-only stage
    assert all(row[1:3] == seen[switch][1:3] for row in seen[switch:])  # and not after the join
    assert seen[switch][3] != seen[-1][3]  # while the layers did
    assert all(p.requires_grad for p in result.model.kge_parameters())  # trainable again for whoever's next
    with pytest.raises(ValueError, match="freeze_kge_on_join needs kge_warmup > 0 or init_checkpoint"):
        train(data, TrainConfig(model="reader", freeze_kge_on_join=True), log=lambda _: None)
    with pytest.raises(ValueError, match="no KGE shortcut"):
        MODELS["complex"].build(data, dim=8).kge_parameters()


def test_reader_dropout_skips_the_reader_for_some_training_queries_only(tiny: Path) -> None:
    data = load_split_dir(tiny)
    torch.manual_seed(0)
    reader = MODELS["reader"].build(data, dim=16, heads=2, ffn=32, shortcut="complex", reader_dropout=0.5)
    queries = torch.as_tensor(data.train[:40, :2])
    answers = torch.as_tensor(data.train[:40, 2])
    read_sizes: list[int] = []
    original = reader._read

    def counting(queries: torch.Tensor, exclude: np.ndarray | None) -> torch.Tensor:
        read_sizes.append(len(queries))
        return original(queries, exclude)

    reader._read = counting  # type: ignore[method-assign]
    kge_only = reader._scores(reader._shortcut(queries))  # shortcut dropout is 0: deterministic
    scores, cubes = reader.train().training_terms(queries, answers)
    kept = ~torch.isclose(scores, kge_only, atol=1e-6).all(dim=1)  # rows that got a reader term
    assert 0 < read_sizes[-1] == int(kept.sum()) < 40  # about half of the rows, the others KGE alone
    assert cubes.shape == (read_sizes[-1], 8)  # one cube per complex dimension of each term read
    reader.eval().score(queries)
    assert read_sizes[-1] == 40  # scoring outside training reads every query
    with pytest.raises(ValueError, match="reader_dropout must be in"):
        GraphReader(5, 2, dim=8, shortcut="complex", reader_dropout=1.0)
    with pytest.raises(ValueError, match="reader_dropout needs a shortcut"):
        GraphReader(5, 2, dim=8, reader_dropout=0.5)


def test_reader_n3_shrinks_the_reader_term_and_starts_finite(tiny: Path) -> None:
    data = load_split_dir(tiny)
    queries, answers = torch.as_tensor(data.train[:, :2]), torch.as_tensor(data.train[:, 2])
    hparams = {"dim": 16, "heads": 2, "ffn": 32, "shortcut": "complex", "dropout": 0.0}

    def reader_term_norm(weight: float) -> float:
        config = TrainConfig(model="reader", hparams=hparams, epochs=8, lr=1e-2, batch_size=32,
                             eval_limit=10, reader_n3=weight)  # fmt: skip
        model = train(data, config, log=lambda _: None).model
        with torch.no_grad():
            return float(model.training_terms(queries, answers)[1].sum())

    assert reader_term_norm(1.0) < 0.5 * reader_term_norm(0.0)
    reader = MODELS["reader"].build(data, **hparams)
    reader.set_kge_only(True)
    reader.set_kge_only(False)  # the reader term is exactly 0 here, where a modulus has no gradient
    reader.training_terms(queries[:8], answers[:8])[1].sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in reader.out.parameters())
    with pytest.raises(ValueError, match="reader_n3 penalises the reader"):
        train(data, TrainConfig(model="complex", reader_n3=0.1), log=lambda _: None)


def test_n3_factors_are_complex_moduli(tiny: Path) -> None:
    q, t = torch.tensor([[0, 1], [3, 5]]), torch.tensor([2, 6])
    complex_model = ComplExModel(7, 3, dim=4)
    h_abs, r_abs, t_abs = complex_model.factors(q, t)
    m = complex_model.kge
    assert torch.allclose(h_abs**2, m.node_emb.weight[[0, 3]] ** 2 + m.node_emb_im.weight[[0, 3]] ** 2)
    assert torch.allclose(r_abs**2, m.rel_emb.weight[[1, 5]] ** 2 + m.rel_emb_im.weight[[1, 5]] ** 2)
    assert torch.allclose(t_abs**2, m.node_emb.weight[[2, 6]] ** 2 + m.node_emb_im.weight[[2, 6]] ** 2)
    reader = GraphReader(7, 3, dim=8, shortcut="complex")
    e = reader.entity.weight
    assert torch.allclose(reader.factors(q, t)[2] ** 2, e[[2, 6], :4] ** 2 + e[[2, 6], 4:] ** 2)
    assert reader.factors(q, t)[1].shape == (2, 4)
    distmult = GraphReader(7, 3, dim=8, shortcut="distmult")
    assert torch.equal(distmult.factors(q, t)[0], distmult.entity.weight[[0, 3]].abs())
    data = load_split_dir(tiny)  # models without factors are refused before any training
    for name, hparams in (("rotate", {"dim": 8}), ("reader", {"dim": 16, "heads": 2, "ffn": 32})):
        with pytest.raises(ValueError, match="N3"):
            train(data, TrainConfig(model=name, hparams=hparams, n3=0.1), log=lambda _: None)
    with pytest.raises(ValueError, match="relation_prediction must be >= 0"):
        train(data, TrainConfig(model="complex", n3=-1.0), log=lambda _: None)


@pytest.mark.parametrize(("setting", "ratio"), [("n3", 0.5), ("relation_prediction", 0.75)])
def test_each_regulariser_lowers_what_it_targets(tiny: Path, setting: str, ratio: float) -> None:
    """N3 shrinks ``Σ|f|³``; relation prediction lowers the relation loss (whose floor here is ln 2, not 0:
    each entity pair of the tiny graph holds two relations, ``next`` and the inverse of ``prev``)."""
    data = load_split_dir(tiny)
    triples = torch.as_tensor(data.train)

    def target(weight: float) -> float:
        config = TrainConfig(model="complex", hparams={"dim": 16, "dropout": 0.0}, epochs=40, lr=0.05,
                             eval_limit=10, **{setting: weight})  # fmt: skip
        model = train(data, config, log=lambda _: None).model
        with torch.no_grad():
            if setting == "n3":
                return sum(float(f.pow(3).sum()) for f in model.factors(triples[:, :2], triples[:, 2]))
            scores = model.relation_scores(triples[:, 0], triples[:, 2])
            return float(torch.nn.functional.cross_entropy(scores, triples[:, 1]))

    assert target(0.5) < ratio * target(0.0)


def test_relation_scores_are_the_models_own_scores(tiny: Path) -> None:
    heads, rels, tails = torch.tensor([0, 3, 6]), torch.tensor([1, 5, 2]), torch.tensor([2, 2, 4])
    complex_model = ComplExModel(7, 3, dim=4, dropout=0.0).eval()
    by_relation = complex_model.relation_scores(heads, tails)
    assert by_relation.shape == (3, 6)
    for r in range(6):  # column r is the 1-vs-all score of (h, r) at t
        expected = complex_model.score(torch.stack([heads, torch.full_like(heads, r)], 1))[range(3), tails]
        assert torch.allclose(by_relation[:, r], expected, atol=1e-5)
    for shortcut in ("complex", "distmult"):
        reader = GraphReader(7, 3, dim=8, shortcut=shortcut)
        with torch.no_grad():
            reader.diag.weight.normal_()
        e = reader.entity.weight
        expected = (reader._kge(e[heads], reader.diag.weight[rels]) * e[tails]).sum(-1)
        assert torch.allclose(reader.relation_scores(heads, tails)[range(3), rels], expected, atol=1e-5)
    data = load_split_dir(tiny)
    with pytest.raises(ValueError, match="relation prediction"):
        train(
            data, TrainConfig(model="rotate", hparams={"dim": 8}, relation_prediction=1.0), log=lambda _: None
        )


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_builds_a_model_that_scores(tiny: Path, preset: str) -> None:
    data = load_split_dir(tiny)
    config = build_config(PRESETS[preset].get("model", preset), preset=preset)
    model = MODELS[config.model].build(data, **config.hparams)
    q, answers = torch.tensor([[0, 0], [3, 4]]), torch.tensor([1, 2])
    assert model.score(q).shape == (2, data.num_entities)
    if config.kge_warmup:
        model.set_kge_only(True)
    if config.n3:
        assert len(model.factors(q, answers)) == 3
    if config.relation_prediction:
        assert model.relation_scores(q[:, 0], answers).shape == (2, 2 * data.num_relations)


@pytest.mark.parametrize("path", sorted((REPO / "bench" / "configs").glob("*.json")), ids=lambda p: p.stem)
def test_every_bench_config_builds_a_model_that_scores(tiny: Path, path: Path) -> None:
    """``bench/configs/`` holds the settings of recorded runs (the shipped reader's among them)."""
    data = load_split_dir(tiny)
    settings = json.loads(path.read_text())
    preset = settings["preset"]  # so `lp train --config FILE` alone reproduces the run
    config = build_config(PRESETS[preset].get("model", preset), config_file=path)
    assert config.hparams == {**PRESETS[preset]["hparams"], **settings.get("hparams", {})}
    model = MODELS[config.model].build(data, **config.hparams)
    assert model.score(torch.tensor([[0, 0], [3, 4]])).shape == (2, data.num_entities)


@pytest.mark.parametrize(
    "path", sorted((REPO / "bench" / "configs" / "warm-start").glob("*.json")), ids=lambda p: p.stem
)
def test_every_warm_start_config_overrides_the_checkpoints_settings(path: Path) -> None:
    """``bench/configs/warm-start/`` holds ``lp train --init CKPT --config FILE`` overlays: no preset (the
    checkpoint's own run settings are their base) and nothing that shapes a weight."""
    settings = json.loads(path.read_text())
    assert not {"preset", "hparams", "model"} & set(settings)
    shipped = REPO / "models" / "lp" / "fb15k-237-reader"
    config = build_config(None, config_file=path, init=shipped, overrides={"budget_minutes": 1})
    assert config.init_checkpoint == str(shipped) and config.budget_minutes == 1
    assert {key: getattr(config, key) for key in settings} == settings


@pytest.mark.parametrize("name", ["complex", "rotate", "reader"])
def test_training_beats_chance_on_tiny_graph(tiny: Path, name: str) -> None:
    data = load_split_dir(tiny)
    settings = {  # model: (epochs, lr, hparams): small and fast, each checked to learn
        "complex": (40, 0.01, {"dim": 32}),
        "rotate": (100, 0.05, {"dim": 32}),
        "reader": (25, 0.005, {"dim": 32, "ffn": 64}),
    }
    epochs, lr, hparams = settings[name]
    config = build_config(name, overrides={"epochs": epochs, "lr": lr, "eval_limit": 100, "warmup_steps": 0})
    config.hparams.update(hparams)
    result = train(data, config, log=lambda _: None)
    assert result.best_valid is not None and result.best_valid.mrr > RANDOM_MRR
    assert result.epochs == pytest.approx(config.epochs)


@pytest.mark.parametrize("mode", ["graph", "fused"])
def test_reader_token_modes_learn(tiny: Path, mode: str) -> None:
    data = load_split_dir(tiny)
    hparams = {
        "dim": 32,
        "heads": 2,
        "ffn": 64,
        "token_mode": mode,
        "retriever": "bfs",
        "context_layers": 1 if mode == "graph" else 0,
        "retriever_args": {"max_edges": 8, "per_node": 4},
    }
    config = TrainConfig(model="reader", hparams=hparams, epochs=25, lr=0.005, batch_size=64, eval_limit=100)
    result = train(data, config, log=lambda _: None)
    assert result.best_valid is not None and result.best_valid.mrr > RANDOM_MRR
    with pytest.raises(ValueError, match="token_mode"):
        GraphReader(5, 2, token_mode="dense")


def test_narrow_reader_learns_and_round_trips(tiny: Path, tmp_path: Path) -> None:
    """``inner_dim``: layers narrower than the tables; the output vector comes back at the tables' width."""
    data = load_split_dir(tiny)
    hparams = {"dim": 32, "inner_dim": 8, "heads": 2, "ffn": 16, "token_mode": "fused", "context_layers": 0,
               "shortcut": "complex", "retriever_args": {"max_edges": 8}}  # fmt: skip
    config = TrainConfig(model="reader", hparams=hparams, epochs=25, lr=0.005, batch_size=64, eval_limit=100)
    result = train(data, config, log=lambda _: None)
    reader = result.model
    assert isinstance(reader, GraphReader)
    assert reader.entity.weight.shape[1] == 32 and reader.relation.weight.shape[1] == 8
    assert result.best_valid is not None and result.best_valid.mrr > RANDOM_MRR
    checkpoint.save(reader, data, tmp_path / "narrow")
    loaded = checkpoint.load(tmp_path / "narrow", data)
    q = torch.tensor([[0, 0], [5, 2]])
    assert torch.allclose(loaded.score(q), reader.score(q), atol=1e-6)
    graph_mode = GraphReader.build(data, dim=16, inner_dim=8, heads=2, ffn=16, context_layers=1)
    graph_mode.prepare(q.numpy())
    assert graph_mode.score(q).shape == (2, data.num_entities)  # graph tokens go through ``down`` too
    with pytest.raises(ValueError, match="multiple of heads"):
        GraphReader(5, 2, dim=32, inner_dim=6, heads=4)


def test_reader_training_excludes_target_edge(tiny: Path) -> None:
    data = load_split_dir(tiny)
    model = GraphReader.build(
        data, dim=16, heads=2, ffn=32, retriever="onehop", retriever_args={"max_edges": 8}
    )
    h, r, t = data.train[0].tolist()
    model.prepare(np.array([[h, r]]))
    assert model.cache is not None
    with_target = model.cache.batch(np.array([[h, r]]))
    without = model.cache.batch(np.array([[h, r]]), np.array([model._edge_ids[(h, r, t)]]))
    assert with_target.edge_mask.sum() == without.edge_mask.sum() + 1
    scores = model.training_scores(torch.tensor([[h, r]]), torch.tensor([t]))
    assert scores.shape == (1, data.num_entities)


def test_budget_stops_training(tiny: Path) -> None:
    data = load_split_dir(tiny)
    config = TrainConfig(
        model="complex", hparams={"dim": 16}, epochs=10_000, budget_minutes=0.02, batch_size=8
    )
    result = train(data, config, log=lambda _: None)
    assert result.epochs < 10_000  # stopped by the 1.2 s budget, not by the epochs
    assert result.minutes < 0.2  # generous: a busy CI machine may overshoot by a step or an evaluation


def test_checkpoint_roundtrip_and_dataset_check(tiny: Path, tmp_path: Path) -> None:
    data = load_split_dir(tiny)
    result = train(data, build_config("complex", overrides={"epochs": 5}), log=lambda _: None)
    checkpoint.save(result.model, data, tmp_path / "ckpt")
    loaded = checkpoint.load(tmp_path / "ckpt", data)
    q = torch.tensor([[0, 0], [5, 2]])
    assert torch.allclose(loaded.score(q), result.model.score(q))
    other = load_split_dir(REPO / "tests" / "fixtures" / "kg" / "fb15k-237-slice")
    differs = r"differs from .*entities: 40 trained, \d+ now; \d+ new \(e\.g\. '/m/.*, 40 gone \(e\.g\. 'e"
    with pytest.raises(CheckpointError, match=differs + ".*; relations: 3 trained"):
        checkpoint.load(tmp_path / "ckpt", other)
    with pytest.raises(CheckpointError, match="not a checkpoint folder"):
        checkpoint.load(tmp_path, data)


def test_failed_save_leaves_the_previous_checkpoint_whole(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = load_split_dir(tiny)
    first = train(data, build_config("complex", overrides={"epochs": 1}), log=lambda _: None)
    target = tmp_path / "ckpt"
    checkpoint.save(first.model, data, target, metrics={"run": 1})
    (target / "MODEL_CARD.md").write_text("kept")
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    second = train(data, build_config("complex", overrides={"epochs": 1, "seed": 1}), log=lambda _: None)

    def disk_full(state: dict, path: str) -> None:  # fault injection: the weights are half written
        Path(path).write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint, "save_file", disk_full)
    with pytest.raises(OSError, match="No space"):
        checkpoint.save(second.model, data, target, metrics={"run": 2})
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before  # no new weights, no temp files
    q = torch.tensor([[0, 0], [5, 2]])
    assert torch.allclose(checkpoint.load(target, data).score(q), first.model.score(q))
    checkpoint.save(second.model, data, target, metrics={"run": 2})  # succeeds: replaced, card kept
    assert torch.allclose(checkpoint.load(target, data).score(q), second.model.score(q))
    assert json.loads((target / "metrics.json").read_text()) == {"run": 2}
    assert (target / "MODEL_CARD.md").read_text() == "kept"


def test_warm_start_begins_from_the_checkpoints_weights(tiny: Path, tmp_path: Path) -> None:
    data = load_split_dir(tiny)
    # no rule reading: the start's score below is the weights' own, and so must be the first run's
    first = train(data, build_config("complex", overrides={"epochs": 5, "rule_reading": False}),
                  log=lambda _: None)  # fmt: skip
    checkpoint.save(first.model, data, tmp_path / "ckpt")
    config = build_config(None, init=tmp_path / "ckpt",
                          overrides={"epochs": 1, "lr": 0.0, "rule_reading": False})  # fmt: skip
    assert (config.model, config.init_checkpoint, config.hparams["dim"]) == (
        "complex",
        str(tmp_path / "ckpt"),
        128,
    )
    again = train(data, config, log=lambda _: None)  # lr 0: Adam leaves the loaded weights as they are
    assert [h["epoch"] for h in again.history] == [0.0, 1.0]  # the start is scored, then the end
    assert (
        again.history[0]["valid_mrr"] == again.history[1]["valid_mrr"] == pytest.approx(first.best_valid.mrr)
    )
    q = torch.tensor([[0, 0], [5, 2]])
    assert torch.equal(again.model.score(q), first.model.score(q))
    fresh = train(
        data, TrainConfig(model="complex", hparams={"dim": 128}, epochs=1, lr=0.0), log=lambda _: None
    )
    assert not torch.allclose(fresh.model.score(q), first.model.score(q))
    # a weightless setting may change; a weight's shape, the model, the dataset or a preset may not
    changed = TrainConfig(
        model="complex", hparams={"dropout": 0.0}, epochs=1, init_checkpoint=config.init_checkpoint
    )
    assert train(data, changed, log=lambda _: None).epochs == 1
    with pytest.raises(CheckpointError, match="dim 128 -> 64"):
        train(data, TrainConfig(model="complex", hparams={"dim": 64}, init_checkpoint=config.init_checkpoint))
    with pytest.raises(CheckpointError, match="holds a 'complex' model, not 'rotate'"):
        train(data, TrainConfig(model="rotate", init_checkpoint=config.init_checkpoint))
    with pytest.raises(ConfigError, match="holds a 'complex' model, not 'rotate'"):
        build_config("rotate", init=tmp_path / "ckpt")
    other = load_split_dir(REPO / "tests" / "fixtures" / "kg" / "fb15k-237-slice")
    with pytest.raises(CheckpointError, match=r"differs from .*entities: 40 trained"):
        train(other, TrainConfig(model="complex", init_checkpoint=config.init_checkpoint))
    named = tmp_path / "preset.json"
    named.write_text('{"preset": "complex-n3rp"}')
    with pytest.raises(ConfigError, match="warm start"):
        build_config(None, init=tmp_path / "ckpt", config_file=named)


def saved_reader(data: TripleDataset, folder: Path, hparams: dict[str, Any]) -> TrainResult:
    """A ``reader`` with ``hparams`` trained 3 epochs (valid subset 50), saved as checkpoint ``folder``;
    no rule reading, so its valid scores are its weights' own, as a warm start scores its start."""
    settings = folder.with_suffix(".json")
    settings.write_text(json.dumps({"hparams": hparams, "eval_limit": 50, "rule_reading": False}))
    config = build_config("reader", config_file=settings, overrides={"epochs": 3})
    first = train(data, config, log=lambda _: None)
    checkpoint.save(first.model, data, folder)
    return first


def test_warm_start_with_a_kge_stage_scores_its_start_as_saved(tiny: Path, tmp_path: Path) -> None:
    """The KGE-only stage zeroes the reader's output layer: the start must be scored, and kept as a
    candidate, before that, or a polish run could return less than the checkpoint it began from."""
    data = load_split_dir(tiny)
    first = saved_reader(data, tmp_path / "ckpt", {"dim": 16, "ffn": 32})
    # rates 0: nothing moves; an empty grid keeps the checkpoint's reverse_weight, so scores compare
    frozen = {"epochs": 2, "lr": 0.0, "embedding_lr": 0.0, "kge_warmup": 0.5, "reverse_grid": [],
              "rule_reading": False}  # fmt: skip
    again = train(data, build_config(None, init=tmp_path / "ckpt", overrides=frozen), log=lambda _: None)
    as_saved = evaluate_model(first.model, data, "valid", limit=50, seed=0).mrr
    start, join = again.history[0]["valid_mrr"], again.history[1]["valid_mrr"]
    assert start == pytest.approx(as_saved) and join != pytest.approx(as_saved)  # the join is KGE-only
    best = max(h["valid_mrr"] for h in again.history)  # the best candidate is what training returns
    assert evaluate_model(again.model, data, "valid", limit=50, seed=0).mrr == pytest.approx(best)


def test_warm_start_frozen_from_the_first_step_trains_the_layers_alone(tiny: Path, tmp_path: Path) -> None:
    """``freeze_kge_on_join`` without a KGE stage on a warm start: the reader goes on training on the
    checkpoint's tables as they are, its output layer kept (no stage zeroes it)."""
    data = load_split_dir(tiny)
    first = saved_reader(data, tmp_path / "ckpt", {"dim": 16, "ffn": 32, "shortcut": "complex"})
    saved = {k: v.clone() for k, v in first.model.state_dict().items()}
    settings = {"epochs": 2, "lr": 1e-2, "embedding_lr": 1e-2, "freeze_kge_on_join": True, "eval_limit": 50}
    config = build_config(None, init=tmp_path / "ckpt", overrides=settings)
    seen: list[torch.Tensor] = []

    def watch(r: Any) -> None:
        seen.append(r.out[-1].weight.detach().clone())

    again = train_watching(data, config, watch, log=lambda _: None)
    assert torch.equal(seen[0], saved["out.2.weight"]) and seen[0].abs().sum() > 0  # kept, not zeroed
    # the last state trained, whichever candidate training returns
    assert not torch.equal(seen[-1], saved["out.2.weight"])
    assert again.history[0]["valid_mrr"] == pytest.approx(first.best_valid.mrr)  # the start, as saved
    model = again.model
    assert torch.equal(model.entity.weight, saved["entity.weight"])
    assert torch.equal(model.diag.weight, saved["diag.weight"])
    assert all(p.requires_grad for p in model.kge_parameters())  # trainable again for whoever's next


def test_valid_subset_during_training_does_not_depend_on_the_training_seed(tiny: Path) -> None:
    data = load_split_dir(tiny)
    config = TrainConfig(model="complex", hparams={"dim": 16}, epochs=1, seed=3, eval_limit=4)
    result = train(data, config, log=lambda _: None)
    assert result.reverse_fit is not None
    result.model.set_reverse_weight(0.0)  # as it scored during training
    result.model.set_rule_reading(None)
    same, other = (evaluate_model(result.model, data, "valid", limit=4, seed=s) for s in (0, 3))
    assert same.mrr != other.mrr  # the two subsets score differently, so the check below can fail
    assert result.history[-1]["valid_mrr"] == pytest.approx(same.mrr)
    assert result.reverse_fit.metrics[0.0].mrr == pytest.approx(same.mrr)  # the fit's subset too


def test_lr_factor_warms_up_then_decays_over_the_run_or_over_each_stage() -> None:
    one = TrainConfig(kge_warmup=0.8, warmup_steps=10)
    staged = TrainConfig(kge_warmup=0.8, warmup_steps=10, stage_schedule=True)
    assert lr_factor(TrainConfig(), 0.25, 0, joined=False) == 0.75  # no warm-up: the decay alone
    assert lr_factor(one, 0.0, 0, joined=False) == pytest.approx(0.1)  # the first of 10 warm-up steps
    assert lr_factor(one, 0.5, 100, joined=False) == pytest.approx(0.5)
    assert lr_factor(one, 0.8, 9, joined=True) == pytest.approx(0.2)  # the layers peak at what is left
    assert lr_factor(staged, 0.4, 100, joined=False) == pytest.approx(0.5)  # half of the KGE stage
    assert lr_factor(staged, 0.8, 100, joined=False) == 0.0  # converged by the join
    assert lr_factor(staged, 0.8, 9, joined=True) == pytest.approx(1.0)  # then a schedule of its own
    assert lr_factor(staged, 0.9, 100, joined=True) == pytest.approx(0.5)
    assert lr_factor(staged, 1.0, 100, joined=True) == 0.0


def test_stage_schedule_converges_the_kge_stage_scores_it_then_trains_the_reader(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = load_split_dir(tiny)
    config = TrainConfig(model="reader", hparams={"dim": 16, "heads": 2, "ffn": 32, "shortcut": "complex"},
                         epochs=4, lr=1e-3, embedding_lr=1e-2, batch_size=16, warmup_steps=2, kge_warmup=0.5,
                         stage_schedule=True, freeze_kge_on_join=True, eval_limit=10,
                         eval_every_minutes=1e3)  # fmt: skip
    factors: list[tuple[bool, float]] = []  # (joined, factor) per parameter group and step

    def spy(config: TrainConfig, progress: float, since: int, *, joined: bool) -> float:
        factors.append((joined, lr_factor(config, progress, since, joined=joined)))
        return factors[-1][1]

    monkeypatch.setattr(train_module, "lr_factor", spy)
    result = train(data, config, log=lambda _: None)
    steps_per_epoch = -(-2 * len(data.train) // 16)
    groups = 2  # the tables, the layers
    kge, reader = factors[: 2 * steps_per_epoch * groups], factors[2 * steps_per_epoch * groups :]
    assert not any(joined for joined, _ in kge) and all(joined for joined, _ in reader)
    assert kge[-1][1] == pytest.approx(1 / (2 * steps_per_epoch))  # the KGE stage's last step: its decay ends
    assert reader[0][1] == pytest.approx(0.5) and reader[2][1] == pytest.approx(1 - 1 / (2 * steps_per_epoch))
    assert [h["epoch"] for h in result.history] == [2.0, 4.0]  # scored at the join, then at the end
    assert 0.0 < result.best_valid.mrr <= 1.0
    with pytest.raises(ValueError, match="stage_schedule needs kge_warmup"):
        train(data, TrainConfig(model="reader", stage_schedule=True), log=lambda _: None)


def test_warm_start_settings_are_the_checkpoints_run_less_its_machine() -> None:
    shipped = REPO / "models" / "lp" / "fb15k-237-reader"
    saved = checkpoint.read_config(shipped)
    settings = continued(saved, str(shipped))
    # the shipped checkpoint is itself a warm start: bench/configs/warm-start/polish-1vsall.json
    assert saved["train"]["threads"] == 2 and saved["train"]["kge_warmup"] == 0.75
    assert saved["train"]["stage_schedule"] is True and saved["train"]["relation_prediction"] == 4.0
    assert saved["train"]["init_checkpoint"] == "models/lp/fb15k-237-reader"
    first_run = "26f931a3ecdad35bbf8d9027c7227c42716fe9534a6c75ba765a8f645116f502"  # at commit acfecab
    assert saved["started_from"]["weights_sha256"] == first_run != checkpoint.weights_digest(shipped)
    assert "device" not in settings and "threads" not in settings and settings["kge_warmup"] == 0.0
    assert settings["stage_schedule"] is False  # a warm start has no KGE-only stage to schedule
    assert settings["loss"] == "1vsall" and settings["negatives"] == 2048  # its run's loss goes on
    assert settings["hparams"]["dim"] == 1024 and "num_entities" not in settings["hparams"]
    assert settings["init_checkpoint"] == str(shipped)  # this start, not the one its run began from
    config = build_config(None, init=shipped, overrides={"budget_minutes": 5})
    assert (config.model, config.n3, config.lr, config.device, config.budget_minutes) == (
        "reader", 0.05, 0.001, "auto", 5)  # fmt: skip


def test_config_file_and_unknown_setting(tmp_path: Path) -> None:
    path = tmp_path / "lp.toml"
    path.write_text('preset = "reader-gpu"\nlr = 0.0005\n[hparams]\ndim = 64\n')
    config = build_config("reader", config_file=path, overrides={"budget_minutes": 3})
    assert (config.model, config.lr, config.hparams["dim"], config.hparams["heads"]) == (
        "reader",
        0.0005,
        64,
        8,
    )
    assert config.budget_minutes == 3
    path.write_text('{"lrr": 1}')
    path = path.rename(tmp_path / "lp.json")
    with pytest.raises(ConfigError, match="unknown setting"):
        build_config("complex", config_file=path)


def test_preset_option_picks_the_model_and_refuses_another() -> None:
    """``--preset`` (``lp train``) names the model when ``--model`` does not; a preset of another model is
    refused instead of silently training that model."""
    config = build_config(None, preset="complex-n3rp")
    assert (config.model, config.n3, config.relation_prediction) == ("complex", 0.05, 1.0)
    assert build_config(None, preset="rotate-wn").hparams["margin"] == 6.0
    assert build_config(None).model == "reader"
    with pytest.raises(ConfigError, match="--preset: preset 'complex-n3rp' trains a 'complex' model, not"):
        build_config("reader", preset="complex-n3rp")
    with pytest.raises(ConfigError, match="--preset: unknown preset 'fast'"):
        build_config(None, preset="fast")


def test_lp_train_preset_option(tiny: Path, tmp_path: Path) -> None:
    """The CLI passes ``--preset`` on (its rules: the two tests around this one)."""
    command = [sys.executable, "-m", "app", "lp", "train", "--dataset-dir", str(tiny), "--preset",
               "complex-n3rp", "--epochs", "1", "--out", str(tmp_path / "c")]  # fmt: skip
    trained = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    settings = json.loads((tmp_path / "c" / "metrics.json").read_text())["config"]
    assert (settings["model"], settings["n3"]) == ("complex", 0.05)


def test_preset_option_replaces_the_config_files_preset(tmp_path: Path) -> None:
    path = tmp_path / "lp.json"
    path.write_text(json.dumps({"preset": "complex", "lr": 0.5}))
    assert build_config(None, config_file=path).model == "complex"  # the file's preset names the model
    config = build_config(None, preset="complex-n3rp", config_file=path)
    assert (config.model, config.n3, config.lr) == ("complex", 0.05, 0.5)  # the file's values still apply
    with pytest.raises(ConfigError, match="trains a 'complex' model, not 'rotate'"):
        build_config("rotate", config_file=path)
    with pytest.raises(ConfigError, match="--preset: a warm start"):
        build_config(None, preset="complex", init=tmp_path)


def test_store_split_is_seeded_and_transductive() -> None:
    triples = {(f"e{i}", f"r{i % 3}", f"e{(i * 7) % 50}") for i in range(200)}
    a, b = split_triples(triples, seed=1), split_triples(triples, seed=1)
    assert a == b and a != split_triples(triples, seed=2)
    train_entities = {x for h, _, t in a["train"] for x in (h, t)}
    assert all(h in train_entities and t in train_entities for h, _, t in a["valid"] + a["test"])
    assert sum(len(v) for v in a.values()) == len(triples)


def test_predict_finds_entities_and_relations_by_id_or_readable_name() -> None:
    """Ids match as written (a mixed-case id too, which a lower-cased key would miss), then ids and
    names by key; a name shared by two entities is refused with both ids, and an unknown one gets hints."""
    none = np.zeros((0, 3), dtype=np.int64)
    data = TripleDataset(["Q42", "/m/0z9c", "Q90", "Q91"], ["P50", "/people/person/profession"],
                         none, none, none,
                         entity_text={"Q42": "Douglas Adams", "Q90": "Paris", "Q91": "Paris"},
                         relation_text={"/people/person/profession": "people person profession"})  # fmt: skip
    assert find_entity(data, "Q42") == 0 and find_entity(data, "q42") == 0
    assert find_entity(data, "  the Douglas  ADAMS ") == 0 and find_entity(data, "/m/0z9c") == 1
    assert find_relation(data, "People person profession") == 1 and find_relation(data, "P50") == 0
    with pytest.raises(ConfigError, match=r"names 2 entities: Q90 \(Paris\), Q91 \(Paris\)"):
        find_entity(data, "paris")
    with pytest.raises(ConfigError, match=r"unknown entity 'Adams' .*e\.g\. Douglas Adams \(Q42\)"):
        find_entity(data, "Adams")
    with pytest.raises(ConfigError, match="unknown relation 'wrote'"):
        find_relation(data, "wrote")


def test_lp_cli_train_eval_predict(tiny: Path, tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "app", "lp", *args], capture_output=True, text=True,
                              timeout=300, cwd=tmp_path)  # fmt: skip

    config = tmp_path / "fast.json"
    config.write_text(json.dumps({"hparams": {"dim": 16, "ffn": 32}, "eval_limit": 50}))
    ckpt = str(tmp_path / "ckpt")
    trained = run("train", "--dataset-dir", str(tiny), "--model", "reader", "--epochs", "3", "--config",
                  str(config), "--out", ckpt)  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert (tmp_path / "ckpt" / "model.safetensors").is_file()
    assert json.loads((tmp_path / "ckpt" / "metrics.json").read_text())["model"] == "reader"
    evaluated = run("eval", "--dataset-dir", str(tiny), "--checkpoint", ckpt, "--limit", "5", "--seed", "1",
                    "--json")  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr
    metrics = json.loads(evaluated.stdout)
    assert set(metrics) == {"mrr", "hits@1", "hits@3", "hits@10", "queries"} and metrics["queries"] == 10
    same = evaluate_checkpoint(load_split_dir(tiny), tmp_path / "ckpt", limit=5, seed=1, device="cpu")
    assert same.mrr == pytest.approx(metrics["mrr"])
    alone = run("eval", "--dataset-dir", str(tiny), "--checkpoint", ckpt, "--no-rules", "--json")
    assert alone.returncode == 0, alone.stderr
    without = evaluate_checkpoint(load_split_dir(tiny), tmp_path / "ckpt", device="cpu", rules=False)
    assert json.loads(alone.stdout)["mrr"] == pytest.approx(without.mrr)
    predicted = run("predict", "--dataset-dir", str(tiny), "--checkpoint", ckpt, "--head", "e4",
                    "--relation", "pair", "--top-k", "3", "--json")  # fmt: skip
    assert predicted.returncode == 0, predicted.stderr
    body = json.loads(predicted.stdout)
    assert len(body["predictions"]) == 3 and body["evidence"]
    assert body["head"] == "e4" and set(body["predictions"][0]) == {"tail", "score", "rank", "probability",
                                                                      "rules"}  # fmt: skip
    assert checkpoint.read_config(tmp_path / "ckpt")["rule_fit"]["kept"]  # rules read the ring well
    reasons = [r for p in body["predictions"] for r in p["rules"]]
    assert reasons and all(r["kind"] in ("path1", "path2", "constant") and 0 < r["confidence"] <= 1
                           and " => " in r["rule"] and r["facts"] for r in reasons)  # fmt: skip
    assert all(len(fact) == 3 and "e4" in fact for r in reasons for fact in r["facts"][:1])  # from e4
    assert body["calibrated"] and body["temperature"] > 0  # training fitted it
    chances = [p["probability"] for p in body["predictions"]]
    assert chances == sorted(chances, reverse=True) and 0 < sum(chances) <= 1
    heads = run("predict", "--dataset-dir", str(tiny), "--checkpoint", ckpt, "--tail", "e5",
                "--relation", "pair", "--top-k", "2", "--json")  # fmt: skip
    assert heads.returncode == 0, heads.stderr
    body = json.loads(heads.stdout)
    assert body["tail"] == "e5"
    assert [set(p) for p in body["predictions"]] == [{"head", "score", "rank", "probability", "rules"}] * 2
    bad = run("predict", "--dataset-dir", str(tiny), "--checkpoint", ckpt, "--head", "nobody",
              "--relation", "pair")  # fmt: skip
    assert bad.returncode == 2 and "unknown entity" in bad.stderr
    warm = run("train", "--dataset-dir", str(tiny), "--init", ckpt, "--epochs", "1", "--half",
               "--out", ckpt + "-2")  # fmt: skip
    assert warm.returncode == 0, warm.stderr
    summary = json.loads((tmp_path / "ckpt-2" / "metrics.json").read_text())
    settings = summary["config"]
    assert settings["init_checkpoint"] == ckpt and settings["hparams"]["dim"] == 16  # not the preset's 256
    started = checkpoint.read_config(tmp_path / "ckpt-2")["started_from"]
    assert started == {"path": ckpt, "weights_sha256": checkpoint.weights_digest(tmp_path / "ckpt")}
    weights = load_file(str(tmp_path / "ckpt-2" / "model.safetensors"))
    floats = [w.dtype for w in weights.values() if w.is_floating_point()]
    assert summary["weights"] == "fp16" and floats and set(floats) == {torch.float16}
    halved = run("eval", "--dataset-dir", str(tiny), "--checkpoint", ckpt + "-2", "--limit", "5", "--json")
    assert halved.returncode == 0 and json.loads(halved.stdout)["queries"] == 10, halved.stderr
    wrong = run(
        "train", "--dataset-dir", str(tiny), "--init", ckpt, "--model", "complex", "--out", ckpt + "-3"
    )
    assert wrong.returncode == 2 and "holds a 'reader' model" in wrong.stderr


def test_a_warm_start_records_the_weights_it_began_from(tiny: Path, tmp_path: Path) -> None:
    """``started_from`` holds the start's digest taken before training, so the record stays true when the
    run is saved over its own start (``--init X --out X``) or the folder later holds another model."""
    data = load_split_dir(tiny)
    first = train(data, build_config("complex", overrides={"epochs": 1}), log=lambda _: None)
    checkpoint.save(first.model, data, tmp_path / "c")
    before = checkpoint.weights_digest(tmp_path / "c")
    assert before == hashlib.sha256((tmp_path / "c" / "model.safetensors").read_bytes()).hexdigest()
    config = build_config(None, init=tmp_path / "c", overrides={"epochs": 1})
    again = train(data, config, log=lambda _: None)
    save_run(again, config, data, tmp_path / "c")  # in place
    saved = checkpoint.read_config(tmp_path / "c")
    assert saved["started_from"] == {"path": str(tmp_path / "c"), "weights_sha256": before}
    assert checkpoint.weights_digest(tmp_path / "c") != before  # the folder holds the new weights
    assert first.started_from is None
    with pytest.raises(CheckpointError, match=r"model\.safetensors: missing"):
        checkpoint.weights_digest(tmp_path)


def test_predict_unknown_relation(tiny: Path, tmp_path: Path) -> None:
    data = load_split_dir(tiny)
    result = train(data, build_config("complex", overrides={"epochs": 1}), log=lambda _: None)
    checkpoint.save(result.model, data, tmp_path / "c")
    with pytest.raises(ConfigError, match="unknown relation"):
        predict(data, tmp_path / "c", "loves", head="e1")


def test_predict_ranks_heads_through_the_inverse_query(tiny: Path, tmp_path: Path) -> None:
    """``tail=`` ranks heads by the model's own scores of ``tail :: relation⁻¹ :: ?`` and leaves out the
    heads the graph already has for it (in any split), and the tail itself; the probabilities are the
    softmax of the scores over the rest, at T = 1 for a checkpoint never calibrated, else at its fitted
    temperature; one of head/tail is required."""
    data = load_split_dir(tiny)
    result = train(data, build_config("complex", overrides={"epochs": 1}), log=lambda _: None)
    checkpoint.save(result.model, data, tmp_path / "c")  # without the fitted temperature
    pair = data.relations.index("pair")
    everything = np.concatenate([data.train, data.valid, data.test])
    tail = next(t for _, r, t in data.valid.tolist() if r == pair)  # a tail with a head known from valid
    name = data.entities[tail]
    known = {h for h, r, t in everything.tolist() if r == pair and t == tail}
    assert known and tail not in known
    assert known - {h for h, r, t in data.train.tolist() if r == pair and t == tail}  # not only training's
    found = predict(data, tmp_path / "c", "pair", tail=name, top_k=data.num_entities)
    ranked, evidence = found.answers, found.evidence
    model = checkpoint.load(tmp_path / "c", data)
    with torch.no_grad():
        scores = model.score(torch.tensor([[tail, pair + data.num_relations]]))[0]
    order = torch.argsort(scores, descending=True).tolist()
    expected = [i for i in order if i not in known | {tail}]
    assert [p.entity for p in ranked] == [data.entity_label(i) for i in expected]
    assert len(ranked) == data.num_entities - len(known) - 1
    assert [p.rank for p in ranked] == list(range(1, len(expected) + 1))
    assert ranked[0].score == pytest.approx(float(scores[expected[0]]), abs=1e-5)
    assert (found.temperature, found.calibrated) == (1.0, False)
    softmax = torch.softmax(scores[expected], dim=0)  # over the candidates left, by hand
    assert [p.probability for p in ranked] == pytest.approx(softmax.tolist(), abs=1e-6)
    assert evidence and all(name in (h, t) for h, _, t in evidence)  # ComplEx: the tail's own facts
    save_run(result, build_config("complex"), data, tmp_path / "fitted")  # training fitted a temperature
    fitted = predict(data, tmp_path / "fitted", "pair", tail=name, top_k=3)
    assert result.temperature_fit is not None and fitted.calibrated
    assert fitted.temperature == result.temperature_fit.temperature
    by_hand = torch.softmax(scores[expected] / fitted.temperature, dim=0)[:3]
    assert [p.probability for p in fitted.answers] == pytest.approx(by_hand.tolist(), abs=1e-6)
    printed = subprocess.run([sys.executable, "-m", "app", "lp", "predict", "--dataset-dir", str(tiny),
                              "--checkpoint", str(tmp_path / "c"), "--tail", name, "--relation", "pair",
                              "--top-k", "1"], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    assert "probabilities uncalibrated" in printed.stderr  # this checkpoint has no fitted temperature
    assert printed.stdout.startswith(f"  1. {ranked[0].entity}  (p {ranked[0].probability:.3f}, score ")
    for given in ({}, {"head": "e4", "tail": "e5"}):
        with pytest.raises(ConfigError, match="exactly one of --head"):
            predict(data, tmp_path / "c", "pair", **given)


def test_model_registry() -> None:
    assert set(MODELS) == {"reader", "complex", "rotate"}

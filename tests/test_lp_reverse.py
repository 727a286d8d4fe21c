"""The reverse reading (``reader/reverse.py``): each model's reverse scores against the direct scores of the
reverse query, the weight's checks, its fit on valid, training's fit, and ``factloom lp calibrate`` /
``lp eval --reverse-weight``. Real models, the tiny ring graph (``tests/lp_tiny.py``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from lp_tiny import write_tiny_kg

from app.errors import ConfigError
from app.lp import calibrate_checkpoint, evaluate_checkpoint
from reader import checkpoint
from reader.base import LinkPredictor
from reader.evaluate import evaluate_model
from reader.graph_reader import GraphReader
from reader.kge import ComplExModel, RotatEModel
from reader.reverse import choose_weight, fit_reverse_weight
from reader.train import TrainConfig, save_run, train
from retrieve.data import TripleDataset, from_string_triples, load_split_dir

QUERIES = torch.tensor([[0, 1], [3, 4], [6, 2], [2, 5]])  # relations 3..5 are the inverses of 0..2


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_kg(tmp_path_factory.mktemp("tiny"))


def direct_of_reverse(model: LinkPredictor, queries: torch.Tensor, num_relations: int) -> torch.Tensor:
    """By brute force: for each query (x, r) and each entity e, the direct score of (e, r⁻¹) at x."""
    n = model.hparams()["num_entities"]
    rows = []
    for x, r in queries.tolist():
        reverse = (r + num_relations) % (2 * num_relations)
        asked = torch.stack([torch.arange(n), torch.full((n,), reverse)], dim=1)
        rows.append(model.direct_scores(asked)[:, x])
    return torch.stack(rows)


@pytest.mark.parametrize("name", ["complex", "rotate"])
def test_kge_reverse_scores_are_the_reverse_querys_direct_scores(name: str) -> None:
    model: LinkPredictor = (ComplExModel(7, 3, dim=8, dropout=0.0) if name == "complex"
                            else RotatEModel(7, 3, dim=8, margin=6.0)).eval()  # fmt: skip
    with torch.no_grad():
        got, expected = model.reverse_scores(QUERIES), direct_of_reverse(model, QUERIES, 3)
    assert got.shape == (4, 7) and torch.allclose(got, expected, atol=1e-4)
    assert not torch.allclose(got, model.direct_scores(QUERIES), atol=1e-3)  # a different reading


@pytest.mark.parametrize("shortcut", ["complex", "distmult"])
def test_reader_reverse_scores_are_its_shortcuts_reverse_scores(tiny: Path, shortcut: str) -> None:
    data = load_split_dir(tiny)
    reader = GraphReader.build(data, dim=16, ffn=32, shortcut=shortcut, shortcut_init="random").eval()
    every = torch.stack(torch.meshgrid(torch.arange(data.num_entities), torch.arange(6), indexing="ij"), -1)
    reader.prepare(every.reshape(-1, 2).numpy())
    with torch.no_grad():
        got = reader.reverse_scores(QUERIES)
        reader.set_kge_only(True)  # direct scores are then the shortcut's plus the bias, no reading
        expected = direct_of_reverse(reader, QUERIES, 3) - reader.bias[QUERIES[:, 0]][:, None]
    assert torch.allclose(got, expected, atol=1e-4)


def test_score_adds_the_weighted_reverse_scores() -> None:
    model = ComplExModel(7, 3, dim=8, dropout=0.0, reverse_weight=0.5).eval()
    with torch.no_grad():
        expected = model.direct_scores(QUERIES) + 0.5 * model.reverse_scores(QUERIES)
        assert torch.allclose(model.score(QUERIES), expected)
        model.set_reverse_weight(0.0)
        assert torch.equal(model.score(QUERIES), model.direct_scores(QUERIES))
    assert model.hparams()["reverse_weight"] == 0.0  # saved with the checkpoint


def test_reverse_weight_is_refused_where_it_cannot_apply(tiny: Path) -> None:
    with pytest.raises(ValueError, match="reverse_weight must be >= 0"):
        ComplExModel(7, 3, dim=8, reverse_weight=-0.5)
    data = load_split_dir(tiny)
    plain = GraphReader.build(data, dim=16, ffn=32)  # no shortcut: no KGE part to read backwards
    assert not plain.can_score_reverse()
    with pytest.raises(ValueError, match="must be 0 for model 'reader'"):
        plain.set_reverse_weight(0.5)
    with pytest.raises(ValueError, match="need a shortcut"):
        plain.reverse_scores(QUERIES)
    with pytest.raises(ValueError, match="cannot score the reverse"):
        fit_reverse_weight(plain, data)
    with pytest.raises(ValueError, match="non-empty and >= 0"):
        fit_reverse_weight(ComplExModel(data.num_entities, 3, dim=8), data, grid=[0.5, -1.0])


def trained(data: TripleDataset, **settings: object) -> LinkPredictor:
    """ComplEx trained 20 epochs on the tiny graph; ``settings`` override the config's fields."""
    fields: dict[str, object] = {"model": "complex", "hparams": {"dim": 16}, "epochs": 20, "lr": 0.05,
                                 "batch_size": 32, "eval_limit": 8, **settings}  # fmt: skip
    return train(data, TrainConfig(**fields), log=lambda _: None).model  # type: ignore[arg-type]


def test_fit_picks_the_grid_weight_that_scores_best_as_evaluated(tiny: Path) -> None:
    data = load_split_dir(tiny)
    model = trained(data, reverse_grid=[])
    grid = (0.0, 0.5, 2.0)
    fit = fit_reverse_weight(model, data, grid=grid, min_z=0.0)  # the plain best MRR
    separately = {}
    for weight in grid:  # the one-pass fit ranks as the model scores with that weight set
        model.set_reverse_weight(weight)
        separately[weight] = evaluate_model(model, data, "valid")
        assert fit.metrics[weight] == separately[weight]
    assert fit.weight == max(grid, key=lambda w: (separately[w].mrr, -w)) and fit.split == "valid"
    assert len({m.mrr for m in fit.metrics.values()}) > 1  # the weights rank differently here


def test_fit_moves_off_the_smallest_weight_only_for_a_gain_beyond_noise() -> None:
    """``choose_weight``: a weight above the grid's smallest needs a paired gain of ``min_z`` standard
    errors; ties go to the smaller weight; too few queries to judge keep the smallest."""
    base = torch.tensor([2.0, 3.0, 1.0, 4.0] * 25)
    lucky = base.clone()
    lucky[0] = 1.0  # one query of 100 better
    steady = base.clone()
    steady[base > 1] -= 1  # every query it can improve, by one place
    assert choose_weight({0.5: lucky, 0.0: base}) == 0.0  # grid order does not matter
    assert choose_weight({0.0: base, 0.5: lucky}, min_z=0.0) == 0.5
    assert choose_weight({0.0: base, 0.25: steady, 0.5: steady.clone()}) == 0.25
    assert choose_weight({0.25: base, 1.0: base.clone()}) == 0.25  # no gain at all
    assert choose_weight({0.0: torch.tensor([2.0]), 1.0: torch.tensor([1.0])}) == 0.0  # one query
    assert choose_weight({0.0: torch.empty(0), 1.0: torch.empty(0)}) == 0.0
    worse = base + 1
    assert choose_weight({0.0: base, 0.5: worse}, min_z=0.0) == 0.0


def test_fit_and_evaluation_of_an_empty_split_give_nan_not_an_error() -> None:
    pairs = [(f"e{i}", "r", f"e{(i + 1) % 6}") for i in range(6)]
    data = from_string_triples({"train": pairs, "valid": [], "test": pairs[:2]})
    model = ComplExModel(data.num_entities, data.num_relations, dim=4).eval()
    assert evaluate_model(model, data, "valid").queries == 0
    fit = fit_reverse_weight(model, data, grid=(0.25, 1.0))
    assert fit.weight == 0.25 and all(m.queries == 0 and m.mrr != m.mrr for m in fit.metrics.values())


def test_training_fits_the_reverse_weight_and_saves_it(tiny: Path, tmp_path: Path) -> None:
    data = load_split_dir(tiny)
    config = TrainConfig(model="complex", hparams={"dim": 16}, epochs=20, lr=0.05, batch_size=32,
                         eval_limit=8, reverse_grid=[0.0, 0.5, 2.0])  # fmt: skip
    result = train(data, config, log=lambda _: None)
    fit = result.reverse_fit
    assert fit is not None and result.model.reverse_weight == fit.weight
    assert result.best_valid == fit.metrics[fit.weight]  # the returned model's own valid score
    save_run(result, config, data, tmp_path / "ckpt")
    saved = checkpoint.read_config(tmp_path / "ckpt")
    assert saved["hparams"]["reverse_weight"] == fit.weight and saved["reverse_fit"]["weight"] == fit.weight
    loaded = checkpoint.load(tmp_path / "ckpt", data)
    with torch.no_grad():
        assert torch.allclose(loaded.score(QUERIES), result.model.score(QUERIES), atol=1e-6)
    kept = trained(data, hparams={"dim": 16, "reverse_weight": 0.75}, reverse_grid=[])
    assert kept.reverse_weight == 0.75  # an empty grid keeps the configured weight
    with pytest.raises(ValueError, match="reverse_grid weights must be >= 0"):
        trained(data, reverse_grid=[0.0, -0.5], budget_minutes=10.0)  # refused before any training


def test_calibrate_and_eval_reverse_weight_from_the_cli(tiny: Path, tmp_path: Path) -> None:
    data = load_split_dir(tiny)
    ckpt = tmp_path / "ckpt"
    checkpoint.save(trained(data, reverse_grid=[]), data, ckpt)
    weights = (ckpt / "model.safetensors").read_bytes()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "app", "lp", *args], capture_output=True, text=True,
                              timeout=300, cwd=tmp_path)  # fmt: skip

    # --no-rules: the scores below are the weights' own (tests/test_lp_rules.py calibrates with rules)
    calibrated = run("calibrate", "--dataset-dir", str(tiny), "--checkpoint", str(ckpt), "--json",
                     "--no-rules")  # fmt: skip
    assert calibrated.returncode == 0, calibrated.stderr
    fit = json.loads(calibrated.stdout)
    assert set(fit["mrr"]) == {"0.0", "0.25", "0.5", "0.75", "1.0"} and fit["queries"] == 16
    saved = checkpoint.read_config(ckpt)
    assert saved["hparams"]["reverse_weight"] == fit["weight"] and saved["reverse_fit"] == {
        k: v for k, v in fit.items() if k not in ("checkpoint", "temperature_fit", "rule_fit")
    }
    assert fit["rule_fit"] is None and "rule_reading" not in saved
    calibrated = fit["temperature_fit"]  # fitted after the weight, with it (tests/test_lp_confidence.py)
    assert saved["temperature_fit"] == calibrated and saved["temperature"] == calibrated["temperature"]
    assert calibrated["after"]["ece_shown"] <= calibrated["before"]["ece_shown"]
    assert calibrated["after"]["queries"] == 16 and calibrated["criterion"] == "ece_shown"
    assert (ckpt / "model.safetensors").read_bytes() == weights  # the model's weights never change
    assert fit["min_z"] == 2.0
    on_valid = evaluate_checkpoint(data, ckpt, split="valid", device="cpu")
    assert on_valid.mrr == pytest.approx(fit["mrr"][str(fit["weight"])])  # loading applies the saved weight
    plain = run("eval", "--dataset-dir", str(tiny), "--checkpoint", str(ckpt), "--split", "valid",
                "--reverse-weight", "0", "--json")  # fmt: skip
    assert plain.returncode == 0, plain.stderr
    assert json.loads(plain.stdout)["mrr"] == pytest.approx(fit["mrr"]["0.0"])
    bad = run("eval", "--dataset-dir", str(tiny), "--checkpoint", str(ckpt), "--reverse-weight", "-1")
    assert bad.returncode == 2 and "--reverse-weight: reverse_weight must be >= 0" in bad.stderr


def test_calibrate_fits_only_the_temperature_of_a_model_without_a_reverse_reading(
    tiny: Path, tmp_path: Path
) -> None:
    data = load_split_dir(tiny)
    checkpoint.save(GraphReader.build(data, dim=16, ffn=32), data, tmp_path / "plain")
    before = checkpoint.read_config(tmp_path / "plain")
    fitted = calibrate_checkpoint(data, tmp_path / "plain", device="cpu")
    after = checkpoint.read_config(tmp_path / "plain")
    assert fitted.reverse is None and "reverse_fit" not in after
    assert after["hparams"] == before["hparams"]
    assert after["temperature"] == fitted.temperature.temperature
    complex_model = ComplExModel(data.num_entities, data.num_relations, dim=8)
    checkpoint.save(complex_model, data, tmp_path / "complex")
    untouched = (tmp_path / "complex" / "config.json").read_text()
    with pytest.raises(ConfigError, match="complex: the grid of reverse weights must be non-empty and >= 0"):
        calibrate_checkpoint(data, tmp_path / "complex", grid=(-1.0,), device="cpu")
    assert (tmp_path / "complex" / "config.json").read_text() == untouched  # nothing half-written

"""Probabilities for predicted answers (``reader/confidence.py``): the softmax over unknown candidates, the
calibration measures by hand, the temperature fit on a trained model against a by-hand computation and
under rescaled scores, and training's fit. Real models, the tiny ring graph (``tests/lp_tiny.py``)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from lp_tiny import write_tiny_kg

from reader import checkpoint
from reader.base import LinkPredictor
from reader.confidence import (
    SHOWN,
    TEMPERATURES,
    answer_probabilities,
    calibration,
    expected_calibration_error,
    fit_temperature,
    measure,
)
from reader.evaluate import filtered_scores, query_batches
from reader.kge import ComplExModel
from reader.rules import out_of_fold
from reader.train import TrainConfig, save_run, train
from retrieve.data import TripleDataset, from_string_triples, load_split_dir


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> TripleDataset:
    return load_split_dir(write_tiny_kg(tmp_path_factory.mktemp("tiny")))


@pytest.fixture(scope="module")
def trained(tiny_data: TripleDataset) -> LinkPredictor:
    """ComplEx trained 20 epochs."""
    config = TrainConfig(model="complex", hparams={"dim": 16}, epochs=20, lr=0.05, batch_size=32,
                         eval_limit=8, reverse_grid=[], fit_temperature=False)  # fmt: skip
    return train(tiny_data, config, log=lambda _: None).model


class Scaled(LinkPredictor):
    """Another model's scores times ``factor``: the same ranking, ``factor`` times as sure."""

    name = "scaled"

    def __init__(self, inner: LinkPredictor, factor: float) -> None:
        super().__init__()
        self.inner, self.factor = inner, factor

    def direct_scores(self, queries: torch.Tensor) -> torch.Tensor:
        return self.inner.score(queries) * self.factor


def test_answer_probabilities_leave_known_answers_out_and_keep_the_order() -> None:
    scores = torch.tensor([3.0, 1.0, 2.0, 0.0])
    known = torch.tensor([True, False, False, False])
    p = answer_probabilities(scores, 0.5, known)
    expected = torch.softmax(torch.tensor([1.0, 2.0, 0.0]) / 0.5, dim=0)
    assert p[0] == 0 and torch.allclose(p[1:], expected) and float(p.sum()) == pytest.approx(1.0)
    assert answer_probabilities(scores, 1.0, torch.ones(4, dtype=torch.bool)).tolist() == [0.0] * 4
    hotter = answer_probabilities(scores, 4.0, known)
    assert hotter[2] < p[2] and hotter[3] > p[3]  # a higher temperature evens the odds, same order
    with pytest.raises(ValueError, match="temperature must be > 0"):
        answer_probabilities(scores, 0.0, known)


def test_calibration_by_hand() -> None:
    """Five queries, two shown answers each, ten bins. Top answers: [0.05, 0.15, 0.95, 0.92, 0.55] in bins
    0, 1, 9, 9 and 5; the seconds: 0.01 (bin 0, wrong) and four of 0.03 (bin 0, one right)."""
    top_p = torch.tensor([0.05, 0.15, 0.95, 0.92, 0.55])
    right = torch.tensor([False, True, True, False, True])
    shown_p = torch.stack([top_p, torch.tensor([0.01, 0.03, 0.03, 0.03, 0.03])], dim=1)
    shown_right = torch.stack([right, torch.tensor([True, False, False, False, False])], dim=1)
    logp = torch.log(torch.tensor([0.01, 0.15, 0.95, 0.02, 0.55]))
    c = calibration(2.0, logp, shown_p, shown_right, bins=10)
    # top answers: bin 0: p .05, right 0; bin 1: .15, 1; bin 5: .55, 1; bin 9: mean .935, half right
    ece = (abs(0 - 0.05) + abs(1 - 0.15) + abs(1 - 0.55) + 2 * abs(0.5 - 0.935)) / 5
    assert c.ece == pytest.approx(ece) and c.accuracy == pytest.approx(0.6)
    # shown: bin 0 now holds .05 and the five seconds (mean .04, one right in six)
    bin0 = 6 * abs(1 / 6 - (0.05 + 0.01 + 4 * 0.03) / 6)
    shown = (bin0 + abs(1 - 0.15) + abs(1 - 0.55) + 2 * abs(0.5 - 0.935)) / 10
    assert c.ece_shown == pytest.approx(shown)
    assert c.confidence == pytest.approx(float(top_p.mean())) and c.nll == pytest.approx(float(-logp.mean()))
    assert [(edge, n) for edge, n, _, _ in c.bins] == [(0.0, 1), (0.1, 1), (0.5, 1), (0.9, 2)]
    assert c.temperature == 2.0 and c.queries == 5
    empty = calibration(1.0, torch.empty(0), torch.empty(0, 2), torch.empty(0, 2, dtype=torch.bool))
    assert empty.queries == 0 and math.isnan(empty.nll)


def by_hand(model: LinkPredictor, data: TripleDataset, temperature: float) -> tuple[float, float, float]:
    """The answers' mean negative log-probability, the share of right top answers, and the calibration error
    of the ten best answers' probabilities, from the filtered scores and :func:`answer_probabilities`, one
    query at a time."""
    nll, right, n, pairs = 0.0, 0, 0, []
    with torch.no_grad():
        for batch, target, filters in query_batches(data, "valid"):
            scores = filtered_scores(model.score(batch), target, filters)
            for row, answer in zip(scores, target.tolist(), strict=True):
                p = answer_probabilities(row, temperature, torch.isinf(row))
                nll -= math.log(float(p[answer]))
                right += int(int(row.argmax()) == answer)
                n += 1
                pairs += [(float(p[e]), e == answer) for e in row.topk(SHOWN).indices.tolist()]
    shown, _ = expected_calibration_error(
        torch.tensor([q for q, _ in pairs]), torch.tensor([a for _, a in pairs])
    )
    return nll / n, right / n, shown


def test_fit_temperature_matches_a_by_hand_computation(
    trained: LinkPredictor, tiny_data: TripleDataset
) -> None:
    """On scores made four times too sure, so that T = 1 is clearly not the best."""
    sure = Scaled(trained, 4.0).eval()
    fit = fit_temperature(sure, tiny_data)
    assert fit.before.temperature == 1.0 and fit.temperature == fit.after.temperature
    assert fit.temperature in TEMPERATURES and fit.temperature > 1.0
    for measured in (fit.before, fit.after):
        nll, accuracy, shown = by_hand(sure, tiny_data, measured.temperature)
        assert measured.nll == pytest.approx(nll, rel=1e-5) and measured.accuracy == pytest.approx(accuracy)
        assert measured.ece_shown == pytest.approx(shown, abs=1e-6)
    every = measure(sure, tiny_data, TEMPERATURES)
    assert fit.after.ece_shown == min(c.ece_shown for c in every)  # the criterion: the shown answers' ECE
    assert fit.after.ece_shown < fit.before.ece_shown and fit.after.queries == 2 * len(tiny_data.valid)
    assert fit.after.accuracy == fit.before.accuracy  # one temperature keeps the order
    coarse = fit_temperature(sure, tiny_data, grid=(0.5, 2.0))
    assert coarse.temperature in (0.5, 1.0, 2.0)  # 1 is always tried, for ``before``


def test_scores_twice_as_large_fit_twice_the_temperature(
    trained: LinkPredictor, tiny_data: TripleDataset
) -> None:
    """Temperature scaling undoes a scale: the default grid is a power-of-two ladder, so doubling every
    score must double the fitted temperature exactly, with the same calibration after the fit."""
    fit = fit_temperature(trained, tiny_data)
    doubled = fit_temperature(Scaled(trained, 2.0).eval(), tiny_data)
    assert doubled.temperature == pytest.approx(2 * fit.temperature)
    assert doubled.after.nll == pytest.approx(fit.after.nll, rel=1e-5)
    assert doubled.after.ece_shown == pytest.approx(fit.after.ece_shown, abs=1e-6)
    assert doubled.before.nll != pytest.approx(fit.before.nll)  # at T = 1 they differ


def test_fit_of_an_empty_split_keeps_one_and_a_bad_grid_is_refused() -> None:
    pairs = [(f"e{i}", "r", f"e{(i + 1) % 6}") for i in range(6)]
    data = from_string_triples({"train": pairs, "valid": [], "test": pairs[:2]})
    model = ComplExModel(data.num_entities, data.num_relations, dim=4).eval()
    fit = fit_temperature(model, data)
    assert fit.temperature == 1.0 and fit.after.queries == 0 and math.isnan(fit.after.nll)
    for grid in ((), (0.0, 1.0), (-1.0,)):
        with pytest.raises(ValueError, match="grid of temperatures"):
            fit_temperature(model, data, grid=grid)


def test_training_fits_the_temperature_and_saves_it(tiny_data: TripleDataset, tmp_path: Path) -> None:
    config = TrainConfig(model="complex", hparams={"dim": 16}, epochs=5, lr=0.05, batch_size=32,
                         eval_limit=4, reverse_grid=[])  # fmt: skip
    result = train(tiny_data, config, log=lambda _: None)
    fit = result.temperature_fit
    assert fit is not None and fit.after.queries == 8  # the fit's subset: eval_limit triples, both ways
    with out_of_fold(result.model, result.rule_fit):  # as training scores valid for the temperature
        again = fit_temperature(result.model, tiny_data, limit=4)
    assert (fit.temperature, fit.after.ece_shown) == (again.temperature, pytest.approx(again.after.ece_shown))
    save_run(result, config, tiny_data, tmp_path / "ckpt")
    saved = checkpoint.read_config(tmp_path / "ckpt")
    assert checkpoint.temperature(saved) == fit.temperature and saved["temperature_fit"] == fit.as_json()
    off = TrainConfig(**{**config.as_json(), "fit_temperature": False})
    plain = train(tiny_data, off, log=lambda _: None)
    assert plain.temperature_fit is None
    save_run(plain, off, tiny_data, tmp_path / "plain")
    assert checkpoint.temperature(checkpoint.read_config(tmp_path / "plain")) is None

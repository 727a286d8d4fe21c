"""Training losses (``reader.losses``): each by hand on a tiny model, and each training a model on the tiny
graph past chance."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from lp_tiny import write_tiny_kg

from reader.base import LinkPredictor
from reader.kge import ComplExModel, RotatEModel
from reader.losses import LOSSES, OneVsAll, SelfAdversarial
from reader.presets import build_config
from reader.train import TrainConfig, make_loss, train
from retrieve.data import load_split_dir

RANDOM_MRR = 0.15  # filtered MRR of random scores on the tiny graph is about 0.1
BATCH = torch.tensor([[0, 1, 2], [3, 4, 5], [6, 0, 1]])  # (entity, relation incl. inverses, answer)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_kg(tmp_path_factory.mktemp("tiny"))


def test_1vsall_is_cross_entropy_over_every_entity() -> None:
    torch.manual_seed(0)
    model = ComplExModel(9, 3, dim=4, dropout=0.0)
    loss, residual = OneVsAll(label_smoothing=0.1)(model, BATCH)
    scores = model.score(BATCH[:, :2])
    smoothed = torch.full_like(scores, 0.1 / 9)
    smoothed[torch.arange(3), BATCH[:, 2]] += 0.9
    expected = -(smoothed * torch.log_softmax(scores, dim=1)).sum(dim=1).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5) and residual.numel() == 0


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_nssa_by_hand(temperature: float) -> None:
    torch.manual_seed(0)
    model = RotatEModel(9, 3, dim=4, margin=2.0)
    torch.manual_seed(1)
    loss, _ = SelfAdversarial(negatives=5, temperature=temperature)(model, BATCH)
    torch.manual_seed(1)
    drawn = torch.randint(9, (5,))  # the same draw
    scores = model.score(BATCH[:, :2]).detach()  # every entity's: the sampled ones are read off these
    positive, negative = scores[torch.arange(3), BATCH[:, 2]], scores[:, drawn]
    expected = 0.0
    for i in range(3):
        weights = [float(w) for w in torch.softmax(temperature * negative[i], dim=0)]
        if temperature == 0.0:
            assert weights == pytest.approx([0.2] * 5)  # plain negative sampling: uniform weights
        expected += -F.logsigmoid(positive[i]).item() - sum(
            w * F.logsigmoid(-negative[i, k]).item() for k, w in enumerate(weights)
        )
    assert loss.item() == pytest.approx(expected / 3, rel=1e-5)


def test_nssa_rotate_scores_candidates_as_the_generic_path_does() -> None:
    torch.manual_seed(0)
    model = RotatEModel(9, 3, dim=4).eval()
    candidates = torch.tensor([8, 0, 0, 5])
    fast = model.candidate_terms(BATCH[:, :2], BATCH[:, 2], candidates)
    generic = LinkPredictor.candidate_terms(model, BATCH[:, :2], BATCH[:, 2], candidates)
    for mine, theirs in zip(fast[:2], generic[:2], strict=True):
        assert torch.allclose(mine, theirs, atol=1e-5)


@pytest.mark.parametrize(
    ("name", "hparams", "lr"),
    [("rotate", {"dim": 32, "margin": 6.0}, 0.02), ("complex", {"dim": 32}, 0.02)],
)
def test_nssa_trains_past_chance_on_the_tiny_graph(tiny: Path, name: str, hparams: dict, lr: float) -> None:
    data = load_split_dir(tiny)
    config = TrainConfig(model=name, hparams=hparams, loss="nssa", negatives=16, lr=lr, epochs=60,
                         batch_size=64, eval_limit=100)  # fmt: skip
    result = train(data, config, log=lambda _: None)
    assert result.best_valid is not None and result.best_valid.mrr > RANDOM_MRR


def test_rotate_preset_trains_with_nssa() -> None:
    config = build_config("rotate")
    assert config.loss == "nssa" and isinstance(make_loss(config), SelfAdversarial)


def test_bad_loss_settings_are_refused_before_training(tiny: Path) -> None:
    data = load_split_dir(tiny)
    with pytest.raises(ValueError, match="loss must be one of 1vsall, nssa, got 'hinge'"):
        train(data, TrainConfig(loss="hinge"), log=lambda _: None)
    with pytest.raises(ValueError, match="negatives >= 1"):
        train(data, TrainConfig(loss="nssa", negatives=0), log=lambda _: None)
    assert set(LOSSES) == {"1vsall", "nssa"}

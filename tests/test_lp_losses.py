"""Training losses (``reader.losses``): each by hand on a tiny model, and each training a model on the tiny
graph past chance."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from lp_tiny import write_tiny_kg

from reader.base import LinkPredictor
from reader.graph_reader import GraphReader
from reader.kge import ComplExModel, RotatEModel
from reader.losses import LOSSES, OneVsAll, SampledSoftmax, SelfAdversarial, answer_frequency
from reader.presets import build_config
from reader.train import TrainConfig, batch_loss, densify_grads, make_loss, sparse_lookups, train
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


def reader_with_context(tiny: Path) -> LinkPredictor:
    """A reader whose term is not zero, so its candidate scores include what it read."""
    reader = GraphReader.build(load_split_dir(tiny), dim=8, heads=2, ffn=8, shortcut="complex")
    with torch.no_grad():
        for p in reader.out.parameters():
            p.normal_()
    return reader


@pytest.mark.parametrize("name", ["rotate", "complex", "reader"])
def test_fast_candidate_scores_match_the_generic_path(tiny: Path, name: str) -> None:
    torch.manual_seed(0)
    model = {"rotate": lambda: RotatEModel(9, 3, dim=4), "complex": lambda: ComplExModel(9, 3, dim=4),
             "reader": lambda: reader_with_context(tiny)}[name]().eval()  # fmt: skip
    assert type(model).candidate_terms is not LinkPredictor.candidate_terms  # the fast path is tested
    candidates = torch.tensor([8, 0, 0, 5])
    fast = model.candidate_terms(BATCH[:, :2], BATCH[:, 2], candidates)
    generic = LinkPredictor.candidate_terms(model, BATCH[:, :2], BATCH[:, 2], candidates)
    for mine, theirs in zip(fast, generic, strict=True):
        assert torch.allclose(mine, theirs, atol=1e-5)
    if name == "reader":
        assert fast[2].abs().sum() > 0  # the reader's residual, for reader_n3


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_sampled_by_hand(smoothing: float) -> None:
    torch.manual_seed(0)
    model = ComplExModel(9, 3, dim=4, dropout=0.0)
    torch.manual_seed(1)
    loss, _ = SampledSoftmax(negatives=5, label_smoothing=smoothing)(model, BATCH)
    torch.manual_seed(1)
    drawn = torch.randperm(9)[:5].tolist()  # the same draw
    scores = model.score(BATCH[:, :2]).detach()
    assert any(a in drawn for a in BATCH[:, 2].tolist())  # the draw holds an answer: it is left out
    expected = 0.0
    for i, answer in enumerate(BATCH[:, 2].tolist()):
        others = [e for e in drawn if e != answer]
        shift = torch.log(torch.tensor(8 / len(others)))  # each drawn entity stands for 8 / k of the rest
        logits = torch.cat([scores[i, answer : answer + 1], scores[i, others] + shift])
        log_p = torch.log_softmax(logits, dim=0)
        expected += -((1 - smoothing) * log_p[0] + smoothing * log_p.mean()).item()
    assert loss.item() == pytest.approx(expected / 3, rel=1e-5)


def test_sampled_with_a_proposal_by_hand() -> None:
    """Drawn with replacement from ``q``: each distinct entity once, its logit lowered by
    ``log(K q(e) / times drawn)``; a query's answer among them is left out of its softmax."""
    torch.manual_seed(0)
    model = ComplExModel(9, 3, dim=4, dropout=0.0)
    proposal = torch.tensor([4.0, 1, 1, 1, 1, 1, 1, 1, 5]) / 16
    torch.manual_seed(1)
    loss, _ = SampledSoftmax(negatives=6, proposal=proposal)(model, BATCH)
    torch.manual_seed(1)
    draws = torch.multinomial(proposal, 6, replacement=True).tolist()  # the same draw
    assert len(set(draws)) < 6 and any(a in draws for a in BATCH[:, 2].tolist())  # repeats; an answer
    scores = model.score(BATCH[:, :2]).detach()
    expected = 0.0
    for i, answer in enumerate(BATCH[:, 2].tolist()):
        others = sorted({e for e in draws if e != answer})
        shifts = [math.log(draws.count(e) / (6 * proposal[e].item())) for e in others]
        logits = torch.cat([scores[i, answer : answer + 1], scores[i, others] + torch.tensor(shifts)])
        expected += -torch.log_softmax(logits, dim=0)[0].item()
    assert loss.item() == pytest.approx(expected / 3, rel=1e-5)


def test_sampled_with_a_proposal_and_many_draws_approaches_1vsall() -> None:
    """The shifts make the drawn denominator estimate the full one, whatever the proposal."""
    torch.manual_seed(0)
    model = ComplExModel(9, 3, dim=4, dropout=0.0)
    full, _ = OneVsAll()(model, BATCH)
    proposal = torch.tensor([4.0, 1, 1, 1, 1, 1, 1, 1, 5]) / 16
    sampled, _ = SampledSoftmax(negatives=200_000, proposal=proposal)(model, BATCH)
    assert sampled.item() == pytest.approx(full.item(), abs=0.01)
    assert sampled.item() != pytest.approx(full.item(), abs=1e-6)  # an estimate, not the same sum


def test_answer_frequency_counts_both_directions(tiny: Path) -> None:
    data = load_split_dir(tiny)
    q = answer_frequency(data, 0.75)
    degree = np.bincount(np.concatenate([data.train[:, 0], data.train[:, 2]]), minlength=data.num_entities)
    expected = (degree + 1.0) ** 0.75
    assert torch.allclose(q, torch.as_tensor(expected / expected.sum(), dtype=torch.float32))
    assert torch.allclose(
        answer_frequency(data, 0.0), torch.full((data.num_entities,), 1 / data.num_entities)
    )


def test_sampled_with_every_entity_drawn_is_1vsall() -> None:
    torch.manual_seed(0)
    model = ComplExModel(9, 3, dim=4, dropout=0.0)
    full, _ = OneVsAll(label_smoothing=0.1)(model, BATCH)
    sampled, _ = SampledSoftmax(negatives=50, label_smoothing=0.1)(model, BATCH)  # capped at 9
    assert sampled.item() == pytest.approx(full.item(), rel=1e-5)
    sampled.backward()  # the answer's own column is -inf in the softmax: no NaN gradient from it
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


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


@pytest.mark.parametrize(
    ("name", "hparams", "lr"),
    [("complex", {"dim": 32}, 0.02),
     ("complex", {"dim": 32, "negative_power": 0.75}, 0.02),
     ("reader", {"dim": 32, "heads": 2, "ffn": 32, "shortcut": "complex", "retriever_args": {"max_edges": 8}},
      0.005)],
)  # fmt: skip
def test_sampled_trains_past_chance_on_the_tiny_graph(
    tiny: Path, name: str, hparams: dict, lr: float
) -> None:
    data = load_split_dir(tiny)
    hparams = dict(hparams)
    power = hparams.pop("negative_power", 0.0)  # a training setting: draw by frequency
    config = TrainConfig(model=name, hparams=hparams, loss="sampled", negatives=8, negative_power=power,
                         lr=lr, epochs=30, batch_size=64, eval_limit=100, label_smoothing=0.1)  # fmt: skip
    result = train(data, config, log=lambda _: None)
    assert result.best_valid is not None and result.best_valid.mrr > RANDOM_MRR


def test_rotate_preset_trains_with_nssa(tiny: Path) -> None:
    config = build_config("rotate")
    assert config.loss == "nssa" and isinstance(make_loss(config, load_split_dir(tiny)), SelfAdversarial)


def test_bad_loss_settings_are_refused_before_training(tiny: Path) -> None:
    data = load_split_dir(tiny)
    with pytest.raises(ValueError, match="loss must be one of 1vsall, sampled, nssa, got 'hinge'"):
        train(data, TrainConfig(loss="hinge"), log=lambda _: None)
    for loss in ("nssa", "sampled"):
        with pytest.raises(ValueError, match="negatives >= 1"):
            train(data, TrainConfig(loss=loss, negatives=0), log=lambda _: None)
    with pytest.raises(ValueError, match="label_smoothing < 1"):
        train(data, TrainConfig(loss="sampled", label_smoothing=1.0), log=lambda _: None)
    with pytest.raises(ValueError, match="negative_power must be >= 0, got -1"):
        train(data, TrainConfig(loss="sampled", negative_power=-1.0), log=lambda _: None)
    with pytest.raises(
        ValueError, match="negative_power shapes the draws of loss 'sampled'; this run's is 'nssa'"
    ):
        train(data, TrainConfig(loss="nssa", negative_power=0.75), log=lambda _: None)
    assert set(LOSSES) == {"1vsall", "sampled", "nssa"}


@pytest.mark.parametrize("loss", ["1vsall", "sampled"])
def test_sparse_lookups_give_the_dense_gradients(tiny: Path, loss: str) -> None:
    """Training looks embeddings up with sparse gradients (``sparse_lookups``); made dense, they must be
    the gradients of dense lookups, with N3 and relation prediction adding their own lookups."""
    config = TrainConfig(model="reader", loss=loss, negatives=6, n3=0.05, relation_prediction=1.0,
                         reader_n3=0.5, label_smoothing=0.1)  # fmt: skip
    model = reader_with_context(tiny).train()
    grads = []
    for on in (False, True):
        sparse_lookups(model, on)
        model.zero_grad(set_to_none=True)
        torch.manual_seed(2)  # the same dropout and the same negatives
        batch_loss(model, BATCH, config, make_loss(config, load_split_dir(tiny))).backward()
        grad = model.entity.weight.grad
        assert grad is not None and grad.is_sparse == (on and loss == "sampled")  # 1vsall adds a dense one
        densify_grads(model)
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys()
    for name, dense in grads[0].items():
        assert not grads[1][name].is_sparse
        assert torch.allclose(dense, grads[1][name], atol=1e-6), name

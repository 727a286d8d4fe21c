"""Link-prediction jobs behind ``factloom lp``: train, evaluate, predict (split directory or the store)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from app.errors import ConfigError
from kg.keys import entity_key, relation_key
from reader import checkpoint, presets
from reader.base import LinkPredictor
from reader.evaluate import Metrics, evaluate_model
from reader.reverse import GRID, ReverseFit, fit_reverse_weight
from reader.train import TrainConfig, resolve_device, save_run, train
from retrieve.data import TripleDataset


def build_config(
    model: str | None,
    *,
    preset: str | None = None,
    config_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
    init: Path | None = None,
) -> TrainConfig:
    """``preset`` (default: the one named ``model``) < ``config_file`` (JSON or TOML; may name another
    ``"preset"``) < ``overrides``; see :func:`reader.presets.build_config`. With ``init`` (a checkpoint
    folder) the checkpoint's own training settings take the preset's place (:func:`reader.presets.continued`)
    and ``model`` may be ``None`` (the checkpoint's); without, ``None`` means ``reader``.

    Raises:
        ConfigError: an unreadable or invalid config, or ``model`` is not the checkpoint's.
        CheckpointError: ``init`` is not a checkpoint folder.
    """
    try:
        settings = presets.load_settings(config_file) if config_file is not None else {}
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    base = presets.continued(checkpoint.read_config(init), str(init)) if init is not None else None
    model = model or (base["model"] if base else "reader")
    try:
        return presets.build_config(model, preset=preset, settings=settings, overrides=overrides, base=base)
    except ValueError as exc:
        source = config_file or (f"--init {init}" if init else "training config")
        raise ConfigError(f"{source}: {exc}") from exc


def train_to(
    data: TripleDataset,
    config: TrainConfig,
    out: Path,
    log: Callable[[str], None],
    *,
    half: bool = False,
) -> dict[str, Any]:
    """Train and save a checkpoint folder with ``metrics.json``; returns that summary. ``half`` saves the
    weights as fp16 (half the file; score the saved copy with ``factloom lp eval`` to see what it cost)."""
    device = resolve_device(config.device)
    log(
        f"training {config.model} on {data.name} ({data.num_entities} entities, "
        f"{data.num_relations} relations, "
        f"{len(data.train)} train triples) on {device}"
    )
    result = train(data, config, log=log)
    summary = {"model": config.model, "dataset": data.name, "minutes": round(result.minutes, 2),
               "epochs": round(result.epochs, 3), "device": str(device),
               "device_name": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
               "valid": result.best_valid.as_json() if result.best_valid else None,
               "history": result.history, "config": config.as_json(),
               "reverse_fit": result.reverse_fit.as_json() if result.reverse_fit else None,
               "weights": "fp16" if half else "fp32",
               "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S")}  # fmt: skip
    save_run(result, config, data, out, half=half, metrics=summary)
    return summary


def evaluate_checkpoint(
    data: TripleDataset,
    directory: Path,
    *,
    split: str = "test",
    limit: int | None = None,
    seed: int = 0,
    device: str = "auto",
    reverse_weight: float | None = None,
    log: Callable[[str], None] | None = None,
) -> Metrics:
    """Filtered metrics of a checkpoint; ``reverse_weight`` replaces its own for this evaluation.

    Raises:
        ConfigError: ``reverse_weight`` is negative, or positive for a model without a reverse reading.
    """
    dev = resolve_device(device)
    model = checkpoint.load(directory, data, device=dev)
    if reverse_weight is not None:
        _set_reverse_weight(model, reverse_weight)
    return evaluate_model(model, data, split, limit=limit, seed=seed, device=dev, log=log)


def calibrate_checkpoint(
    data: TripleDataset,
    directory: Path,
    *,
    limit: int | None = None,
    seed: int = 0,
    grid: Sequence[float] = GRID,
    device: str = "auto",
    log: Callable[[str], None] | None = None,
) -> ReverseFit:
    """Fit a checkpoint's ``reverse_weight`` on the valid split (or a seeded subset of ``limit`` triples)
    and write it into its ``config.json`` (:func:`reader.reverse.fit_reverse_weight`).

    Raises:
        ConfigError: the model cannot score the reverse direction, or a bad grid.
        CheckpointError: not a checkpoint of ``data``.
    """
    dev = resolve_device(device)
    model = checkpoint.load(directory, data, device=dev)
    try:
        fit = fit_reverse_weight(model, data, limit=limit, seed=seed, grid=grid, device=dev, log=log)
    except ValueError as exc:
        raise ConfigError(f"{directory}: {exc}") from exc
    checkpoint.set_reverse_weight(directory, fit.weight, fit.as_json())
    return fit


def _set_reverse_weight(model: LinkPredictor, weight: float) -> None:
    try:
        model.set_reverse_weight(weight)
    except ValueError as exc:
        raise ConfigError(f"--reverse-weight: {exc}") from exc


@dataclass(frozen=True)
class Prediction:
    tail: str
    score: float
    rank: int


def predict(
    data: TripleDataset, directory: Path, head: str, relation: str, top_k: int = 10
) -> tuple[list[Prediction], list[tuple[str, str, str]]]:
    """Ranked tails for ``head :: relation :: ?`` and the subgraph the model read, as readable triples.
    ``head`` and ``relation`` are ids or readable names (:func:`find_entity`, :func:`find_relation`).

    Raises:
        ConfigError: the head or relation is not in the graph the model was trained on, or names several.
    """
    e = find_entity(data, head)
    r = find_relation(data, relation)
    model = checkpoint.load(directory, data)
    query = torch.tensor([[e, r]])
    model.prepare(query.numpy())
    with torch.no_grad():
        scores = model.score(query)[0]
    known = {t for h, rr, t in data.train.tolist() if h == e and rr == r}
    order = torch.argsort(scores, descending=True).tolist()
    ranked = [Prediction(data.entity_label(i), float(scores[i]), n + 1) for n, i in enumerate(
        [i for i in order if i not in known and i != e][:top_k])]  # fmt: skip
    evidence = model.evidence(e, r)
    if evidence is None:  # embedding models read no subgraph: show the head's own facts
        evidence = data.train[(data.train[:, 0] == e) | (data.train[:, 2] == e)][:20]
    triples = [
        (data.entity_label(h), data.relation_label(rr), data.entity_label(t))
        for h, rr, t in evidence.tolist()
    ]
    return ranked, triples


def find_entity(data: TripleDataset, text: str) -> int:
    """The entity ``text`` names: its id as written (``/m/016ywr``, ``Q42``), else the id or the readable
    name (``entity2text.txt``, the store's display name) with the same :func:`~kg.keys.entity_key`, so
    ``"jeremy irons"`` finds ``/m/016ywr``.

    Raises:
        ConfigError: no entity matches (the message suggests names that contain it), or several names do
            (the message lists their ids, which are unambiguous).

    Example:
        >>> import numpy as np
        >>> data = TripleDataset(["Q42", "Q90"], ["P50"], *[np.zeros((0, 3), np.int64)] * 3,
        ...                      entity_text={"Q42": "Douglas Adams", "Q90": "Paris"})
        >>> find_entity(data, "douglas adams"), find_entity(data, "Q90")
        (0, 1)
    """
    return _find("entity", text, data.entities, data.entity_text, entity_key)


def find_relation(data: TripleDataset, text: str) -> int:
    """The relation ``text`` names, as :func:`find_entity` finds entities (``relation2text.txt``,
    :func:`~kg.keys.relation_key`).

    Raises:
        ConfigError: no relation or several match; the message says which.
    """
    return _find("relation", text, data.relations, data.relation_text, relation_key)


def _find(kind: str, text: str, ids: list[str], names: dict[str, str], key: Callable[[str], str]) -> int:
    exact = [i for i, x in enumerate(ids) if x == text]
    if exact:
        return exact[0]
    wanted = key(text)
    found = sorted({i for i, x in enumerate(ids) if wanted in (key(x), key(names.get(x, x)))})
    if len(found) == 1:
        return found[0]
    if found:
        listed = ", ".join(f"{ids[i]} ({names.get(ids[i], ids[i])})" for i in found[:10])
        kinds = "entities" if kind == "entity" else f"{kind}s"
        raise ConfigError(f"{kind} {text!r} names {len(found)} {kinds}: {listed}; give one of the ids")
    close = [f"{names.get(x, x)} ({x})" if x in names else x for x in ids
             if wanted and wanted in key(names.get(x, x))][:5]  # fmt: skip
    hint = f"; e.g. {', '.join(close)}" if close else ""
    raise ConfigError(f"unknown {kind} {text!r} (key {wanted!r}) in the trained graph{hint}")

"""Link-predictor checkpoints: a folder with ``model.safetensors``, ``config.json`` and ``vocab.json``, and
``rules.safetensors`` when the model has a rule reading (:mod:`reader.rules`).

``vocab.json`` keeps the entity and relation ids and the dataset fingerprint, so a checkpoint is only ever
scored on the dataset it was trained on (a mismatch is a clear error, not silent nonsense). :func:`load` gives
a model to score with; :func:`load_for_training` one to train further (a warm start).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ingest.errors import FactloomError
from ingest.files import write_together
from reader.base import LinkPredictor
from reader.registry import MODELS
from reader.rules import RuleFit, RuleReading
from retrieve.data import TripleDataset
from retrieve.rules import RuleConfig, cached_rules

WEIGHTS = "model.safetensors"
RULES = "rules.safetensors"
"""The rule reading's weights; the rules themselves are mined again from the training graph on load (they
are a function of it and of ``config.json``'s ``rule_reading.rules``)."""


class CheckpointError(FactloomError):
    """A checkpoint folder is missing, incomplete, or belongs to another dataset."""


def save(
    model: LinkPredictor,
    data: TripleDataset,
    directory: Path,
    *,
    extra: dict[str, Any] | None = None,
    half: bool = False,
    metrics: dict[str, Any] | None = None,
) -> None:
    """Write ``model`` to ``directory`` (created). ``half`` stores floating-point weights as fp16;
    ``metrics``, the run's summary, goes to ``metrics.json``. A model with a rule reading also writes its
    weights (``rules.safetensors``) and how its rules were mined (``config.json``'s ``"rule_reading"``).

    The files are written under temporary names and renamed into place only when all are written, so a
    failed save (a full disk, an interrupt) leaves a checkpoint already in ``directory`` whole, and other
    files there (a model card) are kept.
    """
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu().contiguous()
             for k, v in model.state_dict().items()}  # fmt: skip
    config = {"model": model.name, "hparams": model.hparams(), **(extra or {})}
    config.pop("rule_reading", None)
    if model.rule_reading is not None:
        config.update(rule_reading_entry(model.rule_reading))
    vocab = {"fingerprint": data.fingerprint(), "dataset": data.name, "entities": data.entities,
             "relations": data.relations}  # fmt: skip
    writers: dict[str, Callable[[Path], Any]] = {
        "config.json": lambda path: path.write_text(json.dumps(config, indent=2, default=str)),
        "vocab.json": lambda path: path.write_text(json.dumps(vocab)),
    }
    if metrics is not None:
        writers["metrics.json"] = lambda path: path.write_text(json.dumps(metrics, indent=2))
    if model.rule_reading is not None:
        writers[RULES] = _rules_writer(model.rule_reading)
    writers[WEIGHTS] = lambda path: save_file(state, str(path))  # the big file last: the likeliest to fail
    write_together(directory, writers)


def weights_digest(directory: Path) -> str:
    """The SHA-256 of a checkpoint's weights file, hex: what a warm start records of its start
    (``started_from`` in ``config.json``), since the folder it names may later hold another model."""
    path = Path(directory) / WEIGHTS
    if not path.is_file():
        raise CheckpointError(f"{path}: missing")
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_config(directory: Path) -> dict[str, Any]:
    path = Path(directory) / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{directory}: not a checkpoint folder (no config.json)")
    return json.loads(path.read_text())


def update_config(
    directory: Path,
    entries: dict[str, Any],
    *,
    hparams: dict[str, Any] | None = None,
    rule_reading: RuleReading | bool | None = False,
) -> None:
    """Set top-level ``entries`` and model ``hparams`` in a checkpoint's ``config.json``; the weights file
    is not touched. For scoring settings fitted after training (``reverse_weight``, ``"temperature"``, the
    rule reading), with the fits that chose them. ``rule_reading``: a reading replaces the checkpoint's
    (``rules.safetensors`` and the ``"rule_reading"`` entry, written together with ``config.json``: all or
    none), ``None`` removes it from ``config.json``, ``False`` leaves it as it is.

    Raises:
        CheckpointError: not a checkpoint folder.
    """
    config = read_config(directory)
    config.update(entries)
    config["hparams"].update(hparams or {})
    writers: dict[str, Callable[[Path], Any]] = {}
    if rule_reading is None:
        config.pop("rule_reading", None)
    elif rule_reading is not False:
        assert isinstance(rule_reading, RuleReading)
        config.update(rule_reading_entry(rule_reading))
        writers[RULES] = _rules_writer(rule_reading)
    writers["config.json"] = lambda path: path.write_text(json.dumps(config, indent=2))
    write_together(Path(directory), writers)


def rule_reading_entry(reading: RuleReading) -> dict[str, Any]:
    """``config.json``'s ``"rule_reading"``: how the rules were mined and how many candidates they re-rank."""
    return {"rule_reading": {"rules": reading.rules.config.as_json(), "top": reading.top}}


def rule_fit_entry(fit: RuleFit) -> dict[str, Any]:
    """``config.json``'s ``"rule_fit"``: the fit that chose the rule reading, or found it does not help."""
    return {"rule_fit": fit.as_json()}


def _rules_writer(reading: RuleReading) -> Callable[[Path], None]:
    tensors = {k: v.contiguous() for k, v in reading.tensors().items()}
    return lambda path: save_file(tensors, str(path))


def load_rule_reading(
    directory: Path,
    data: TripleDataset,
    log: Callable[[str], None] | None = None,
    cache_dir: Path | None = None,
) -> RuleReading | None:
    """A checkpoint's rule reading, its rules mined again from ``data``'s training triples (or read from
    ``cache_dir``, :func:`retrieve.rules.cached_rules`); ``None`` when it has none.

    Raises:
        CheckpointError: ``config.json`` names a rule reading but ``rules.safetensors`` is missing or does
            not fit it.
    """
    directory = Path(directory)
    entry = read_config(directory).get("rule_reading")
    if entry is None:
        return None
    path = directory / RULES
    if not path.is_file():
        raise CheckpointError(f"{path}: missing (config.json names a rule reading)")
    try:
        config = RuleConfig(**entry["rules"])
    except (TypeError, KeyError) as exc:
        raise CheckpointError(f"{directory}/config.json: bad rule_reading.rules ({exc})") from exc
    rules = cached_rules(data.train, data.num_entities, data.num_relations, config,
                         fingerprint=data.fingerprint(), cache_dir=cache_dir, log=log)  # fmt: skip
    tensors = load_file(str(path))
    try:
        return RuleReading(rules, tensors["scale"], tensors["weights"], int(entry.get("top", 0)))
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"{path}: {exc}") from exc


def temperature_entries(temperature: float, fit: dict[str, Any] | None = None) -> dict[str, Any]:
    """``config.json``'s entries for the temperature of a checkpoint's probabilities
    (:mod:`reader.confidence`): ``"temperature"``, and the fit that chose it under ``"temperature_fit"``."""
    return {"temperature": float(temperature), **({"temperature_fit": fit} if fit is not None else {})}


def temperature(config: dict[str, Any]) -> float | None:
    """The temperature a checkpoint's probabilities were calibrated with; ``None`` when never fitted."""
    value = config.get("temperature")
    return float(value) if value is not None else None


def trained_hparams(config: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint config's model hyperparameters less the vocabulary sizes, which come from the dataset."""
    return {k: v for k, v in config["hparams"].items() if k not in ("num_entities", "num_relations")}


def _difference(kind: str, saved: list[str], current: list[str]) -> str | None:
    """How a checkpoint's vocabulary differs from a dataset's, for the error message (``None``: not at all).

    Example:
        >>> _difference("entities", ["a", "b", "c"], ["a", "c", "d"])
        "entities: 3 trained, 3 now; 1 new (e.g. 'd'), 1 gone (e.g. 'b')"
        >>> _difference("relations", ["r", "s"], ["s", "r"])
        'relations: the same 2 in another order (another split)'
    """
    if saved == current:
        return None
    was, now = set(saved), set(current)
    new, gone = [x for x in current if x not in was], [x for x in saved if x not in now]
    if not new and not gone:
        return f"{kind}: the same {len(saved)} in another order (another split)"
    parts = [f"{len(found)} {word} (e.g. {', '.join(map(repr, found[:3]))})"
             for word, found in (("new", new), ("gone", gone)) if found]  # fmt: skip
    return f"{kind}: {len(saved)} trained, {len(current)} now; {', '.join(parts)}"


def _checked(directory: Path, data: TripleDataset) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """A checkpoint's config and weights, after checking it is complete and was trained on ``data``."""
    config = read_config(directory)
    vocab_path, weights = directory / "vocab.json", directory / WEIGHTS
    for path in (vocab_path, weights):
        if not path.is_file():
            raise CheckpointError(f"{path}: missing")
    vocab = json.loads(vocab_path.read_text())
    differences = [
        d for d in (_difference("entities", vocab["entities"], data.entities),
                    _difference("relations", vocab["relations"], data.relations)) if d
    ]  # fmt: skip
    if differences:
        raise CheckpointError(
            f"{directory} was trained on dataset {vocab.get('dataset')!r}, which differs from "
            f"{data.name!r}: {'; '.join(differences)} (train a model on this data)"
        )
    if config["model"] not in MODELS:
        raise CheckpointError(f"{directory}: unknown model {config['model']!r}")
    return config, load_file(str(weights))


def _load_weights(model: LinkPredictor, state: dict[str, torch.Tensor], where: str) -> None:
    """Copy ``state`` into ``model`` (fp16 files widen to its dtype); every name and shape must fit."""
    reference = model.state_dict()
    wrong = sorted(set(reference) ^ set(state))
    wrong += sorted(k for k in set(reference) & set(state) if reference[k].shape != state[k].shape)
    if wrong:
        more = f" and {len(wrong) - 5} more" if len(wrong) > 5 else ""
        raise CheckpointError(f"{where}: the weights do not fit the model ({', '.join(wrong[:5])}{more})")
    model.load_state_dict({k: v.to(reference[k].dtype) for k, v in state.items()})


def load(
    directory: Path,
    data: TripleDataset,
    *,
    device: str | torch.device = "cpu",
    rules: bool = True,
    log: Callable[[str], None] | None = None,
    rules_cache: Path | None = None,
) -> LinkPredictor:
    """Load a checkpoint for scoring ``data``, with its rule reading when it has one and ``rules`` is True
    (the rules are mined from ``data``'s training triples, about 15 s on FB15k-237, or read from the
    ``rules_cache`` folder where an earlier load left them).

    Raises:
        CheckpointError: missing files, unknown model, or ``data`` is not the dataset it was trained on.
    """
    directory = Path(directory)
    config, state = _checked(directory, data)
    model = MODELS[config["model"]](**config["hparams"])
    _load_weights(model, state, str(directory))
    model.attach(data)
    if rules:
        model.set_rule_reading(load_rule_reading(directory, data, log, rules_cache))
    return model.to(device).eval()


def load_for_training(
    directory: Path, data: TripleDataset, model_name: str, hparams: dict[str, Any]
) -> LinkPredictor:
    """A checkpoint's model to train further (training's ``init_checkpoint``): its weights in a model built
    with the checkpoint's hyperparameters updated by ``hparams``. Those that shape no weight (dropout, the
    retriever and its limits) may change; the rest must be the checkpoint's.

    Raises:
        CheckpointError: as :func:`load`; the checkpoint holds another model; or ``hparams`` change the
            shape of its weights (the changed ones are named).
    """
    directory = Path(directory)
    config, state = _checked(directory, data)
    if config["model"] != model_name:
        raise CheckpointError(f"{directory} holds a {config['model']!r} model, not {model_name!r}")
    saved = trained_hparams(config)
    model = MODELS[model_name].build(data, **{**saved, **hparams})
    changed = ", ".join(f"{k} {saved.get(k)!r} -> {v!r}" for k, v in hparams.items() if saved.get(k) != v)
    _load_weights(model, state, f"{directory} (hparams changed from the checkpoint's: {changed or 'none'})")
    return model

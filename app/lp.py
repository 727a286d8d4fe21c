"""Link-prediction jobs behind ``factloom lp``: train, evaluate, predict (split directory or the store)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from app.errors import ConfigError
from kg.keys import entity_key, relation_key
from reader import checkpoint, presets
from reader.base import LinkPredictor
from reader.confidence import TemperatureFit, answer_probabilities, fit_temperature
from reader.evaluate import Metrics, evaluate_model
from reader.reverse import GRID, ReverseFit, fit_reverse_weight
from reader.rules import RuleFit, out_of_fold
from reader.train import TrainConfig, fit_rules, resolve_device, save_run, train
from retrieve.data import TripleDataset
from retrieve.rules import Grounding


def build_config(
    model: str | None,
    *,
    preset: str | None = None,
    config_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
    init: Path | None = None,
) -> TrainConfig:
    """``preset`` < ``config_file`` (JSON or TOML; may name a ``"preset"``, which ``preset`` replaces) <
    ``overrides``; see :func:`reader.presets.build_config`. ``model`` ``None`` means the preset's model, else
    ``reader``; a preset of another model is refused. With ``init`` (a checkpoint folder) the checkpoint's
    own training settings take the preset's place (:func:`reader.presets.continued`), ``model`` ``None``
    means the checkpoint's, and no preset may be named.

    Raises:
        ConfigError: an unreadable or invalid config, a preset of another model, or ``model`` is not the
            checkpoint's.
        CheckpointError: ``init`` is not a checkpoint folder.
    """
    try:
        settings = presets.load_settings(config_file) if config_file is not None else {}
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    if preset is not None:
        if init is not None:
            raise ConfigError("--preset: a warm start trains with its checkpoint's settings; use --config")
        settings["preset"] = preset
    base = presets.continued(checkpoint.read_config(init), str(init)) if init is not None else None
    named = settings.get("preset")
    if model is None:
        if base is not None:
            model = base["model"]
        elif named in presets.PRESETS:
            model = presets.preset_model(named)
        else:
            model = "reader"
    try:
        return presets.build_config(model, settings=settings, overrides=overrides, base=base)
    except ValueError as exc:
        source = "--preset" if preset else config_file or (f"--init {init}" if init else "training config")
        raise ConfigError(f"{source}: {exc}") from exc


def train_to(
    data: TripleDataset,
    config: TrainConfig,
    out: Path,
    log: Callable[[str], None],
    *,
    half: bool = False,
    rules_cache: Path | None = None,
) -> dict[str, Any]:
    """Train and save a checkpoint folder with ``metrics.json``; returns that summary. ``half`` saves the
    weights as fp16 (half the file; score the saved copy with ``factloom lp eval`` to see what it cost).
    ``rules_cache``: where mined rules are kept between commands (:func:`retrieve.rules.cached_rules`)."""
    device = resolve_device(config.device)
    log(
        f"training {config.model} on {data.name} ({data.num_entities} entities, "
        f"{data.num_relations} relations, "
        f"{len(data.train)} train triples) on {device}"
    )
    result = train(data, config, log=log, rules_cache=rules_cache)
    summary = {"model": config.model, "dataset": data.name, "minutes": round(result.minutes, 2),
               "epochs": round(result.epochs, 3), "device": str(device),
               "device_name": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
               "valid": result.best_valid.as_json() if result.best_valid else None,
               "history": result.history, "config": config.as_json(),
               "reverse_fit": result.reverse_fit.as_json() if result.reverse_fit else None,
               "rule_fit": result.rule_fit.as_json() if result.rule_fit else None,
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
    rules: bool = True,
    log: Callable[[str], None] | None = None,
    rules_cache: Path | None = None,
) -> Metrics:
    """Filtered metrics of a checkpoint; ``reverse_weight`` replaces its own for this evaluation, and
    ``rules`` False scores without its rule reading (if it has one).

    Raises:
        ConfigError: ``reverse_weight`` is negative, or positive for a model without a reverse reading.
    """
    dev = resolve_device(device)
    model = checkpoint.load(directory, data, device=dev, rules=rules, log=log, rules_cache=rules_cache)
    if reverse_weight is not None:
        _set_reverse_weight(model, reverse_weight)
    return evaluate_model(model, data, split, limit=limit, seed=seed, device=dev, log=log)


@dataclass(frozen=True)
class Calibrated:
    """What :func:`calibrate_checkpoint` fitted: the reverse reading's weight (``None`` for a model without
    one), the rule reading (``None``: not fitted) and the temperature of its probabilities."""

    reverse: ReverseFit | None
    temperature: TemperatureFit
    rules: RuleFit | None = None


def calibrate_checkpoint(
    data: TripleDataset,
    directory: Path,
    *,
    limit: int | None = None,
    seed: int = 0,
    grid: Sequence[float] = GRID,
    rules: bool = True,
    device: str = "auto",
    log: Callable[[str], None] | None = None,
    rules_cache: Path | None = None,
) -> Calibrated:
    """Fit a checkpoint's scoring settings on the valid split (or a seeded subset of ``limit`` triples) and
    write them into its folder in one replacement: first the ``reverse_weight``
    (:func:`reader.reverse.fit_reverse_weight`; skipped for a model that cannot score the reverse
    direction), then with it, when ``rules``, the rule reading on the whole valid split (mined from the
    training triples, kept only when it helps: :func:`reader.train.fit_rules`; ``rules`` False removes any),
    then the temperature of the probabilities (:func:`reader.confidence.fit_temperature`), on valid as
    scored by the rule reading's out-of-fold weights (:meth:`reader.rules.RuleFit.out_of_fold`). The
    model's weights file is not touched.

    Raises:
        ConfigError: a bad grid.
        CheckpointError: not a checkpoint of ``data``.
    """
    dev = resolve_device(device)
    model = checkpoint.load(directory, data, device=dev, rules=False)
    reverse = None
    if model.can_score_reverse():
        try:
            reverse = fit_reverse_weight(model, data, limit=limit, seed=seed, grid=grid, device=dev, log=log)
        except ValueError as exc:
            raise ConfigError(f"{directory}: {exc}") from exc
        model.set_reverse_weight(reverse.weight)
    rule_fit = fit_rules(model, data, device=dev, log=log, cache_dir=rules_cache) if rules else None
    with out_of_fold(model, rule_fit):  # valid scored by rule weights that did not see it
        calibrated = fit_temperature(model, data, limit=limit, seed=seed, device=dev)
    entries = checkpoint.temperature_entries(calibrated.temperature, calibrated.as_json())
    entries.update(checkpoint.rule_fit_entry(rule_fit) if rule_fit else {"rule_fit": None})
    hparams = None
    if reverse is not None:
        entries["reverse_fit"] = reverse.as_json()
        hparams = {"reverse_weight": reverse.weight}
    checkpoint.update_config(directory, entries, hparams=hparams, rule_reading=model.rule_reading)
    return Calibrated(reverse, calibrated, rule_fit)


def _set_reverse_weight(model: LinkPredictor, weight: float) -> None:
    try:
        model.set_reverse_weight(weight)
    except ValueError as exc:
        raise ConfigError(f"--reverse-weight: {exc}") from exc


@dataclass(frozen=True)
class Reason:
    """A mined rule that names an answer, readable: its ``kind`` (``path1``, ``path2``, ``constant``), the
    rule as text, its confidence and support in training, and the graph's ``facts`` that fire it."""

    kind: str
    rule: str
    confidence: float
    support: int
    facts: list[tuple[str, str, str]]


@dataclass(frozen=True)
class Prediction:
    """One ranked answer: the entity's readable name, its score, its 1-based rank, its probability of being
    the answer among the entities not already known (:func:`reader.confidence.answer_probabilities`), and
    the rules that name it (a model with a rule reading; the most confident first)."""

    entity: str
    score: float
    rank: int
    probability: float
    reasons: list[Reason]


@dataclass(frozen=True)
class Predictions:
    """:func:`predict`'s answer: the ranked ``answers``; the ``temperature`` their probabilities were
    computed at (``calibrated`` False: never fitted, so 1, the model's own softmax); the subgraph the model
    read (``evidence``), as readable triples."""

    answers: list[Prediction]
    temperature: float
    calibrated: bool
    evidence: list[tuple[str, str, str]]


def predict(
    data: TripleDataset,
    directory: Path,
    relation: str,
    *,
    head: str | None = None,
    tail: str | None = None,
    top_k: int = 10,
    rules: bool = True,
    reasons: int = 2,
    rules_cache: Path | None = None,
) -> Predictions:
    """Ranked tails for ``head :: relation :: ?``, or ranked heads for ``? :: relation :: tail`` (the model's
    inverse query ``tail :: relation⁻¹ :: ?``, trained alongside), with probabilities, and the subgraph the
    model read. Answers the graph already has (in any split), and the given entity, are left out, and the
    probabilities are spread over the rest. ``head``, ``tail`` and ``relation`` are ids or readable names
    (:func:`find_entity`, :func:`find_relation`). With a rule reading (and ``rules``), each answer gets up to
    ``reasons`` of the mined rules that name it, with the facts that fire them.

    Raises:
        ConfigError: not exactly one of ``head`` and ``tail``; an entity or relation that is not in the
            graph the model was trained on, or a name that several share.
    """
    named, forward = query_side(head, tail)
    given = find_entity(data, named)
    r = find_relation(data, relation)
    query_relation = r if forward else r + data.num_relations
    model = checkpoint.load(directory, data, rules=rules, rules_cache=rules_cache)
    fitted = checkpoint.temperature(checkpoint.read_config(directory))
    temperature = fitted if fitted is not None else 1.0  # never calibrated: the model's own softmax
    query = torch.tensor([[given, query_relation]])
    model.prepare(query.numpy())
    with torch.no_grad():
        scores = model.score(query)[0]
    every = np.concatenate([data.train, data.valid, data.test])  # the whole graph: all of it is known
    asked, answer = (0, 2) if forward else (2, 0)
    known = torch.zeros(data.num_entities, dtype=torch.bool)
    known[torch.as_tensor(every[(every[:, 1] == r) & (every[:, asked] == given), answer])] = True
    known[given] = True
    probabilities = answer_probabilities(scores, temperature, known)
    order = torch.argsort(scores.masked_fill(known, float("-inf")), descending=True, stable=True)
    answers = order[: min(top_k, int((~known).sum()))].tolist()
    reading = model.rule_reading

    def why(answer: int) -> list[Reason]:
        if reading is None or not reasons:
            return []
        return [_reason(data, g) for g in reading.rules.explain(given, query_relation, answer, reasons)]

    ranked = [Prediction(data.entity_label(i), float(scores[i]), n + 1, float(probabilities[i]), why(i))
              for n, i in enumerate(answers)]  # fmt: skip
    evidence = model.evidence(given, query_relation)
    if evidence is None:  # embedding models read no subgraph: show the entity's own facts
        train = data.train
        evidence = train[(train[:, 0] == given) | (train[:, 2] == given)][:20]
    triples = [
        (data.entity_label(h), data.relation_label(rr), data.entity_label(t))
        for h, rr, t in evidence.tolist()
    ]
    return Predictions(ranked, temperature, fitted is not None, triples)


def _reason(data: TripleDataset, grounding: Grounding) -> Reason:
    """A rule and the facts that fire it, in words: each fact in its stored direction."""
    r = data.num_relations
    rule = grounding.rule

    def atom(relation: int, a: str, b: str) -> str:
        forward = relation < r
        return f"{a if forward else b} :: {data.relation_label(relation % r)} :: {b if forward else a}"

    answer = "Y"
    if rule.kind == "path1":
        body = atom(rule.relations[0], "X", "Y")
    elif rule.kind == "path2":
        body = f"{atom(rule.relations[0], 'X', 'Z')} and {atom(rule.relations[1], 'Z', 'Y')}"
    else:
        body = atom(rule.relations[0], "X", data.entity_label(rule.constants[0]))
        answer = data.entity_label(rule.constants[1])
    text = f"{body} => {atom(rule.head, 'X', answer)}"
    facts = []
    for x, rel, y in grounding.path:  # oriented from the query entity; shown as stored
        h, t = (x, y) if rel < r else (y, x)
        facts.append((data.entity_label(h), data.relation_label(rel % r), data.entity_label(t)))
    return Reason(rule.kind, text, rule.confidence, rule.support, facts)


def query_side(head: str | None, tail: str | None) -> tuple[str, bool]:
    """The entity a prediction starts from, and whether tails are ranked (``head`` given) or heads.

    Raises:
        ConfigError: not exactly one of ``head`` and ``tail`` is given.
    """
    if head is not None and tail is None:
        return head, True
    if tail is not None and head is None:
        return tail, False
    raise ConfigError("give exactly one of --head (to rank tails) and --tail (to rank heads)")


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
    name_keys = [key(names.get(x, x)) for x in ids]
    found = [i for i, x in enumerate(ids) if wanted in (key(x), name_keys[i])]
    if len(found) == 1:
        return found[0]
    if found:
        listed = ", ".join(f"{ids[i]} ({names.get(ids[i], ids[i])})" for i in found[:10])
        kinds = "entities" if kind == "entity" else f"{kind}s"
        raise ConfigError(f"{kind} {text!r} names {len(found)} {kinds}: {listed}; give one of the ids")
    close = [f"{names.get(x, x)} ({x})" if x in names else x for x, k in zip(ids, name_keys, strict=True)
             if wanted and wanted in k][:5]  # fmt: skip
    hint = f"; e.g. {', '.join(close)}" if close else ""
    raise ConfigError(f"unknown {kind} {text!r} (key {wanted!r}) in the trained graph{hint}")

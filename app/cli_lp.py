"""``factloom lp``: link prediction on a benchmark split directory or on the user's own graph (the store)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app import context
from app.errors import ConfigError
from retrieve.data import TripleDataset, load_split_dir

if TYPE_CHECKING:
    from app.lp import Reason

lp_cli = typer.Typer(
    help="Link prediction: train, evaluate (filtered MRR, Hits@k), predict missing facts.",
    no_args_is_help=True,
)

DatasetDir = Annotated[Path | None, typer.Option(help="a train/valid/test.txt split directory")]
FromStore = Annotated[
    bool, typer.Option("--from-store", help="use the facts in the store (seeded 80/10/10 split)")
]
SplitSeed = Annotated[int, typer.Option(help="seed of the store split")]
Rules = Annotated[
    bool,
    typer.Option("--rules/--no-rules", help="use the checkpoint's rule reading, if it has one (mined rules)"),
]


def _dataset(dataset_dir: Path | None, from_store: bool, split_seed: int) -> TripleDataset:
    if (dataset_dir is None) == (not from_store):
        raise ConfigError("give exactly one of --dataset-dir DIR and --from-store")
    if dataset_dir is not None:
        return load_split_dir(dataset_dir)
    from retrieve.store_data import store_dataset

    with context.store() as opened:
        return store_dataset(opened, seed=split_seed)


def _default_store_checkpoint() -> Path:
    return Path(context.settings().data_dir) / "lp" / "store-model"


def _rules_cache() -> Path:
    """Where mined rules are kept between commands: reading FB15k-237's back takes under 1 s, mining them
    about 15 s (retrieve/rules.py)."""
    return Path(context.settings().data_dir) / "lp" / "rules-cache"


def _err(message: str) -> None:
    typer.echo(message, err=True)


@lp_cli.command("train")
def train_cmd(
    out: Annotated[
        Path | None,
        typer.Option(help="checkpoint folder to write (default for --from-store: DATA_DIR/lp/store-model)"),
    ] = None,
    dataset_dir: DatasetDir = None,
    from_store: FromStore = False,
    model: Annotated[
        str | None,
        typer.Option(help="reader | complex | rotate (default: the --preset or --init model, else reader)"),
    ] = None,
    budget_minutes: Annotated[float | None, typer.Option(help="wall-clock training budget")] = None,
    epochs: Annotated[int | None, typer.Option(help="upper bound on epochs")] = None,
    preset: Annotated[
        str | None, typer.Option(help="training preset (reader/presets.py; default: --model's own)")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="JSON/TOML training config (may name a preset)")] = None,
    device: Annotated[str | None, typer.Option(help="auto | cpu | cuda")] = None,
    seed: Annotated[int | None, typer.Option(help="training seed")] = None,
    split_seed: SplitSeed = 0,
    init: Annotated[
        Path | None,
        typer.Option(help="warm start: a checkpoint of this dataset to train further, with its settings"),
    ] = None,
    half: Annotated[bool, typer.Option("--half", help="save the weights as fp16 (half the file)")] = False,
) -> None:
    """Train a link predictor and save it (weights, config, vocabulary, metrics.json).

    With --init CKPT training starts from CKPT's weights and its own settings (its run's config, less the
    device and the KGE-only stage); --config and the options here change them, and a new schedule
    (warm-up, then decay to zero) runs over this run's budget.
    """
    from app import lp  # torch loads here, not on every factloom command

    data = _dataset(dataset_dir, from_store, split_seed)
    overrides = {"budget_minutes": budget_minutes, "epochs": epochs, "device": device, "seed": seed}
    cfg = lp.build_config(model, preset=preset, config_file=config, overrides=overrides, init=init)
    target = out or (_default_store_checkpoint() if from_store else None)
    if target is None:
        raise ConfigError("--out is required with --dataset-dir")
    summary = lp.train_to(data, cfg, target, _err, half=half, rules_cache=_rules_cache())
    keys = ("valid", "minutes", "epochs")
    typer.echo(json.dumps({"checkpoint": str(target), **{k: summary[k] for k in keys}}))


@lp_cli.command("eval")
def eval_cmd(
    checkpoint: Annotated[Path | None, typer.Option(help="checkpoint folder")] = None,
    dataset_dir: DatasetDir = None,
    from_store: FromStore = False,
    split: Annotated[str, typer.Option(help="test | valid")] = "test",
    limit: Annotated[int | None, typer.Option(help="a seeded subset of this many triples")] = None,
    seed: Annotated[int, typer.Option(help="seed of the subset")] = 0,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    split_seed: SplitSeed = 0,
    reverse_weight: Annotated[
        float | None,
        typer.Option(help="weight of the reverse reading for this run (default: the checkpoint's)"),
    ] = None,
    rules: Rules = True,
) -> None:
    """Filtered ranking over all entities, head and tail directions averaged, ties = mean rank."""
    from app import lp

    data = _dataset(dataset_dir, from_store, split_seed)
    target = _checkpoint_for(checkpoint, from_store)
    metrics = lp.evaluate_checkpoint(data, target, split=split, limit=limit, seed=seed, device=device,
                                     reverse_weight=reverse_weight, rules=rules,
                                     rules_cache=_rules_cache())  # fmt: skip
    if as_json:
        typer.echo(json.dumps(metrics.as_json()))
    else:
        m = metrics
        typer.echo(
            f"{split}: MRR {m.mrr:.4f}  H@1 {m.hits1:.4f}  H@3 {m.hits3:.4f}  H@10 {m.hits10:.4f}  "
            f"({m.queries} queries)"
        )


@lp_cli.command("calibrate")
def calibrate_cmd(
    checkpoint: Annotated[Path | None, typer.Option(help="checkpoint folder (rewrites config.json)")] = None,
    dataset_dir: DatasetDir = None,
    from_store: FromStore = False,
    limit: Annotated[int | None, typer.Option(help="a seeded subset of this many valid triples")] = None,
    seed: Annotated[int, typer.Option(help="seed of the subset")] = 0,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    split_seed: SplitSeed = 0,
    rules: Annotated[
        bool, typer.Option("--rules/--no-rules", help="fit the rule reading (--no-rules removes it)")
    ] = True,
) -> None:
    """Fit how a checkpoint scores on the valid split and save it in its folder.

    First the weight of the reverse reading: a query (x, r, ?) can also ask, for each candidate e, how well
    x answers (e, r⁻¹, ?). Then the rule reading: rules mined from the training facts re-rank the model's
    best candidates, fitted on all of valid and kept only if cross-validation says they help. Then the
    temperature that makes `lp predict`'s probabilities calibrated (ranks do not change). Training fits all
    three itself; this command is for checkpoints trained before it did, or to refit. config.json and
    rules.safetensors change; the model's weights do not.
    """
    from app import lp
    from reader.confidence import SHOWN

    data = _dataset(dataset_dir, from_store, split_seed)
    target = _checkpoint_for(checkpoint, from_store)
    fitted = lp.calibrate_checkpoint(data, target, limit=limit, seed=seed, device=device, rules=rules,
                                     log=None if as_json else _err, rules_cache=_rules_cache())  # fmt: skip
    reverse, calibrated, rule_fit = fitted.reverse, fitted.temperature, fitted.rules
    if as_json:
        fit = reverse.as_json() if reverse is not None else {"weight": None}
        typer.echo(json.dumps({"checkpoint": str(target), **fit, "temperature_fit": calibrated.as_json(),
                               "rule_fit": rule_fit.as_json() if rule_fit else None}))  # fmt: skip
        return
    if reverse is None:
        typer.echo("reverse reading: this model has none")
    else:
        for weight, m in reverse.metrics.items():
            mark = "  <- saved" if weight == reverse.weight else ""
            typer.echo(f"reverse_weight {weight:4g}: valid MRR {m.mrr:.4f}  H@10 {m.hits10:.4f}{mark}")
    if rule_fit is None:
        typer.echo("rule reading: not fitted (--no-rules); removed")
    else:
        verdict = "saved" if rule_fit.reading is not None else "not kept: it does not beat the model alone"
        best = rule_fit.cv_mrr[rule_fit.penalty or "shared"]
        typer.echo(f"rule reading {verdict}: cross-validated valid MRR {best:.4f} against "
                   f"{rule_fit.base_mrr:.4f} alone ({rule_fit.queries} queries, {rule_fit.z:.1f} standard "
                   "errors)")  # fmt: skip
    before, after = calibrated.before, calibrated.after
    typer.echo(
        f"temperature {calibrated.temperature:.3g} (saved; {after.queries} valid queries): calibration error "
        f"of the {SHOWN} best answers {before.ece_shown:.4f} -> {after.ece_shown:.4f}, of the top answer "
        f"{before.ece:.4f} -> {after.ece:.4f}; NLL {before.nll:.4f} -> {after.nll:.4f}"
    )


def _reason_json(reason: Reason) -> dict[str, object]:
    return {"kind": reason.kind, "rule": reason.rule, "confidence": reason.confidence,
            "support": reason.support, "facts": [list(f) for f in reason.facts]}  # fmt: skip


def _checkpoint_for(checkpoint: Path | None, from_store: bool) -> Path:
    target = checkpoint or (_default_store_checkpoint() if from_store else None)
    if target is None:
        raise ConfigError("--checkpoint is required with --dataset-dir")
    return target


@lp_cli.command("predict")
def predict_cmd(
    relation: Annotated[str, typer.Option(help="relation: id or name")],
    head: Annotated[str | None, typer.Option(help="head entity (id or name): rank its tails")] = None,
    tail: Annotated[str | None, typer.Option(help="tail entity (id or name): rank its heads")] = None,
    top_k: Annotated[int, typer.Option(min=1, help="how many answers")] = 10,
    checkpoint: Annotated[Path | None, typer.Option(help="checkpoint (default: the store model)")] = None,
    dataset_dir: DatasetDir = None,
    split_seed: SplitSeed = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    rules: Rules = True,
) -> None:
    """Rank tails for HEAD :: RELATION :: ? (or heads for ? :: RELATION :: TAIL), known facts left out,
    with the subgraph read as evidence, and for each answer the mined rules that name it (a checkpoint
    with a rule reading).

    Entities and RELATION are ids or readable names (entity2text.txt / relation2text.txt, the store's
    names), matched as written, then case- and space-insensitively."""
    from app import lp

    named, forward = lp.query_side(head, tail)  # checked before the store or the model is opened
    data = _dataset(dataset_dir, dataset_dir is None, split_seed)
    target = checkpoint or _default_store_checkpoint()
    found = lp.predict(data, target, relation, head=head, tail=tail, top_k=top_k, rules=rules,
                       rules_cache=_rules_cache())  # fmt: skip
    if as_json:
        given, side = ("head", "tail") if forward else ("tail", "head")  # side: what is ranked
        typer.echo(json.dumps({given: named, "relation": relation,
                               "predictions": [{side: p.entity, "score": p.score, "rank": p.rank,
                                                "probability": p.probability,
                                                "rules": [_reason_json(r) for r in p.reasons]}
                                               for p in found.answers],
                               "temperature": found.temperature, "calibrated": found.calibrated,
                               "evidence": [list(t) for t in found.evidence]}))  # fmt: skip
        return
    if not found.calibrated:
        _err(f"{target}: probabilities uncalibrated (the model's own softmax); see factloom lp calibrate")
    for p in found.answers:
        typer.echo(f"{p.rank:3d}. {p.entity}  (p {p.probability:.3f}, score {p.score:.3f})")
        for reason in p.reasons:
            facts = "; ".join(" :: ".join(fact) for fact in reason.facts)
            typer.echo(f"       because ({reason.confidence:.2f}): {facts}")
    typer.echo("evidence:")
    for h, r, t in found.evidence:
        typer.echo(f"  {h} :: {r} :: {t}")

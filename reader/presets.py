"""Default training settings per model, for a 2-core CPU; ``--config FILE`` overrides any of them.

Each preset is a measured choice (``bench/RESULTS.md``, link prediction, has the runs behind it):

- ``reader``: the CPU reader. It reads a small relation-aware context through "fused" edge tokens with
  cross-attention only (no S×S encoder), on top of a ComplEx shortcut of the baseline's size (d=256 = 128
  complex dimensions) whose tables train at the baseline's rate. ``reader-distmult`` is the earlier CPU
  reader, kept for comparison.
- ``reader-gpu``: KG-R3's size (d=320, 3 + 3 layers, 8 heads, FFN 1280) with the graph-masked encoder;
  ``reader-gpu-graph`` adds the ComplEx shortcut, ``reader-gpu-fused`` is the CPU design at d=512.
- ``-staged``: the ComplEx shortcut trains alone for the first 30 % of the run (``kge_warmup``), then the
  reader joins as a residual that starts at zero; ``reader-late-n3rp`` joins at 70 %. With 60 minutes of one
  core, ``reader-staged`` matched ComplEx trained in the same run.
- ``-n3rp``: N3 0.05 and relation prediction 1 (after Chen et al.'s FB15k-237 run; ``-n3rp-wn``: their WN18RR
  weights). On FB15k-237 they added +0.025 test MRR at 30 minutes.

The shipped checkpoints are presets plus a config file: ``models/lp/fb15k-237-reader`` is
``reader-gpu-staged-n3rp`` with ``bench/configs/rank512-anneal-rp4.json`` (1024-wide tables, the ``sampled``
loss, the KGE stage decaying to zero before the reader joins at 85 %, relation prediction at Chen et al.'s
weight 4; 100 minutes of two CPU cores), polished by a warm start with
``bench/configs/warm-start/polish-1vsall.json``; ``models/lp/wn18rr-reader`` is ``reader-staged-n3rp-wn`` with
``bench/configs/wn-half-rn3x4.json`` (joins at 50 %, batch 1024, ``reader_n3`` 2.0; 60 minutes of one core).
Their model cards give the commands and scores. ``reader_n3`` (an N3 penalty on the reader's own term) is
what removed the dip in valid MRR when the reader joins: 0.5 on FB15k-237 (``bench/configs/late-rn3.json``,
the best 60-minute one-core FB15k-237 reader), 2.0 on WN18RR.

``shortcut_init`` is a trade-off, measured (bench/RESULTS.md): the benchmark presets start the shortcut's
relations at random, because with the identity every WN18RR query's own entity was its top answer after half
an epoch (filtered H@1 exactly 0). ``reader``, the default for ``factloom lp train`` and so for the user's own
graph, keeps the identity: on the demo store (2,549 relations over 7,710 training triples, most relations
seen a few times) it reached valid MRR 0.094 in one minute against 0.036 with random relations.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

from reader import checkpoint
from reader.train import TrainConfig

PRESETS: dict[str, dict[str, Any]] = {
    "complex": {"hparams": {"dim": 128, "dropout": 0.2}, "lr": 1e-2, "batch_size": 1024,
                "label_smoothing": 0.0},
    # RotatE's own loss, self-adversarial negative sampling, with its paper's FB15k-237 settings (margin 9,
    # 256 negatives, α 1; ``rotate-wn``: its WN18RR margin 6). 1-vs-all softmax over ``margin - distance``
    # trained slowly (WN18RR 0.176 test MRR after 15 minutes); with ``nssa`` at lr 0.1, valid 0.460 after 3
    # (bench/RESULTS.md). lr 0.1, not the paper's 5e-5: PyG's initial embeddings are tiny (Xavier) and its
    # L2 distance needs them to grow to the margin's scale.
    "rotate": {"hparams": {"dim": 128, "margin": 9.0}, "lr": 0.1, "batch_size": 1024, "loss": "nssa",
               "negatives": 256, "adversarial_temperature": 1.0},
    "reader": {"model": "reader",
               "hparams": {"dim": 256, "heads": 4, "ffn": 256, "context_layers": 0, "query_layers": 2,
                           "dropout": 0.1, "retriever": "relation", "token_mode": "fused",
                           "shortcut": "complex", "shortcut_dropout": 0.2, "shortcut_init": "identity",
                           "retriever_args": {"max_edges": 16, "hop2_neighbours": 2}},
               "lr": 2e-3, "embedding_lr": 1e-2, "batch_size": 512, "optimizer": "adam", "warmup_steps": 200,
               "label_smoothing": 0.1},
    # the CPU reader of the first 30- and 60-minute runs (bench/RESULTS.md): DistMult shortcut, one lr
    "reader-distmult": {"model": "reader",
                        "hparams": {"dim": 128, "heads": 4, "ffn": 256, "context_layers": 0,
                                    "query_layers": 2, "dropout": 0.1, "retriever": "relation",
                                    "token_mode": "fused", "shortcut": "distmult",
                                    "retriever_args": {"max_edges": 16, "hop2_neighbours": 2}},
                        "lr": 2e-3, "batch_size": 512, "optimizer": "adam", "warmup_steps": 200,
                        "label_smoothing": 0.1},
    "reader-gpu": {"model": "reader",
                   "hparams": {"dim": 320, "heads": 8, "ffn": 1280, "context_layers": 3, "query_layers": 3,
                               "dropout": 0.1, "retriever": "relation",
                               "retriever_args": {"max_edges": 48, "hop2_neighbours": 4}},
                   "lr": 5e-3, "batch_size": 512, "optimizer": "adamax", "warmup_steps": 500,
                   "label_smoothing": 0.1, "eval_limit": 2000},
    # GPU candidates with the ComplEx shortcut (first measured 2026-11-26, bench/RESULTS.md)
    "reader-gpu-fused": {"model": "reader",
                         "hparams": {"dim": 512, "heads": 8, "ffn": 1024, "context_layers": 0,
                                     "query_layers": 2, "dropout": 0.1, "retriever": "relation",
                                     "token_mode": "fused", "shortcut": "complex", "shortcut_dropout": 0.2,
                                     "shortcut_init": "random",
                                     "retriever_args": {"max_edges": 32, "hop2_neighbours": 4}},
                         "lr": 2e-3, "embedding_lr": 1e-2, "batch_size": 512, "optimizer": "adam",
                         "warmup_steps": 500, "label_smoothing": 0.1, "eval_limit": 2000},
    "reader-gpu-graph": {"model": "reader",
                         "hparams": {"dim": 320, "heads": 8, "ffn": 1280, "context_layers": 3,
                                     "query_layers": 3, "dropout": 0.1, "retriever": "relation",
                                     "shortcut": "complex", "shortcut_dropout": 0.2,
                                     "shortcut_init": "random",
                                     "retriever_args": {"max_edges": 48, "hop2_neighbours": 4}},
                         "lr": 5e-3, "embedding_lr": 1e-2, "batch_size": 512, "optimizer": "adamax",
                         "warmup_steps": 500, "label_smoothing": 0.1, "eval_limit": 2000},
}  # fmt: skip
PRESETS["rotate-wn"] = {
    "model": "rotate",
    **PRESETS["rotate"],
    "hparams": {**PRESETS["rotate"]["hparams"], "margin": 6.0},
}
# the same readers with a KGE-only first stage (TrainConfig.kge_warmup): the tables train at ComplEx speed
# for the first 30 % of the run, then the reader joins as a residual that starts at zero; the benchmark
# preset's shortcut relations start at random (see the module docstring)
PRESETS["reader-staged"] = {
    **PRESETS["reader"],
    "kge_warmup": 0.3,
    "hparams": {**PRESETS["reader"]["hparams"], "shortcut_init": "random"},
}
PRESETS["reader-gpu-staged"] = {**PRESETS["reader-gpu-fused"], "kge_warmup": 0.3}
# candidates with the KGE literature's regularisers on ComplEx / the ComplEx shortcut: N3 (Lacroix et al.,
# 2018) and relation prediction (Chen et al., 2021; their best FB15k-237 run: N3 0.05, weight 4, rank 1000,
# 500 epochs, MRR .388). Weight 1 here: the middle of their grid, for runs of a few epochs. Measured on CPU:
# +0.025 test MRR on FB15k-237 at 30 minutes, -0.005 on WN18RR at 60 (their WN18RR weights are lower).
RECIPE = {"n3": 0.05, "relation_prediction": 1.0}
# Their WN18RR weights (``-n3rp-wn``): twice the N3, relation prediction twenty times lighter.
RECIPE_WN = {"n3": 0.10, "relation_prediction": 0.05}
for name in ("complex", "reader-staged", "reader-gpu-staged"):
    for suffix, recipe in (("n3rp", RECIPE), ("n3rp-wn", RECIPE_WN)):
        PRESETS[f"{name}-{suffix}"] = {"model": PRESETS[name].get("model", name), **PRESETS[name], **recipe}
# the reader joins at 70 % instead of 30 %: under N3 + relation prediction ComplEx is still climbing after
# 60 CPU minutes, so KGE-speed epochs count for more than the reader's reading (0.345 against 0.339 test MRR
# on FB15k-237, 60 minutes of one core; bench/RESULTS.md).
PRESETS["reader-late-n3rp"] = {**PRESETS["reader-staged-n3rp"], "kge_warmup": 0.7}


def preset_model(name: str) -> str:
    """The model a preset trains (its ``"model"``; a preset without one is named after its model).

    Example:
        >>> preset_model("complex-n3rp"), preset_model("rotate-wn"), preset_model("reader-late-n3rp")
        ('complex', 'rotate', 'reader')
    """
    return PRESETS[name].get("model", name)


def load_settings(path: Path) -> dict[str, Any]:
    """A training config file: JSON, or TOML when the name ends in ``.toml``.

    Raises:
        ValueError: the file cannot be read or parsed; the message names it.
    """
    try:
        text = path.read_text()
        return tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read training config: {exc}") from exc


def merge_settings(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top``'s settings over ``base``'s; their ``hparams`` merge key by key rather than replace."""
    return {**base, **top, "hparams": {**base.get("hparams", {}), **top.get("hparams", {})}}


def continued(saved: dict[str, Any], path: str) -> dict[str, Any]:
    """The settings that go on training a checkpoint (``factloom lp train --init``): its run's own
    (``config.json``'s ``"train"``; only its model and hyperparameters where a checkpoint has none), less
    the machine they ran on (``device``, ``threads``) and any setting this version no longer has, with no
    KGE-only stage (the shortcut has trained; so no ``stage_schedule``) and ``init_checkpoint`` = ``path``.

    Example:
        >>> continued({"model": "complex", "hparams": {"num_entities": 9, "num_relations": 2, "dim": 8},
        ...            "train": {"model": "complex", "lr": 0.01, "device": "cuda"}}, "ckpt")["lr"]
        0.01
    """
    run = dict(saved.get("train") or {"model": saved["model"]})
    run["hparams"] = checkpoint.trained_hparams(saved)
    known = {f.name for f in fields(TrainConfig)} - {"device", "threads"}
    run = {k: v for k, v in run.items() if k in known}
    return {
        **run,
        "kge_warmup": 0.0,
        "freeze_kge_on_join": False,
        "stage_schedule": False,
        "init_checkpoint": path,
    }


def build_config(
    model: str,
    *,
    preset: str | None = None,
    settings: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
    base: dict[str, Any] | None = None,
) -> TrainConfig:
    """The preset (default: the one named ``model``) < ``settings`` (a config file's values; may name another
    ``"preset"``; its ``hparams`` merge into the preset's) < ``overrides`` (``None`` values are skipped).
    ``base`` (e.g. :func:`continued`) takes the preset's place; ``settings`` then cannot name a preset.

    Raises:
        ValueError: an unknown preset or setting, a preset or ``base`` for another model, named in the
            message.
    """
    settings = dict(settings or {})
    if base is None:
        preset = settings.pop("preset", preset or model)
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        if preset_model(preset) != model:  # never switch the model behind the caller's back
            raise ValueError(f"preset {preset!r} trains a {preset_model(preset)!r} model, not {model!r}")
        base = {"model": model, **PRESETS[preset]}
    elif "preset" in settings:
        raise ValueError(
            f"names preset {settings['preset']!r}, but a warm start's settings are its checkpoint's"
        )
    elif base["model"] != model:
        raise ValueError(f"the checkpoint holds a {base['model']!r} model, not {model!r}")
    values = merge_settings(base, settings)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    unknown = sorted(set(values) - {f.name for f in fields(TrainConfig)})
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(unknown)}")
    return TrainConfig(**values)

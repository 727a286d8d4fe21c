"""Default training settings per model, for a 2-core CPU; ``--config FILE`` overrides any of them.

Measured choices (see ``bench/RESULTS.md``, link prediction): on CPU the reader reads a small relation-aware
context through "fused" edge tokens and cross-attention only (no S×S encoder), on top of a ComplEx shortcut
of the baseline's size (d=256 = 128 complex dimensions) whose tables train at the baseline's rate;
``reader-distmult`` is the earlier CPU reader; ``reader-gpu`` is KG-R3's size (d=320, 3+3 layers, 8 heads,
FFN 1280) with the graph-masked encoder; ``reader-gpu-fused`` (the CPU design at d=512) and
``reader-gpu-graph`` (KG-R3's size) add the ComplEx shortcut for a GPU. The ``-staged`` presets train the
ComplEx shortcut alone for the first 30 % of the run: ``reader-staged`` matched ComplEx in the same 60-minute
CPU run. The ``-n3rp`` presets add N3 0.05 and relation prediction 1 (after Chen et al.'s FB15k-237
run; ``-n3rp-wn``: their WN18RR weights; 6 minutes on an H100: ``complex-n3rp-wn`` 0.477 on WN18RR):
``reader-staged-n3rp`` reached 0.337 after 30 minutes on one core, against 0.312 without them in the same
run. ``reader-late-n3rp`` (the reader joins at 70 %): 0.345 after 60 minutes, where ``complex-n3rp`` reached
0.349 in the same run. The previous FB15k-237 checkpoint was ``reader-gpu-staged-n3rp`` with
``bench/configs/rank512-late.json`` (6 minutes on an H100: 0.356, against ``complex-n3rp`` at the same rank
0.377 in the same run). The best 60-minute one-core reader is ``reader-late-n3rp`` with batch 1024 and
``reader_n3`` 0.5 (``bench/configs/late-rn3.json``): 0.3529, ``complex-n3rp`` 0.3525 in the same run; without
``reader_n3`` the reader's valid MRR dips when it joins. Since the twelfth session the shipped FB15k-237
checkpoint is ``reader-gpu-staged-n3rp`` with ``bench/configs/rank512-sampled.json`` (the ``sampled`` loss,
joins at 80 %): 0.359 after 100 minutes of the dev VM's two cores. Since the thirteenth session it is
``bench/configs/rank512-anneal.json`` (``stage_schedule``: the KGE stage decays to zero by the join at 85 %,
then the reader trains on frozen tables): 0.366 in the same 100 minutes, and that is the KGE stage's end, its
reader term zero: the reader stage did not beat it on valid, and the 0.359 reader's reading added +0.0004
(not significant). Since the fourteenth session it is ``bench/configs/rank512-anneal-rp4.json``, the same with
relation prediction at Chen et al.'s weight 4: 0.369 in the same 100 minutes, the reader stage's end, its
reading worth +0.0012 (95 % interval [-0.0000, +0.0023]). Since the fifteenth session it is that checkpoint
polished by a 60-minute warm start with ``bench/configs/warm-start/polish-1vsall.json`` (the ``1vsall`` loss
at a tenth of the rate, the ComplEx part first, then the reader on frozen tables): 0.377, its reading worth
+0.0055 (interval [+0.0043, +0.0068]); since the eighteenth session it scores with its reverse reading at
weight 0.5 (``reader/reverse.py``, fitted on valid; the same weights): 0.381. On WN18RR the shipped
checkpoint is ``reader-staged-n3rp-wn`` with ``bench/configs/wn-half-rn3x4.json`` (joins at 50 %, batch
1024, ``reader_n3`` 2.0): 0.478 after 60 minutes of one core (seeds 0/1/2: 0.477/0.478/0.476; KG-R3
published 0.472), where ``complex-n3rp-wn`` reached 0.468 in the seed-0 run.

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
        ValueError: an unknown preset or setting, or a ``base`` for another model, named in the message.
    """
    settings = dict(settings or {})
    if base is None:
        preset = settings.pop("preset", preset or model)
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
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

"""Where a link-prediction training step's time goes: median milliseconds per 512 queries, one thread.

Goal (a) is a wall-clock race, so a reader step's cost against a ComplEx step's decides how many epochs each
gets. Every row trains on the same seeded batches from ``train`` with the ``-n3rp`` loss through
``reader.train.batch_loss`` (1-vs-all cross-entropy with label smoothing 0.1, the presets' N3 0.05 and
relation prediction 1) and Adam; the first 5 steps are warm-up and not timed. ComplEx at batch 512 is the
baseline; the other rows are the ComplEx preset's batch (1024, scaled to 512 queries), the reader's KGE-only
stage, the reader as preset, and cheaper readers (fewer edges, one query layer, narrower layers).

``--wide`` measures the shipped FB15k-237 reader's size instead (``bench/configs/rank512-late-rn3.json``:
1024-wide tables, batch 1024), KGE-only stage and reader stage, each with the ``1vsall`` loss (the baseline)
and with the ``sampled`` loss (2,048 negatives), the latter with dense and with sparse embedding gradients
(``reader.train.sparse_lookups``, what training uses).

Usage:
    python bench/lp_steptime.py --dataset-dir ../shared/data/kg/fb15k-237 [--steps 25] [--profile]
    python bench/lp_steptime.py --dataset-dir ../shared/data/kg/fb15k-237 --wide --threads 2
    python bench/lp_steptime.py --dataset-dir DIR --wide --batch 128 --steps 6   # a quick check of the table
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from reader.base import LinkPredictor
from reader.losses import Loss, OneVsAll
from reader.presets import build_config, load_settings, preset_model
from reader.registry import MODELS
from reader.train import TrainConfig, batch_loss, densify_grads, make_loss, sparse_lookups, with_inverse
from retrieve.data import TripleDataset, load_split_dir

WARMUP = 5


def step_ms(
    model: LinkPredictor,
    config: TrainConfig,
    batches: list[np.ndarray],
    *,
    kge_only: bool = False,
    loss_fn: Loss | None = None,
    sparse: bool = False,
) -> float:
    """Median wall time of one training step, in milliseconds per 512 queries; ``loss_fn`` defaults to
    ``1vsall`` with label smoothing 0.1 (the same for every row of the default table)."""
    if kge_only:  # the KGE-only stage reads no subgraphs, so none are retrieved for it
        model.set_kge_only(True)
    else:  # retrieval is done once before training, so it is not timed here either
        for b in batches:
            model.prepare(b[:, :2])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = loss_fn or OneVsAll(label_smoothing=0.1)
    model.train()
    sparse_lookups(model, sparse)
    times = []
    for i, b in enumerate(batches):
        t = torch.as_tensor(b)
        tic = time.perf_counter()
        loss = batch_loss(model, t, config, loss_fn)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        densify_grads(model)
        optimizer.step()
        if i >= WARMUP:
            times.append(time.perf_counter() - tic)
    return 1000 * statistics.median(times) * 512 / len(batches[0])


def build(data: TripleDataset, preset: str, **hparams: object) -> tuple[LinkPredictor, TrainConfig]:
    """The preset's model (with ``hparams`` changed) and its training settings (N3, relation prediction)."""
    config = build_config(preset_model(preset), preset=preset)
    torch.manual_seed(0)
    return MODELS[config.model].build(data, **{**config.hparams, **hparams}), config


WIDE = Path(__file__).parent / "configs" / "rank512-late-rn3.json"


def wide_rows(data: TripleDataset, batches: list[np.ndarray]) -> list[tuple[str, float]]:
    """The ``--wide`` table: the shipped FB15k-237 reader's size, ``1vsall`` against ``sampled``."""
    config = build_config("reader", settings=load_settings(WIDE))
    full, sampled = make_loss(config, data), make_loss(replace(config, loss="sampled", negatives=2048), data)
    rows = []
    for stage, kge_only in (("KGE-only stage", True), ("reader stage", False)):
        for label, loss_fn, sparse in (
            ("1vsall", full, False),
            ("sampled 2048", sampled, False),
            ("sampled 2048, sparse grads", sampled, True),
        ):
            torch.manual_seed(0)
            model = MODELS["reader"].build(data, **config.hparams)
            ms = step_ms(model, config, batches, kge_only=kge_only, loss_fn=loss_fn, sparse=sparse)
            rows.append((f"{stage}, {label}", ms))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset-dir", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=25, help="steps per row, the first 5 untimed")
    parser.add_argument("--profile", action="store_true", help="also print torch.profiler's top operators")
    parser.add_argument("--wide", action="store_true", help="the 1024-wide reader: 1vsall against sampled")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, help="--wide's batch size (default: its preset's 1024)")
    args = parser.parse_args()
    if args.batch is not None and not args.wide:
        raise SystemExit("--batch sets --wide's batch size; the default table compares fixed batches")
    if args.steps <= WARMUP:
        raise SystemExit(f"--steps must be more than {WARMUP}")
    if args.wide and args.profile:
        raise SystemExit("--profile profiles the default table's reader: run it without --wide")
    torch.set_num_threads(args.threads)
    data = load_split_dir(args.dataset_dir)
    queries = with_inverse(data.train, data.num_relations)
    rng = np.random.default_rng(0)

    def batches(size: int, n: int) -> list[np.ndarray]:
        small_graph = len(queries) < size  # a test fixture: sample with replacement
        return [queries[rng.choice(len(queries), size, replace=small_graph)] for _ in range(n)]

    if args.wide:
        rows = wide_rows(data, batches(args.batch or 1024, args.steps))
    else:
        small, big = batches(512, args.steps), batches(1024, max(WARMUP + 5, args.steps // 2))
        fewer = {"max_edges": 8, "hop2_neighbours": 2}
        rows = [
            ("complex, batch 512 (baseline)", step_ms(*build(data, "complex-n3rp"), small)),
            ("complex, batch 1024 (preset)", step_ms(*build(data, "complex-n3rp"), big)),
            ("reader, KGE-only stage", step_ms(*build(data, "reader-late-n3rp"), small, kge_only=True)),
            ("reader, 16 edges (preset)", step_ms(*build(data, "reader-late-n3rp"), small)),
            ("reader, 8 edges", step_ms(*build(data, "reader-late-n3rp", retriever_args=fewer), small)),
            ("reader, 1 query layer", step_ms(*build(data, "reader-late-n3rp", query_layers=1), small)),
            ("reader, layers 128 wide", step_ms(*build(data, "reader-late-n3rp", inner_dim=128), small)),
            ("reader, layers 64 wide", step_ms(*build(data, "reader-late-n3rp", inner_dim=64), small)),
        ]
    machine = f"{platform.node()} CPU x{args.threads} thread(s) (torch {torch.__version__})"
    print(f"\n{date.today()} {machine}, {args.dataset_dir.name}")
    print(f"{'model':44s} {'ms/512 queries':>15s} {'vs baseline':>12s}")
    for name, ms in rows:
        baseline = rows[3][1] if args.wide and name.startswith("reader stage") else rows[0][1]
        print(f"{name:44s} {ms:15.1f} {ms / baseline:11.2f}x")
    if args.profile:
        from torch.profiler import profile

        model, config = build(data, "reader-late-n3rp")
        step_ms(model, config, small[: WARMUP + 1])
        with profile() as prof:
            step_ms(model, config, small[: WARMUP + 3])
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))


if __name__ == "__main__":
    main()

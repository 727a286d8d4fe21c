"""Link-prediction benchmark: train models under one wall-clock budget, evaluate filtered ranking.

For each dataset and model: train with the model's preset (``reader/presets.py``) for ``--budget-minutes``
of training time (subgraph retrieval and evaluation are timed separately), then evaluate on the full test
split (or ``--limit`` triples, seeded) and print one table with every model of the run side by side. With
``--out DIR`` each checkpoint is saved under ``DIR/<dataset>-<preset>`` with its ``metrics.json``
(``<preset>+<config stem>`` when ``--config FILE`` changed the presets; the table shows the same name),
before its test evaluation: a run cut off there keeps its weights and valid score, and ``metrics.json`` gains
the test scores once they exist. With ``--half`` the weights are saved in fp16 and the test scores are the
saved copy's (what ships, ranked first); the in-memory weights are ranked after it (``in_memory_mrr``). An
entry ``MODEL:FILE.json`` (or ``.toml``) trains with that config file, which names its own ``"preset"``
(``bench/configs/``); its row is named by the file's stem.

With ``--init CKPT`` every entry is a warm start of that checkpoint (``factloom lp train --init``): the
checkpoint's own run settings take the preset's place, and an entry ``MODEL:FILE.json`` is an overlay on
them (``bench/configs/warm-start/``), so one call can try several continuations of one model.

With ``--parallel`` every (dataset, model) trains at the same time in its own process with one torch thread
(on a 2-core machine: one core each, both inside the same wall-clock window, so load on the machine hits
them alike); each child's log goes to ``<out>/logs/`` and the parent prints the joint table of those that
finished, then names any that failed (exit 1). Stopping the parent (Ctrl-C, SIGTERM) stops the children.

After training, each model that can score the reverse direction gets its ``reverse_weight`` fitted on the
valid subset (``reader/reverse.py``; the config's ``reverse_grid``, ``[]`` to keep 0): the table's
``reverse`` column, and the test scores are with it. Then its rule reading is fitted on all of valid
(``reader/rules.py``; ``"rule_reading": false`` in a config skips it): the test scores are with it when it
was kept, and the ``alone`` column is the test MRR of the same model without it (ranked in the same pass).

Usage:
    python bench/lp.py --dataset-dir ../shared/data/kg/fb15k-237 --models reader,complex --budget-minutes 60
    python bench/lp.py --dataset-dir DIR --models reader,complex --budget-minutes 60 --parallel
    python bench/lp.py --dataset-dir DIR --models reader:reader-gpu-staged,complex --budget-minutes 7 \
        --device cuda --parallel --child-threads 4
    python bench/lp.py --dataset-dir DIR --models rotate --config lr.json  # {"lr": 0.1} over the preset
    python bench/lp.py --dataset-dir DIR --models reader:bench/configs/rank512-late.json,complex \
        --budget-minutes 6 --device cuda --parallel --child-threads 3  # a config file in an entry
    python bench/lp.py --dataset-dir DIR --init models/lp/fb15k-237-reader --parallel --child-threads 6 \
        --models reader:WARM/gpu-reader.json,reader:WARM/gpu-polish.json \
        --budget-minutes 5.5 --device cuda --half  # two warm starts; WARM = bench/configs/warm-start

Published filtered MRR for scale (both directions): KG-R3 .390 FB15k-237 / .472 WN18RR; NBFNet .416 / .551;
ComplEx (LibKGE) .348 / .475; RotatE .337 / .477.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from ingest.files import write_file
from reader import checkpoint
from reader.base import LinkPredictor
from reader.evaluate import Metrics, evaluate_model, metrics_from_ranks, model_ranks_many
from reader.presets import PRESETS, build_config, continued, load_settings, merge_settings
from reader.registry import MODELS
from reader.train import TrainConfig, resolve_device, save_run, train
from retrieve.data import TripleDataset, load_split_dir


def config_for(
    model: str, preset: str | None, args: argparse.Namespace, settings: dict | None = None
) -> TrainConfig:
    budget = args.budget_minutes
    overrides = {"budget_minutes": budget, "epochs": 100_000, "device": args.device, "threads": args.threads,
                 "eval_every_minutes": args.eval_every or max(1.0, budget / 6)}  # fmt: skip
    if preset is not None and is_config_file(preset):  # the entry's file, then --config's values on top
        settings = merge_settings(load_settings(Path(preset)), settings or {})
        preset = None
    base = continued(checkpoint.read_config(args.init), str(args.init)) if args.init else None
    return build_config(model, preset=preset, settings=settings, overrides=overrides, base=base)


def is_config_file(preset: str) -> bool:
    """An entry's ``PRESET`` part names a config file (which names its own ``"preset"``) instead."""
    return preset.endswith((".json", ".toml"))


def parse_entry(entry: str, reader_preset: str | None) -> tuple[str, str | None]:
    """``MODEL``, ``MODEL:PRESET`` or ``MODEL:CONFIG_FILE`` → (model, preset or file); ``--preset`` is the
    reader's default preset."""
    model, _, preset = entry.partition(":")
    return model, preset or (reader_preset if model == "reader" else None)


def label_for(model: str, preset: str | None, args: argparse.Namespace) -> str:
    """The row's name: the preset (a config entry: its file's stem), plus ``+<config file stem>`` when
    ``--config`` changed it."""
    name = Path(preset).stem if preset and is_config_file(preset) else preset or model
    return name + (f"+{args.config.stem}" if args.config else "")


def run_one(directory: Path, entry: str, args: argparse.Namespace) -> dict:
    """Train one model on one dataset within the budget, evaluate on test; returns the table row."""
    device = resolve_device(args.device)
    threads = args.threads or torch.get_num_threads()
    hardware = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU x{threads} threads"
    data = load_split_dir(directory)
    model, preset = parse_entry(entry, args.preset)
    config = config_for(model, preset, args, args.settings)
    label = label_for(model, preset, args)
    print(f"== {data.name} / {model} ({preset or model}) on {hardware}", flush=True)
    result = train(data, config, log=lambda s: print(s, flush=True))
    valid_mrr = result.best_valid.mrr if result.best_valid else None
    row = {"dataset": data.name, "model": model, "preset": label, "hardware": hardware,
           "budget_min": args.budget_minutes, "trained_min": round(result.minutes, 2),
           "epochs": round(result.epochs, 2), "valid_mrr": valid_mrr,
           "reverse_weight": result.model.reverse_weight}  # fmt: skip
    target = args.out / f"{data.name}-{label}" if args.out else None
    summary = {**row, "history": result.history}  # saved with the weights: never a stale summary
    if target is not None:  # weights first: a run cut off in its test evaluation (a GPU lease) keeps them
        save_run(result, config, data, target, half=args.half, metrics=summary)
    scored = result.model
    if target is not None and args.half:  # the fp16 copy ships: rank it first, so a cut-off run has it
        scored = checkpoint.load(target, data, device=device)
        scored.cache = getattr(result.model, "cache", None)
        row["scored"] = "saved fp16 copy"
    tic = time.perf_counter()
    metrics, alone = evaluate_with_and_without_rules(scored, data, args, device)
    row.update(eval_s=round(time.perf_counter() - tic, 1), **metrics.as_json())
    row["rules"] = "kept" if scored.rule_reading is not None else "none"
    row["mrr_alone"] = alone.mrr
    print(json.dumps(row), flush=True)
    if target is not None:
        write_summary(target, summary | row)
    if scored is not result.model:  # fp16 must cost no quality: the in-memory weights, for comparison
        again = evaluate_model(result.model, data, "test", limit=args.limit, seed=args.seed, device=device)
        row["in_memory_mrr"] = again.mrr
        print(f"test MRR: saved fp16 copy {metrics.mrr:.4f}, in memory {again.mrr:.4f}", flush=True)
        write_summary(target, summary | row)
    return row


def evaluate_with_and_without_rules(
    model: LinkPredictor, data: TripleDataset, args: argparse.Namespace, device: torch.device
) -> tuple[Metrics, Metrics]:
    """Test metrics of ``model`` as it scores, and of its scores before its rule reading (the same when it
    has none), from one scoring pass."""
    reading = model.rule_reading

    def variants(batch: torch.Tensor) -> tuple[torch.Tensor, ...]:
        base = model.base_scores(batch)
        return (reading.apply(batch, base), base) if reading is not None else (base,)

    ranks = model_ranks_many(model, variants, data, "test", limit=args.limit, seed=args.seed, device=device)
    metrics = [metrics_from_ranks(r) for r in ranks] or [metrics_from_ranks(torch.empty(0))]
    return metrics[0], metrics[-1]


def write_summary(target: Path, summary: dict) -> None:
    """Rewrite a saved run's ``metrics.json`` (whole or not at all) once a test score is known."""
    write_file(target / "metrics.json", lambda path: path.write_text(json.dumps(summary, indent=2)))


def run_parallel(args: argparse.Namespace) -> tuple[list[dict], list[str]]:
    """One child process per (dataset, model), ``--child-threads`` torch threads each, started together.

    Returns the rows of the children that finished and a line for each that failed. Every child is waited
    for; if this process is interrupted or sent SIGTERM, the children are terminated first."""
    out = args.out or Path("bench/out/lp")
    (out / "logs").mkdir(parents=True, exist_ok=True)
    children = []
    for directory in args.dataset_dir:
        for entry in args.models.split(","):
            model, preset = parse_entry(entry, args.preset)
            name = f"{directory.name}-{label_for(model, preset, args)}"
            row_file = out / "logs" / f"{name}.json"
            command = [sys.executable, __file__, "--dataset-dir", str(directory), "--models", entry,
                       "--budget-minutes", str(args.budget_minutes), "--threads", str(args.child_threads),
                       "--seed", str(args.seed), "--device", args.device, "--out", str(out),
                       "--row-file", str(row_file)]  # fmt: skip
            if args.eval_every:
                command += ["--eval-every", str(args.eval_every)]
            if args.limit:
                command += ["--limit", str(args.limit)]
            if args.preset:
                command += ["--preset", args.preset]
            if args.config:
                command += ["--config", str(args.config)]
            if args.init:
                command += ["--init", str(args.init)]
            if args.half:
                command.append("--half")
            log = (out / "logs" / f"{name}.log").open("w")
            print(f"started {name}: log in {log.name}", flush=True)
            child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            children.append((name, child, log, row_file))
    rows, failures = [], []
    # On SIGTERM (`timeout`, a lease ending) exit through the `finally` below, not at once.
    previous = signal.signal(signal.SIGTERM, lambda signum, _: sys.exit(128 + signum))
    try:
        for name, child, log, row_file in children:  # all of them: one failure must not orphan the rest
            code = child.wait()
            log.close()
            if code:
                failures.append(f"{name} failed with exit {code}; see {log.name}")
            else:
                rows.append(json.loads(row_file.read_text()))
    finally:  # interrupted: stop the children too, or they go on training and writing after we are gone
        for _, child, _, _ in children:
            if child.poll() is None:
                child.terminate()
        for _, child, _, _ in children:
            child.wait()
        signal.signal(signal.SIGTERM, previous)
    return rows, failures


def print_table(rows: list[dict]) -> None:
    hardware = ", ".join(sorted({r["hardware"] for r in rows}))
    print(
        f"\n{time.strftime('%Y-%m-%d')} {platform.node()} {hardware} (python {platform.python_version()}, "
        f"torch {torch.__version__}, {os.cpu_count()} cpus)"
    )
    print(
        f"{'dataset':12} {'model (preset)':18} {'budget':>7} {'epochs':>7} {'MRR':>6} {'H@1':>6} {'H@3':>6} "
        f"{'H@10':>6} {'queries':>8} {'reverse':>7} {'rules':>5} {'alone':>6}"
    )
    for r in rows:
        print(
            f"{r['dataset']:12} {r['preset']:18} {r['budget_min']:7.1f} {r['epochs']:7.2f} {r['mrr']:6.3f} "
            f"{r['hits@1']:6.3f} {r['hits@3']:6.3f} {r['hits@10']:6.3f} {r['queries']:8d} "
            f"{r.get('reverse_weight', 0.0):7.2f} {r.get('rules', 'none'):>5} "
            f"{r.get('mrr_alone', r['mrr']):6.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset-dir", type=Path, action="append", required=True)
    parser.add_argument("--models", default="reader,complex", help="MODEL, MODEL:PRESET or MODEL:FILE.json")
    parser.add_argument("--preset", help="the reader's preset when --models names none (default: reader)")
    parser.add_argument("--config", type=Path, help="JSON/TOML settings applied on top of every preset")
    parser.add_argument("--budget-minutes", type=float, default=60.0)
    parser.add_argument("--eval-every", type=float, help="minutes between valid scores (default: budget/6)")
    parser.add_argument("--limit", type=int, help="evaluate a seeded subset of the test split")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--init", type=Path, help="warm-start every entry from this checkpoint folder")
    parser.add_argument("--half", action="store_true", help="save fp16 weights; test scores are theirs")
    parser.add_argument("--parallel", action="store_true", help="train every model at once, one process each")
    parser.add_argument("--child-threads", type=int, default=1, help="torch threads per --parallel process")
    parser.add_argument("--row-file", type=Path, help=argparse.SUPPRESS)  # used by --parallel's children
    args = parser.parse_args()
    entries = [parse_entry(e, args.preset) for e in args.models.split(",")]
    unknown = [m for m, _ in entries if m not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    try:  # read once; --parallel's children get the path and read it again
        args.settings = load_settings(args.config) if args.config else None
    except ValueError as exc:
        parser.error(str(exc))
    bad = [p for _, p in entries if p is not None and p not in PRESETS and not is_config_file(p)]
    if bad:
        parser.error(f"unknown preset(s) {', '.join(bad)}; choose from {', '.join(PRESETS)}")
    for _, path in entries:  # a config entry's file must read and name a known preset before any training
        if path is not None and is_config_file(path):
            try:
                named = load_settings(Path(path)).get("preset")
            except ValueError as exc:
                parser.error(str(exc))
            if named is not None and named not in PRESETS:
                parser.error(f"{path}: unknown preset {named!r}; choose from {', '.join(PRESETS)}")

    if args.init and any(p is not None and not is_config_file(p) for _, p in entries):
        parser.error(
            "with --init an entry is MODEL or MODEL:OVERLAY.json (the checkpoint's settings are its preset)"
        )
    failures: list[str] = []
    if args.parallel:
        rows, failures = run_parallel(args)
    else:
        rows = [run_one(d, m, args) for d in args.dataset_dir for m in args.models.split(",")]
    if args.row_file:
        args.row_file.write_text(json.dumps(rows[0]))
    if rows:
        print_table(rows)
    if failures:
        raise SystemExit("\n".join(failures))


if __name__ == "__main__":
    main()

"""``factloom extract``: train the patent fact extractors, run them on files or on the store, evaluate them.

``factloom extract`` with no sub-command extracts facts for every stored sentence the current model version
has not read yet and writes them to the store in batches.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from app import context

extract_cli = typer.Typer(
    help="Patent fact extraction with trained token classifiers (no LLM): train, run, evaluate. "
    "Without a command: extract facts for every stored sentence this model version has not read yet.",
    invoke_without_command=True,
)

ModelDir = Annotated[
    Path | None,
    typer.Option(
        "--model", help="extractor model folder (default: the shipped model, FACTLOOM_EXTRACT_MODEL)"
    ),
]
BatchSize = Annotated[int, typer.Option(help="sentences per forward pass")]
Threads = Annotated[int | None, typer.Option(help="CPU threads for torch (default: torch's choice)")]


def _model(model_dir: Path | None, threads: int | None = None):  # returns a FactExtractor (imported lazily)
    import torch

    from extract.checkpoint import load_model

    if threads:
        torch.set_num_threads(threads)
    path = model_dir or context.settings().extract_model
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return load_model(path, device=device)


@extract_cli.callback()
def extract_store(
    ctx: typer.Context,
    model: ModelDir = None,
    batch_size: BatchSize = 64,
    limit: Annotated[int | None, typer.Option(help="stop after this many sentences")] = None,
    threads: Threads = None,
) -> None:
    """Extract facts for stored sentences not yet read by this model version (run without a sub-command)."""
    if ctx.invoked_subcommand is not None:
        return
    from app.extract_job import extract_stored_sentences

    extractor = _model(model, threads)
    with context.store() as store:
        summary = extract_stored_sentences(store, extractor, batch_size=batch_size, limit=limit)
    typer.echo(
        f"read {summary.sentences} sentences ({summary.skipped} already done) in {summary.seconds:.1f} s, "
        f"{summary.facts_found} facts found, {summary.facts_written} new facts written "
        f"(extractor {summary.extractor})"
    )


@extract_cli.command("train")
def train_cmd(
    out: Annotated[Path, typer.Option(help="model folder to write")],
    data: Annotated[
        str | None,
        typer.Option(
            help="examples folder/.jsonl, hub-format files, or a hub id (default: the silver set data/silver)"
        ),
    ] = None,
    base_model: Annotated[
        str | None,
        typer.Option(help="backbone hub id or folder, e.g. roberta-base (default: packaged MiniLM-L6)"),
    ] = None,
    design: Annotated[str, typer.Option(help="joint (fast, default) | two-stage (reference)")] = "joint",
    epochs: Annotated[int, typer.Option(help="passes over the training data")] = 4,
    batch_size: Annotated[int, typer.Option(help="sentences per step")] = 16,
    layers: Annotated[int | None, typer.Option(help="keep only the backbone's first N layers")] = None,
    lr: Annotated[float, typer.Option(help="backbone learning rate")] = 5e-5,
    seed: Annotated[int, typer.Option(help="seed")] = 13,
    limit: Annotated[int | None, typer.Option(help="use only the first N training sentences")] = None,
    init: Annotated[
        Path | None, typer.Option(help="continue training this model folder (fine-tuning)")
    ] = None,
    add: Annotated[
        list[Path] | None, typer.Option(help="extra examples .jsonl to train on (repeatable)")
    ] = None,
    max_pair_distance: Annotated[
        int, typer.Option(help="score entity pairs at most this many entities apart")
    ] = 6,
    negatives: Annotated[
        float, typer.Option(help="two-stage: marked pairs without a relation per pair with one")
    ] = 1.0,
    device: Annotated[str | None, typer.Option(help="cpu | cuda (default: cuda when present)")] = None,
    threads: Threads = None,
) -> None:
    """Train an extractor and save it (safetensors, fp16) with its training record."""
    import torch

    from extract.checkpoint import load_model, save_model
    from extract.data import load_split
    from extract.examples import read_examples
    from extract.train import ExtractTrainConfig, train

    if threads:
        torch.set_num_threads(threads)
    train_examples = load_split(data, "train", limit=limit)
    for extra in add or []:
        train_examples += list(read_examples(extra))
    valid = load_split(data, "validation", limit=1000)
    config = ExtractTrainConfig(
        design=design,
        base_model=base_model,
        num_layers=layers,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        device=device,
        max_pair_distance=max_pair_distance,
        negatives_per_positive=negatives,
    )
    typer.echo(f"training {design} on {len(train_examples)} sentences ({len(valid)} validation)", err=True)
    started = time.time()
    initial = load_model(init) if init else None
    model, logs = train(
        config,
        train_examples,
        valid,
        init=initial,
        on_epoch=lambda log: typer.echo(
            f"epoch {log.epoch}: loss {log.loss:.4f} valid {log.valid_loss}", err=True
        ),
    )
    metadata = {
        "command": " ".join(["factloom", "extract", "train", *sys.argv[3:]]) if len(sys.argv) > 3 else "",
        "data": str(data or "data/silver"),
        "added": [str(p) for p in add or []],
        "init": str(init) if init else None,
        "train_sentences": len(train_examples),
        "train_config": config.to_json(),
        "epochs": [log.__dict__ for log in logs],
        "seconds": round(time.time() - started, 1),
    }
    save_model(model, out, metadata=metadata)
    typer.echo(f"saved {out}")


@extract_cli.command("sentences")
def sentences_cmd(
    input: Annotated[Path, typer.Argument(help='JSON Lines, one {"id"?: ..., "sentence": str} per line')],
    output: Annotated[Path, typer.Option(help="JSON Lines out: the input line plus its facts")],
    model: ModelDir = None,
    batch_size: BatchSize = 64,
    threads: Threads = None,
) -> None:
    """Extract facts from sentences in a file (no store, no server needed)."""
    from app.extract_job import extract_file

    summary = extract_file(input, output, _model(model, threads), batch_size=batch_size)
    for message in summary.errors[:20]:
        typer.echo(f"warning: {message}", err=True)
    typer.echo(
        f"{summary.lines} lines: {summary.sentences} sentences, {summary.facts} facts, "
        f"{len(summary.errors)} bad lines -> {output}",
        err=True,
    )


@extract_cli.command("eval")
def eval_cmd(
    reference: Annotated[Path, typer.Option(help="reference facts .jsonl (e.g. selected_facts.jsonl)")],
    model: ModelDir = None,
    predictions: Annotated[
        Path | None, typer.Option(help="score this output file instead of running a model")
    ] = None,
    silver_test: Annotated[
        Path | None,
        typer.Option(help="examples .jsonl for token-level scores (default: data/silver/test.jsonl)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    threads: Threads = None,
) -> None:
    """Fact-level P/R/F1 against reference facts (normalised and strict) and token-level scores."""
    from app.extract_job import evaluate

    report = evaluate(reference, None if predictions else _model(model, threads), predictions, silver_test)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    for mode in ("normalised", "strict"):
        s = report[mode]
        typer.echo(
            f"{mode:>10}: P {s['precision']:.3f} R {s['recall']:.3f} F1 {s['f1']:.3f} "
            f"({s['tp']} matched, {s['predicted']} predicted, {s['reference']} reference)"
        )
    for label, s in report.get("tokens", {}).items():
        typer.echo(f"  tokens {label:>6}: P {s['precision']:.3f} R {s['recall']:.3f} F1 {s['f1']:.3f}")

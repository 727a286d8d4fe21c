"""Cross-validated fine-tuning on the published reference sentences (folds by patent).

The 110 reference sentences are both a fine-tuning source and the evaluation set, so a model tuned on them
is scored by k-fold cross-validation with whole patents held out: for each fold, the silver-trained model
(``--init``) is fine-tuned on the other folds' sentences and predicts the held-out fold. The predictions of
all folds form one file, scored like any other (``bench/extract.py --predictions NAME=FILE``).

Usage:
    python bench/extract_cv.py --init SILVER_MODEL_DIR --folds 5 --epochs 30 --lr 1e-4 \\
        --out bench/out/joint-cv-predictions.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from extract.checkpoint import load_model
from extract.evaluate import group_folds, read_fact_file, score_facts
from extract.reference import examples_from_reference
from extract.train import ExtractTrainConfig, train

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared/data/patents/design_kgex_samples/selected_facts.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--init", type=Path, required=True, help="silver-trained model folder")
    parser.add_argument("--reference", type=Path, default=REFERENCE)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--max-pair-distance", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True, help="predictions .jsonl to write")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    examples, stats = examples_from_reference(args.reference)
    print(f"reference examples: {len(examples)} sentences, {stats}", file=sys.stderr)
    folds = group_folds([e.group for e in examples], args.folds, args.seed)
    predictions: dict[str, list[dict[str, object]]] = {}
    started = time.time()
    for fold in range(args.folds):
        tune = [e for e, f in zip(examples, folds, strict=True) if f != fold]
        held = [e for e, f in zip(examples, folds, strict=True) if f == fold]
        config = ExtractTrainConfig(
            epochs=args.epochs,
            lr=args.lr,
            batch_size=args.batch_size,
            seed=args.seed,
            max_pair_distance=args.max_pair_distance,
        )
        model, _ = train(config, tune, init=load_model(args.init), progress=False)
        for example, facts in zip(held, model.extract([e.sentence for e in held]), strict=True):
            predictions[example.id] = [f.to_json() for f in facts]
        print(f"fold {fold + 1}/{args.folds}: tuned on {len(tune)}, predicted {len(held)}", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as out:
        for example in examples:
            record = {"id": example.id, "sentence": example.sentence, "facts": predictions[example.id]}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    reference = read_fact_file(args.reference)
    pred = read_fact_file(args.out)
    for mode in ("normalised", "strict"):
        s = score_facts(pred, reference, mode)
        print(f"{mode}: P {s.precision:.3f} R {s.recall:.3f} F1 {s.f1:.3f}")
    print(f"{args.folds} folds in {time.time() - started:.0f} s -> {args.out}")


if __name__ == "__main__":
    main()

"""Are a link-prediction checkpoint's probabilities calibrated? Its softmax against its fitted temperature.

``factloom lp predict`` gives each answer a probability: the softmax of the scores over the entities the graph
does not already know, at the temperature fitted on valid (``reader/confidence.py``). This script measures
that on a split the fit never saw (test by default), in one scoring pass, against the baseline of the same
scores at temperature 1 (the model's softmax as trained):

- NLL: the answers' mean negative log-probability (lower is better);
- ECE@10: the expected calibration error over 15 bins of the 10 best answers' probabilities, each against
  whether it is the answer (what ``lp predict`` shows, and what the fit minimises; 0 is perfect);
- ECE: the same for the top answer alone;
- the top answer's mean probability against the share of top answers that are right;
- a reliability table: per bin of the top answer's probability, how often it is right.

A checkpoint without a fitted temperature is fitted here on valid (``--fit-limit`` triples, seeded), as
``factloom lp calibrate`` would, without writing anything; ``--refit`` does that for any checkpoint.

Usage:
    python bench/lp_calibration.py --dataset-dir ../shared/data/kg/fb15k-237 \\
        --checkpoint models/lp/fb15k-237-reader
"""

from __future__ import annotations

import argparse
import platform
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from reader import checkpoint
from reader.confidence import BINS, SHOWN, Calibration, fit_temperature, measure
from retrieve.data import load_split_dir


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset-dir", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--split", default="test", choices=["test", "valid"])
    parser.add_argument("--limit", type=int, help="a seeded subset of the split's triples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--refit", action="store_true", help="fit the temperature on valid even if saved")
    parser.add_argument("--fit-limit", type=int, default=2000, help="valid triples for a fit (0: all)")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_split_dir(args.dataset_dir)
    try:
        model = checkpoint.load(args.checkpoint, data)
        saved = checkpoint.temperature(checkpoint.read_config(args.checkpoint))
    except checkpoint.CheckpointError as exc:
        raise SystemExit(f"{args.checkpoint}: {exc}") from exc
    if saved is None or args.refit:
        fit = fit_temperature(model, data, limit=args.fit_limit or None)
        temperature, source = fit.temperature, f"fitted here on {fit.after.queries} valid queries"
    else:
        temperature, source = saved, "the checkpoint's"
    baseline, fitted = measure(model, data, [1.0, temperature], split=args.split, limit=args.limit,
                               seed=args.seed)  # fmt: skip
    machine = f"{platform.node()} CPU x{torch.get_num_threads()} threads"
    print(f"\n{date.today()} {machine}, {args.dataset_dir.name} {args.split}, {fitted.queries} queries, "
          f"{args.checkpoint}")  # fmt: skip
    print(f"{'probabilities':44s} {'T':>6s} {'NLL':>7s} {'ECE@' + str(SHOWN):>7s} {'ECE':>7s} {'top p':>7s} "
          f"{'top right':>9s}")  # fmt: skip
    for label, c in (("baseline: the model's softmax", baseline), (f"temperature ({source})", fitted)):
        print(f"{label:44s} {c.temperature:6.3f} {c.nll:7.4f} {c.ece_shown:7.4f} {c.ece:7.4f} "
              f"{c.confidence:7.4f} {c.accuracy:9.4f}")  # fmt: skip
    print(f"\nreliability ({BINS} bins of the top answer's probability): queries, mean p, share right")
    print(f"{'bin':>11s} | {'baseline':^26s} | {'temperature':^26s}")
    rows = {edge for c in (baseline, fitted) for edge, *_ in c.bins}
    for edge in sorted(rows):
        cells = [_cell(c, edge) for c in (baseline, fitted)]
        print(f"{edge:5.3f}-{edge + 1 / BINS:5.3f} | {cells[0]:26s} | {cells[1]:26s}")


def _cell(c: Calibration, edge: float) -> str:
    for lower, count, p, right in c.bins:
        if lower == edge:
            return f"{count:7d} {p:8.3f} {right:8.3f}"
    return f"{0:7d} {'':8s} {'':8s}"


if __name__ == "__main__":
    main()

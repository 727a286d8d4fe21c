"""Does a new link-prediction checkpoint measurably beat the one it would replace? A paired comparison.

Both checkpoints rank the same queries (filtered, both directions, ``reader.evaluate.model_ranks``). The
table gives each one's MRR and Hits@1/3/10, the MRR difference (new - baseline), its 95 % interval from a
paired bootstrap over queries (``--resamples`` draws, seeded), and how many queries each ranks better. The
first checkpoint is the baseline. A difference whose interval excludes 0 is what "measurably beats" means
for the shipped models (``models/lp/*/MODEL_CARD.md``).

With ``--ablate-reader`` and one reader checkpoint, the baseline is the same weights with the reader's term
zeroed (``set_kge_only(True)``: its KGE shortcut alone), so the difference is what reading the subgraphs adds.
With ``--ablate-reverse`` and one checkpoint, the baseline is the same weights with ``reverse_weight`` 0, so
the difference is what its reverse reading adds (``reader/reverse.py``). With ``--ablate-rules`` and one
checkpoint, the baseline is the same checkpoint without its rule reading, so the difference is what the
mined rules add (``reader/rules.py``).

Usage:
    python bench/lp_compare.py --dataset-dir ../shared/data/kg/fb15k-237 \\
        --checkpoint models/lp/fb15k-237-reader --checkpoint bench/out/RUN/fb15k-237-reader
    python bench/lp_compare.py --dataset-dir ../shared/data/kg/wn18rr --checkpoint models/lp/wn18rr-reader \\
        --ablate-reader
    python bench/lp_compare.py --dataset-dir ../shared/data/kg/fb15k-237 \\
        --checkpoint models/lp/fb15k-237-reader --ablate-reverse
    python bench/lp_compare.py --dataset-dir ../shared/data/kg/fb15k-237 \\
        --checkpoint models/lp/fb15k-237-reader --ablate-rules
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
from reader.evaluate import known_answers, metrics_from_ranks, model_ranks
from retrieve.data import load_split_dir


def paired_interval(
    new: torch.Tensor, old: torch.Tensor, resamples: int, seed: int = 0
) -> tuple[float, float, float]:
    """The mean of ``new - old`` and its 95 % paired-bootstrap interval.

    Example:
        >>> d, lo, hi = paired_interval(torch.tensor([1.0, 0.5, 1.0]), torch.tensor([0.5, 0.5, 0.5]), 200)
        >>> round(d, 3), lo >= 0.0, hi <= 0.5
        (0.333, True, True)
    """
    diff = (new - old).double()
    generator = torch.Generator().manual_seed(seed)
    means = torch.stack(
        [diff[torch.randint(len(diff), (len(diff),), generator=generator)].mean() for _ in range(resamples)]
    )
    low, high = torch.quantile(means, torch.tensor([0.025, 0.975], dtype=means.dtype)).tolist()
    return float(diff.mean()), low, high


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset-dir", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, action="append", required=True,
                        help="give it twice: the baseline first, then the candidate")  # fmt: skip
    parser.add_argument("--split", default="test", choices=["test", "valid"])
    parser.add_argument("--limit", type=int, help="a seeded subset of the split's triples")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--ablate-reader", action="store_true",
                        help="one reader checkpoint, against itself with its reader term zeroed")  # fmt: skip
    parser.add_argument("--ablate-reverse", action="store_true",
                        help="one checkpoint, against itself with reverse_weight 0")  # fmt: skip
    parser.add_argument("--ablate-rules", action="store_true",
                        help="one checkpoint, against itself without its rule reading")  # fmt: skip
    args = parser.parse_args()
    chosen = [flag for flag, on in (("--ablate-reader", args.ablate_reader),
                                    ("--ablate-reverse", args.ablate_reverse),
                                    ("--ablate-rules", args.ablate_rules)) if on]  # fmt: skip
    if len(chosen) > 1:
        parser.error("give at most one of --ablate-reader, --ablate-reverse and --ablate-rules")
    ablate = chosen[0] if chosen else None
    if ablate and len(args.checkpoint) != 1:
        parser.error(f"{ablate} takes exactly one --checkpoint: the model to ablate")
    if not ablate and len(args.checkpoint) != 2:
        parser.error("--checkpoint must be given exactly twice: the baseline, then the candidate")
    # ablating loads the checkpoint twice: set_kge_only zeroes the output layer, so one copy cannot be both
    folders = args.checkpoint * 2 if ablate else args.checkpoint
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_split_dir(args.dataset_dir)
    answers = known_answers(data)
    ranks = []
    for i, folder in enumerate(folders):
        try:
            model = checkpoint.load(folder, data, rules=not (args.ablate_rules and i == 0))
            if args.ablate_rules and i == 1 and model.rule_reading is None:
                raise ValueError("it has no rule reading to ablate (see factloom lp calibrate)")
            if args.ablate_reader and i == 0:
                model.set_kge_only(True)  # zeroes the reader's output layer: the shortcut scores alone
            if args.ablate_reverse and i == 0:
                model.set_reverse_weight(0.0)  # the direct scores alone
        except (checkpoint.CheckpointError, ValueError) as exc:
            raise SystemExit(f"{folder}: {exc}") from exc
        ranks.append(model_ranks(model, data, args.split, limit=args.limit, answers=answers).double())
    old, new = ranks
    diff, low, high = paired_interval(1.0 / new, 1.0 / old, args.resamples)
    machine = f"{platform.node()} CPU x{torch.get_num_threads()} threads"
    print(f"\n{date.today()} {machine}, {args.dataset_dir.name} {args.split}, {len(old)} queries")
    print(f"{'checkpoint':60s} {'MRR':>7s} {'H@1':>7s} {'H@3':>7s} {'H@10':>7s}")
    zeroed = {"--ablate-reader": " (reader term zeroed)", "--ablate-reverse": " (reverse_weight 0)",
              "--ablate-rules": " (no rule reading)"}.get(ablate or "", "")  # fmt: skip
    for label, folder, r in (("baseline", folders[0], old), ("new", folders[1], new)):
        m = metrics_from_ranks(r)
        name = f"{label}: {folder}{zeroed if label == 'baseline' else ''}"
        print(f"{name:60s} {m.mrr:7.4f} {m.hits1:7.4f} {m.hits3:7.4f} {m.hits10:7.4f}")
    print(f"MRR new - baseline: {diff:+.4f}, 95 % paired bootstrap [{low:+.4f}, {high:+.4f}] "
          f"({args.resamples} resamples)")  # fmt: skip
    better, worse = int((new < old).sum()), int((new > old).sum())
    print(f"queries ranked better by new: {better}, worse: {worse}, tied: {len(old) - better - worse}")


if __name__ == "__main__":
    main()

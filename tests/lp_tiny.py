"""A tiny learnable knowledge graph written as a split directory (``head<TAB>relation<TAB>tail``).

40 entities on a ring: ``next`` (i → i+1), ``prev`` (its inverse), ``pair`` (2k ↔ 2k+1, symmetric). Held-out
``prev``/``pair`` triples are implied by training triples, so a working model ranks them far above chance
(random filtered MRR here is about 0.1).
"""

from __future__ import annotations

import random
from pathlib import Path

N = 40


def write_tiny_kg(directory: Path, seed: int = 0) -> Path:
    triples = [(f"e{i}", "next", f"e{(i + 1) % N}") for i in range(N)]
    triples += [(f"e{(i + 1) % N}", "prev", f"e{i}") for i in range(N)]
    triples += [(f"e{2 * k}", "pair", f"e{2 * k + 1}") for k in range(N // 2)]
    triples += [(f"e{2 * k + 1}", "pair", f"e{2 * k}") for k in range(N // 2)]
    rng = random.Random(seed)
    held = [t for t in triples if t[1] != "next"]
    rng.shuffle(held)
    valid, test = held[:8], held[8:20]
    train = [t for t in triples if t not in valid and t not in test]
    directory.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", train), ("valid", valid), ("test", test)):
        (directory / f"{name}.txt").write_text("".join(f"{h}\t{r}\t{t}\n" for h, r, t in rows))
    return directory

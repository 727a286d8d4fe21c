"""Link-predictor checkpoints: a folder with ``model.safetensors``, ``config.json`` and ``vocab.json``.

``vocab.json`` keeps the entity and relation ids and the dataset fingerprint, so a checkpoint is only ever
scored on the dataset it was trained on (a mismatch is a clear error, not silent nonsense).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ingest.errors import FactloomError
from reader.base import LinkPredictor
from reader.registry import MODELS
from retrieve.data import TripleDataset


class CheckpointError(FactloomError):
    """A checkpoint folder is missing, incomplete, or belongs to another dataset."""


def save(
    model: LinkPredictor,
    data: TripleDataset,
    directory: Path,
    *,
    extra: dict[str, Any] | None = None,
    half: bool = False,
) -> None:
    """Write ``model`` to ``directory`` (created). ``half`` stores floating-point weights as fp16."""
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu().contiguous()
             for k, v in model.state_dict().items()}  # fmt: skip
    save_file(state, str(directory / "model.safetensors"))
    config = {"model": model.name, "hparams": model.hparams(), **(extra or {})}
    (directory / "config.json").write_text(json.dumps(config, indent=2, default=str))
    vocab = {"fingerprint": data.fingerprint(), "dataset": data.name, "entities": data.entities,
             "relations": data.relations}  # fmt: skip
    (directory / "vocab.json").write_text(json.dumps(vocab))


def read_config(directory: Path) -> dict[str, Any]:
    path = Path(directory) / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{directory}: not a checkpoint folder (no config.json)")
    return json.loads(path.read_text())


def load(directory: Path, data: TripleDataset, *, device: str | torch.device = "cpu") -> LinkPredictor:
    """Load a checkpoint for scoring ``data``.

    Raises:
        CheckpointError: missing files, unknown model, or ``data`` is not the dataset it was trained on.
    """
    directory = Path(directory)
    config = read_config(directory)
    vocab_path, weights = directory / "vocab.json", directory / "model.safetensors"
    for path in (vocab_path, weights):
        if not path.is_file():
            raise CheckpointError(f"{path}: missing")
    vocab = json.loads(vocab_path.read_text())
    if vocab["entities"] != data.entities or vocab["relations"] != data.relations:
        raise CheckpointError(
            f"{directory} was trained on dataset {vocab.get('dataset')!r}, whose entities or "
            f"relations differ from {data.name!r}"
        )
    if config["model"] not in MODELS:
        raise CheckpointError(f"{directory}: unknown model {config['model']!r}")
    model = MODELS[config["model"]](**config["hparams"])
    state = load_file(str(weights))
    reference = model.state_dict()
    model.load_state_dict({k: v.to(reference[k].dtype) for k, v in state.items()})
    model.attach(data)
    return model.to(device).eval()

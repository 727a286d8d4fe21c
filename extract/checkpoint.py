"""Saving and loading extractor models: one self-contained folder, loadable offline.

Layout::

    model_dir/
      extractor.json      ExtractorConfig + training metadata (data, command, metrics)
      model.safetensors   every weight of the design (fp16 by default: half the size, same facts)
      backbone/           the backbone's config.json and tokenizer files (no weights)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from extract.base import ExtractorConfig, FactExtractor
from extract.errors import ModelLoadError
from ingest.files import write_together

CONFIG_FILE = "extractor.json"
WEIGHTS_FILE = "model.safetensors"
BACKBONE_DIR = "backbone"


def save_model(
    model: FactExtractor, directory: Path, *, half: bool = True, metadata: dict[str, Any] | None = None
) -> None:
    """Write ``model`` to ``directory`` (created). Its files are replaced all or none (a failed save leaves
    a model already there whole); other files there, such as a model card, are kept."""
    encoder = next(m for m in model.modules() if hasattr(m, "config") and hasattr(m.config, "hidden_size"))
    state = {
        k: (v.half() if half and v.is_floating_point() else v).contiguous().cpu()
        for k, v in model.state_dict().items()
    }

    def backbone(path: Path) -> None:
        encoder.config.save_pretrained(path)
        model.tokenizer.save_pretrained(path)

    def weights(path: Path) -> None:
        save_file(state, str(path), metadata={"design": model.design})
        # The version stored with every fact is the weights' content hash: retraining gives a new version,
        # so ``factloom extract`` reads the store again; loading the same folder twice gives the same one.
        model.config.version = hashlib.sha256(path.read_bytes()).hexdigest()[:12]

    def info(path: Path) -> None:
        body = {"config": model.config.to_json(), "metadata": metadata or {}}
        path.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")

    write_together(directory, {BACKBONE_DIR: backbone, WEIGHTS_FILE: weights, CONFIG_FILE: info})


def read_info(directory: Path) -> dict[str, Any]:
    """The ``extractor.json`` content of a model folder."""
    path = directory / CONFIG_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelLoadError(f"{directory}: not an extractor model folder (no {CONFIG_FILE})") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{path}: cannot read ({exc})") from exc


def load_model(directory: Path, device: str | torch.device = "cpu") -> FactExtractor:
    """Load a saved model (weights back to fp32) ready for :meth:`FactExtractor.extract`."""
    from extract.registry import DESIGNS

    info = read_info(directory)
    try:
        config = ExtractorConfig(**info["config"])
    except (KeyError, TypeError) as exc:
        raise ModelLoadError(f"{directory / CONFIG_FILE}: invalid config ({exc})") from exc
    if config.design not in DESIGNS:
        raise ModelLoadError(f"{directory}: unknown design {config.design!r}; known: {', '.join(DESIGNS)}")
    model = DESIGNS[config.design](config, str(directory / BACKBONE_DIR), pretrained=False)
    try:
        state = load_file(str(directory / WEIGHTS_FILE))
    except (OSError, RuntimeError) as exc:
        raise ModelLoadError(f"{directory / WEIGHTS_FILE}: cannot read weights ({exc})") from exc
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ModelLoadError(
            f"{directory}: weights do not match the design "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    return model.to(device).eval()

"""Config string → link-predictor class (``factloom lp train --model NAME``)."""

from __future__ import annotations

from reader.base import LinkPredictor
from reader.graph_reader import GraphReader
from reader.kge import ComplExModel, RotatEModel

MODELS: dict[str, type[LinkPredictor]] = {cls.name: cls for cls in (GraphReader, ComplExModel, RotatEModel)}

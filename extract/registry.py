"""Design names → classes. ``factloom extract train --design NAME`` and saved models use these names.

Every registered design must have a test named ``test_<name>_...`` (``-`` written as ``_``); the registry
test fails otherwise.
"""

from __future__ import annotations

from extract.base import FactExtractor
from extract.joint import JointExtractor
from extract.two_stage import TwoStageExtractor

DESIGNS: dict[str, type[FactExtractor]] = {
    JointExtractor.design: JointExtractor,
    TwoStageExtractor.design: TwoStageExtractor,
}
DEFAULT_DESIGN = JointExtractor.design

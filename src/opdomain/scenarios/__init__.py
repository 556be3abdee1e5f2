"""Scenarios (场景): the reference scenario 泵阀共富贷 and its synthetic source data.

``generate`` writes the eight provider departments' tables and their dataset descriptors
(SCENARIO.md "Source data"; the descriptor contract is in docs/scenario-data.md).
"""

from opdomain.scenarios.descriptors import DEPARTMENTS, load_descriptor
from opdomain.scenarios.generate import generate

__all__ = ["DEPARTMENTS", "generate", "load_descriptor"]

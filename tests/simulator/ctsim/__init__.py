"""CloudTower API simulator for testing the smartx.cloudtower collection (standard library only)."""

from .simulator import Simulator
from .versions import VERSIONS

__all__ = ["Simulator", "VERSIONS"]

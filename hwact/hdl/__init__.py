"""The HDL backend: plans as Amaranth components, written out as Verilog."""

from .export import to_verilog
from .unit import LANES, MAX_STAGES, ActivationUnit, payload_layout

__all__ = ["ActivationUnit", "LANES", "MAX_STAGES", "payload_layout", "to_verilog"]

"""Verification: generated Verilog simulated with cocotb against the golden model."""

from .runner import SimError, SimResult, simulate, stimulus

__all__ = ["SimError", "SimResult", "simulate", "stimulus"]

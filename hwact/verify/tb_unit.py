"""cocotb testbench of the unit proofs: clock and reset for a wrapper of units and stream drivers.

The runner (:func:`hwact.verify.runner.simulate_many`) puts each unit under proof beside its own
``hwact_stream_driver`` (``hwact_stream_driver.v``), which plays its inputs with random idle cycles on
both sides, checks the stream rules and writes every output it takes. This bench starts the
clock, resets, and waits for the wrapper's ``done`` (every driver finished, or gave up after its
cycle limit); the runner then compares each unit's outputs with the model.
"""

from __future__ import annotations

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge


@cocotb.test()
async def stream_matches_model(dut):
    Clock(dut.clk, 10, unit="ns", impl="gpi").start()
    dut.rst.value = 1
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await RisingEdge(dut.done)

"""cocotb testbench: drive units' input streams, check their output streams against expectations.

The runner (:mod:`hwact.verify.runner`) writes a JSON list of units to ``HWACT_UNITS``; each
names the prefix of its ports in the toplevel (``""`` when the toplevel is the unit itself, or
``u0__`` for the first unit of a batch wrapper, see :func:`hwact.verify.runner.simulate_many`),
an ``.npz`` file of its input transfers and the model's expected output transfers, a seed, the
idle probability and the JSON file its summary goes to. Every unit streams its vectors with
its own random idle cycles on both sides and is checked on its own (outputs and stream rules),
exactly as if it were simulated alone: the units of a batch only share the clock, the reset and
the simulator process, so a unit's idle pattern, cycle count and verdict do not depend on the
others.

Per cycle: inputs are changed just after the falling edge, then the settled handshake
signals are read in the read-only phase; those are exactly what the next rising edge samples.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly

MAX_REPORTED = 20


def _as_int(handle) -> int | None:
    try:
        return int(handle.value)
    except ValueError:  # X or Z bits
        return None


class _Stream:
    """One unit's stimulus, scoreboard and stream-rule checks."""

    def __init__(self, dut, spec: dict):
        vectors = np.load(spec["vectors"])
        self.inputs = [int(v) for v in vectors["inputs"]]
        self.expected = [int(v) for v in vectors["expected"]]
        self.idle = float(spec["idle"])
        self.rng = random.Random(int(spec["seed"]))
        self.result = spec["result"]
        prefix = spec["prefix"]
        self.i_payload, self.i_valid, self.i_ready = (getattr(dut, prefix + name)
                                                      for name in ("i__payload", "i__valid", "i__ready"))
        self.o_payload, self.o_valid, self.o_ready = (getattr(dut, prefix + name)
                                                      for name in ("o__payload", "o__valid", "o__ready"))
        self.i_valid.value, self.o_ready.value = 0, 0
        self.total = len(self.inputs)
        self.sent = self.received = self.cycles = 0
        self.offering = False
        self.valid_now = self.ready_now = False  # what i.valid and o.ready are driven to
        self.taking = False
        self.held = None  # output payload seen while o.ready was low; must stay until taken
        self.mismatches, self.protocol, self.first = 0, [], []
        self.limit = 4 * self.total + 1000  # a unit that stops answering fails instead of hanging the run
        self.done = self.total == 0

    def drive(self) -> None:
        """After the falling edge: offer the next input, take outputs or not."""
        if not self.offering and self.sent < self.total and self.rng.random() >= self.idle:
            self.offering = True
            self.i_payload.value = self.inputs[self.sent]
        if self.offering != self.valid_now:
            self.i_valid.value = self.offering
            self.valid_now = self.offering
        self.taking = self.rng.random() >= self.idle
        if self.taking != self.ready_now:
            self.o_ready.value = self.taking
            self.ready_now = self.taking

    def check(self) -> None:
        """In the read-only phase: what the next rising edge samples."""
        self.cycles += 1
        if self.cycles > self.limit:
            self.protocol.append(f"no progress after {self.cycles} cycles ({self.received} of {self.total} outputs)")
            self.done = True
            return
        if self.o_valid.value:
            value = _as_int(self.o_payload)
            if self.held is not None and value != self.held:
                self.protocol.append(f"cycle {self.cycles}: output changed while stalled")
            if self.taking:
                if value != self.expected[self.received]:
                    self.mismatches += 1
                    if len(self.first) < MAX_REPORTED:
                        self.first.append({"transfer": self.received, "input": self.inputs[self.received],
                                           "expected": self.expected[self.received], "got": value})
                self.received += 1
                self.held = None
            else:
                self.held = value
        elif self.held is not None:
            self.protocol.append(f"cycle {self.cycles}: output withdrawn before it was taken")
            self.held = None
        if self.offering and self.i_ready.value:
            self.sent += 1
            self.offering = False
        if self.received >= self.total:
            self.done = True

    def write(self) -> None:
        with open(self.result, "w") as result:
            json.dump({"transfers": self.total, "received": self.received, "mismatches": self.mismatches,
                       "first_mismatches": self.first, "protocol_errors": self.protocol[:MAX_REPORTED],
                       "cycles": self.cycles}, result)


@cocotb.test()
async def stream_matches_model(dut):
    with open(os.environ["HWACT_UNITS"]) as file:
        specs = json.load(file)
    clk, rst = dut.clk, dut.rst
    Clock(clk, 10, unit="ns", impl="gpi").start()
    rst.value = 1
    streams = [_Stream(dut, spec) for spec in specs]
    await ClockCycles(clk, 3)
    rst.value = 0

    falling, settled = FallingEdge(clk), ReadOnly()
    active = [stream for stream in streams if not stream.done]
    while active:
        await falling
        for stream in active:
            stream.drive()
        await settled
        for stream in active:
            stream.check()
        if any(stream.done for stream in active):
            active = [stream for stream in active if not stream.done]

    failing = []
    for index, stream in enumerate(streams):
        stream.write()
        if stream.protocol:
            failing.append(f"unit {index}: {stream.protocol[0]}")
        elif stream.mismatches:
            failing.append(f"unit {index}: {stream.mismatches} of {stream.total} transfers differ from the model, "
                           f"first: {stream.first[0]}")
    assert not failing, "; ".join(failing)

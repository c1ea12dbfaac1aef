"""cocotb testbench: drive a unit's input stream, check its output stream against expectations.

The runner (:mod:`hwact.verify.runner`) writes the input transfers and the model's expected
output transfers to an ``.npz`` file named by ``HWACT_VECTORS``; this bench streams them
through the unit with random idle cycles on both sides, checks every output and the stream
rules, and writes a JSON summary to ``HWACT_RESULT``.

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


@cocotb.test()
async def stream_matches_model(dut):
    vectors = np.load(os.environ["HWACT_VECTORS"])
    inputs = [int(v) for v in vectors["inputs"]]
    expected = [int(v) for v in vectors["expected"]]
    idle = float(os.environ.get("HWACT_IDLE", "0.1"))
    rng = random.Random(int(os.environ.get("HWACT_SEED", "1")))

    clk, rst = dut.clk, dut.rst
    i_payload, i_valid, i_ready = dut.i__payload, dut.i__valid, dut.i__ready
    o_payload, o_valid, o_ready = dut.o__payload, dut.o__valid, dut.o__ready
    Clock(clk, 10, unit="ns", impl="gpi").start()
    i_valid.value, o_ready.value, rst.value = 0, 0, 1
    await ClockCycles(clk, 3)
    rst.value = 0

    total = len(inputs)
    sent = received = cycles = 0
    offering = False
    valid_now = ready_now = False  # what i.valid and o.ready are driven to
    held = None  # output payload seen while o.ready was low; must stay until taken
    mismatches, protocol = 0, []
    first = []
    limit = 4 * total + 1000  # a unit that stops answering fails instead of hanging the run
    falling, settled = FallingEdge(clk), ReadOnly()
    while received < total:
        await falling
        if not offering and sent < total and rng.random() >= idle:
            offering = True
            i_payload.value = inputs[sent]
        if offering != valid_now:
            i_valid.value = offering
            valid_now = offering
        taking = rng.random() >= idle
        if taking != ready_now:
            o_ready.value = taking
            ready_now = taking
        await settled
        cycles += 1
        if cycles > limit:
            protocol.append(f"no progress after {cycles} cycles ({received} of {total} outputs)")
            break
        if o_valid.value:
            value = _as_int(o_payload)
            if held is not None and value != held:
                protocol.append(f"cycle {cycles}: output changed while stalled")
            if taking:
                if value != expected[received]:
                    mismatches += 1
                    if len(first) < MAX_REPORTED:
                        first.append({"transfer": received, "input": inputs[received],
                                      "expected": expected[received], "got": value})
                received += 1
                held = None
            else:
                held = value
        elif held is not None:
            protocol.append(f"cycle {cycles}: output withdrawn before it was taken")
            held = None
        if offering and i_ready.value:
            sent += 1
            offering = False

    with open(os.environ["HWACT_RESULT"], "w") as result:
        json.dump({"transfers": total, "received": received, "mismatches": mismatches,
                   "first_mismatches": first, "protocol_errors": protocol[:MAX_REPORTED],
                   "cycles": cycles}, result)
    assert not protocol, protocol[0]
    assert mismatches == 0, f"{mismatches} of {total} transfers differ from the model, first: {first[0]}"

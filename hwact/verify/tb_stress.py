"""cocotb stress bench: long random handshake patterns and resets in mid-stream.

The runner (:func:`hwact.verify.stress.stress`) writes input transfers and the model's
expected outputs to ``HWACT_VECTORS``; this bench sends ``HWACT_TRANSFERS`` of them, picked at
random, through the unit under changing traffic: bursts, long stalls of either side, fast
toggling, and ``HWACT_RESETS`` resets asserted while transfers are in flight. A scoreboard
counts every transfer: each accepted input (a rising edge with ``i.valid`` and ``i.ready`` and
no reset) is queued; each output taken (``o.valid`` and ``o.ready``) must be the model's answer
for the oldest queued input (nothing lost, nothing duplicated, order kept). A reset empties the
queue (what was in flight is legitimately dropped). Outside reset, ``i.ready``, ``o.valid`` and
a valid ``o.payload`` must never be X or Z, and a pipelined unit's ``o.valid`` must be low in
the first cycle after a reset. An output offered while ``o.ready`` is low must not change until taken. The summary
goes to ``HWACT_RESULT`` as JSON.
"""

from __future__ import annotations

import json
import os
import random
from collections import deque

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly

MAX_REPORTED = 20

#: Traffic patterns: (probability the producer offers, probability the consumer takes) per cycle.
PATTERNS = {"bursts": (1.0, 1.0), "input starved": (0.05, 1.0), "output stalled": (1.0, 0.05),
            "toggling": (0.5, 0.5), "mostly busy": (0.9, 0.9), "sparse": (0.2, 0.3)}


def _resolved(handle) -> int | None:
    value = handle.value
    return int(value) if value.is_resolvable else None


@cocotb.test()
async def stress_stream(dut):
    vectors = np.load(os.environ["HWACT_VECTORS"])
    inputs = [int(v) for v in vectors["inputs"]]
    expected = [int(v) for v in vectors["expected"]]
    transfers = int(os.environ["HWACT_TRANSFERS"])
    resets = int(os.environ["HWACT_RESETS"])
    pipelined = int(os.environ["HWACT_STAGES"]) > 0  # a reset then waits until transfers are in flight
    rng = random.Random(int(os.environ.get("HWACT_SEED", "1")))
    trace = int(os.environ.get("HWACT_TRACE", "0"))  # log this many cycles, for debugging

    clk, rst = dut.clk, dut.rst
    i_payload, i_valid, i_ready = dut.i__payload, dut.i__valid, dut.i__ready
    o_payload, o_valid, o_ready = dut.o__payload, dut.o__valid, dut.o__ready
    Clock(clk, 10, unit="ns", impl="gpi").start()

    queue: deque[int] = deque()  # indices of accepted inputs whose outputs are still owed
    counts = {"offered": 0, "accepted": 0, "received": 0, "dropped_by_reset": 0, "resets": 0, "cycles": 0}
    problems: list[str] = []
    mismatches = 0
    first: list[dict] = []

    def problem(text: str) -> None:
        if len(problems) < MAX_REPORTED:
            problems.append(f"cycle {counts['cycles']}: {text}")

    # Reset points spread over the run, each at a random moment with transfers in flight.
    reset_at = sorted(rng.sample(range(transfers // 8, transfers), min(resets, transfers - transfers // 8)))
    offering, current = False, 0
    held = None
    in_reset, after_reset = 3, False  # cycles of reset still to drive; the first cycle after one
    pattern = "bursts"
    pattern_left = 0
    limit = 60 * transfers + 1000
    falling, settled = FallingEdge(clk), ReadOnly()
    driven: dict = {}

    def drive(handle, value: int) -> None:  # write a control input only when it changes
        if driven.get(handle._path) != value:
            handle.value = value
            driven[handle._path] = value

    drive(i_valid, 0)
    drive(o_ready, 0)
    while counts["accepted"] < transfers or queue:
        await falling
        counts["cycles"] += 1
        if counts["cycles"] > limit:
            problem(f"no progress ({counts['accepted']} accepted, {len(queue)} owed)")
            break
        if pattern_left == 0:
            pattern = rng.choice(list(PATTERNS))
            pattern_left = rng.randint(20, 400)
        pattern_left -= 1
        p_offer, p_take = PATTERNS[pattern]
        if in_reset == 0 and reset_at and counts["accepted"] >= reset_at[0] and (queue or not pipelined):
            reset_at.pop(0)
            in_reset = rng.randint(1, 3)
        resetting = in_reset > 0
        drive(rst, int(resetting))
        if resetting:
            offering, held = False, None  # no transaction is started while the unit is in reset
        elif not offering and counts["accepted"] < transfers and rng.random() < p_offer:
            offering, current = True, rng.randrange(len(inputs))
            i_payload.value = inputs[current]
            counts["offered"] += 1
        drive(i_valid, int(offering))
        taking = rng.random() < p_take
        drive(o_ready, int(taking))
        await settled

        if resetting:
            in_reset -= 1
            if in_reset == 0:
                counts["resets"] += 1
                counts["dropped_by_reset"] += len(queue)
                queue.clear()
                after_reset = True
            continue
        valid, ready = _resolved(o_valid), _resolved(i_ready)
        if trace and counts["cycles"] < trace:
            dut._log.info(f"{counts['cycles']} offer={int(offering)} take={int(taking)} i.ready={ready} "
                          f"o.valid={valid} o.payload={_resolved(o_payload)} owed={list(queue)[:4]}")
        if valid is None or ready is None:
            problem(f"X or Z on {'o.valid' if valid is None else 'i.ready'}")
            continue
        if after_reset and valid and pipelined:
            problem("o.valid high in the first cycle after a reset")
        after_reset = False
        # Inputs first: a combinational unit answers the input it accepts in the same cycle.
        if offering and ready:
            queue.append(current)
            counts["accepted"] += 1
            offering = False
        if valid:
            value = _resolved(o_payload)
            if value is None:
                problem("X or Z on a valid o.payload")
            elif held is not None and value != held:
                problem("output changed while stalled")
            if taking:
                if not queue:
                    problem("an output nobody asked for (duplicated or made up)")
                else:
                    index = queue.popleft()
                    if value != expected[index]:
                        mismatches += 1
                        if len(first) < MAX_REPORTED:
                            first.append({"transfer": counts["received"], "input": inputs[index],
                                          "expected": expected[index], "got": value})
                counts["received"] += 1
                held = None
            else:
                held = value
        elif held is not None:
            problem("output withdrawn before it was taken")
            held = None

    with open(os.environ["HWACT_RESULT"], "w") as result:
        json.dump({**counts, "owed": len(queue), "mismatches": mismatches, "first_mismatches": first,
                   "protocol_errors": problems}, result)
    assert not problems, problems[0]
    assert mismatches == 0, f"{mismatches} outputs differ from the model, first: {first[0]}"

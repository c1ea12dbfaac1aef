"""The Cfu component on Amaranth's simulator (no external tools): responses in command order
across a combinational and two pipelined units, held under back-pressure, unknown ids and the
discovery word answered, the command read only in its handshake cycle.
"""

import random

import numpy as np
import pytest
from amaranth.hdl import Fragment
from amaranth.sim import Simulator

from hwact import make_plan
from hwact.cfu.core import Cfu, CfuOp, discovery_word
from hwact.layout import pack_outputs, unpack_inputs
from hwact.model import evaluate

pytestmark = pytest.mark.amaranth


def small_ops(serial=False):
    ops = (CfuOp(0, "relu_c", make_plan("relu", "s4.4", "s4.4"), 4, 0),
           CfuOp(9, "hs_p3", make_plan("hardsigmoid", "s4.4", "u0.8"), 4, 3),
           CfuOp(17, "prelu_p1", make_plan("prelu", "s4.4", "s4.4"), 4, 1))
    if serial:  # one lane of datapath each, a table in block RAM and a two-operand unit
        ops += (CfuOp(33, "sig_s", make_plan("sigmoid", "s4.4", "u0.8"), 4, 1, serial=True),
                CfuOp(34, "prelu_s", make_plan("prelu", "s4.4", "s4.4"), 4, 2, serial=True))
    return ops


def small_cfu(serial=False):
    ops = small_ops(serial)
    return Cfu(ops, discovery_id=1023, unknown_value=0xABCD1234), ops


def expected(ops, fid, rs1, rs2):
    for op in ops:
        if op.function_id == fid:
            x, a = unpack_inputs(op.plan, op.lanes, np.array([rs1]), np.array([rs2]))
            return int(pack_outputs(op.plan, op.lanes, evaluate(op.plan, x, a))[0])
    return discovery_word(len(ops)) if fid == 1023 else 0xABCD1234


@pytest.mark.parametrize("serial", [False, True], ids=["parallel", "serial"])
@pytest.mark.parametrize("idle", [0.0, 0.4])
def test_order_backpressure_and_every_kind_of_id(idle, serial):
    """Random commands to every kind of id, interleaved back to back (serial: with two serial units)."""
    dut, ops = small_cfu(serial)
    rng = random.Random(int(idle * 10))
    ids = [0, 9, 17, 1023, 5, 512] + ([33, 34, 33] if serial else [])
    commands = [(rng.choice(ids), rng.getrandbits(32), rng.getrandbits(32)) for _ in range(200)]
    want = [expected(ops, *c) for c in commands]
    got = []

    async def bench(ctx):
        sent, held, stall = 0, None, 0
        for _ in range(5000):
            if sent < len(commands) and rng.random() >= idle:
                fid, rs1, rs2 = commands[sent]
                ctx.set(dut.cmd_valid, 1)
            else:  # not offering: junk on the payload must not matter
                fid, rs1, rs2 = rng.getrandbits(10), rng.getrandbits(32), rng.getrandbits(32)
                ctx.set(dut.cmd_valid, 0)
            ctx.set(dut.cmd_payload_function_id, fid)
            ctx.set(dut.cmd_payload_inputs_0, rs1)
            ctx.set(dut.cmd_payload_inputs_1, rs2)
            stall = stall - 1 if stall else (12 if rng.random() < 0.03 else 0)
            taking = not stall and rng.random() >= idle
            ctx.set(dut.rsp_ready, taking)
            offered = ctx.get(dut.cmd_valid)
            accepted = offered and ctx.get(dut.cmd_ready)
            if ctx.get(dut.rsp_valid):
                value = ctx.get(dut.rsp_payload_outputs_0)
                assert held is None or value == held, "response changed while rsp_ready was low"
                if taking:
                    got.append(value)
                    held = None
                else:
                    held = value
            else:
                assert held is None, "response withdrawn"
            await ctx.tick()
            sent += accepted
            if len(got) == len(commands):
                break

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert got == want


def test_latency_and_fifo_depth_are_stated():
    dut, _ = small_cfu()
    assert [dut.latency(i) for i in (0, 9, 17, 1023, 5)] == [2, 5, 3, 2, 2]
    assert dut.fifo_depth == 3 + 1 and dut.discovery_value == discovery_word(3)
    Fragment.get(dut, None)  # and it elaborates


def test_a_refused_cfu_is_not_reported_unused(recwarn):
    ops = small_ops()
    with pytest.raises(ValueError, match="distinct"):
        Cfu(ops + ops[:1])
    with pytest.raises(ValueError, match="stage count"):
        Cfu((CfuOp(3, "deep", ops[0].plan, 4, 99),))
    import gc

    gc.collect()
    assert not [w for w in recwarn if "never used" in str(w.message)]


def test_serial_ops_state_latency_interval_and_capacity():
    dut, ops = small_cfu(serial=True)
    assert [dut.latency(i) for i in (33, 34)] == [2 + 4 + 1 + 1, 2 + 4 + 2 + 1]
    assert [op.interval for op in ops] == [1, 1, 1, 7, 8]
    assert dut.fifo_depth == 4  # the deepest unit's 3 transfers, and one more
    with pytest.raises(ValueError, match="at least one pipeline stage"):
        Cfu((CfuOp(3, "s0", ops[0].plan, 4, 0, serial=True),))


@pytest.mark.parametrize("fid, latency, interval", [(0, 2, 1), (9, 5, 1), (17, 3, 1), (33, 8, 7), (34, 9, 8)])
def test_one_command_per_cycle_back_to_back(fid, latency, interval):
    """With the response always taken, a unit accepts a command every ``interval`` cycles (1 but for a
    serial unit): n commands take (n - 1) * interval + latency + 1 cycles."""
    dut, ops = small_cfu(serial=True)
    n = 32
    rng = random.Random(fid)
    commands = [(fid, rng.getrandbits(32), rng.getrandbits(32)) for _ in range(n)]
    cycles = []

    async def bench(ctx):
        ctx.set(dut.rsp_ready, 1)
        got, sent = [], 0
        for cycle in range(12 * n):
            if sent < n:
                ctx.set(dut.cmd_valid, 1)
                ctx.set(dut.cmd_payload_function_id, commands[sent][0])
                ctx.set(dut.cmd_payload_inputs_0, commands[sent][1])
                ctx.set(dut.cmd_payload_inputs_1, commands[sent][2])
            else:
                ctx.set(dut.cmd_valid, 0)
            accepted = sent < n and ctx.get(dut.cmd_ready)
            if ctx.get(dut.rsp_valid):
                got.append(ctx.get(dut.rsp_payload_outputs_0))
            await ctx.tick()
            sent += bool(accepted)
            if len(got) == n:
                cycles.append(cycle + 1)
                break
        assert got == [expected(ops, *c) for c in commands]

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert cycles == [(n - 1) * interval + latency + 1]


def shared_ops(serial):
    """Units that share datapaths: a table (8-bit inputs) and a Horner pipeline (9-bit inputs) of
    mixed degrees, folds, short and long tables, uniform and non-uniform segments with origins
    (from the shared memory, or constants of a short table)."""
    from hwact.approx.request import PlanRequest
    from hwact.approx.segments import FitTolerance, Uniform
    from hwact.approx.table import plan_table

    def table(function, in_fmt, out_fmt, *, method, shift=None, tolerance=None):
        segmentation = Uniform(shift) if shift is not None else FitTolerance(tolerance)
        return plan_table(PlanRequest.parse(function, in_fmt, out_fmt, method=method), segmentation)

    plans = [(40, make_plan("hardsigmoid", "s4.4", "u0.8"), 4), (41, make_plan("tanh", "s4.4", "s1.7"), 4),
             (42, make_plan("hardsigmoid", "s3.6", "u0.8"), 2),
             (43, table("tanh", "s3.6", "s1.7", method="pwl2", shift=3), 2),
             (44, table("sigmoid", "s3.6", "u0.8", method="pwl", tolerance=0.02), 2),
             (45, table("gelu", "s4.5", "s4.4", method="pwl", shift=2), 2),
             (46, table("sigmoid", "s3.6", "u0.8", method="pwl", tolerance=2.0), 2)]  # 3 rows: constants
    ops = tuple(CfuOp(fid, f"u{fid}", plan, lanes, 1, serial=serial, share=True) for fid, plan, lanes in plans)
    return (*ops, CfuOp(0, "relu_c", make_plan("relu", "s4.4", "s4.4"), 4, 0),
            CfuOp(17, "prelu_p1", make_plan("prelu", "s4.4", "s4.4"), 4, 1))


@pytest.mark.parametrize("serial", [False, True], ids=["parallel", "serial"])
def test_shared_datapaths_answer_interleaved_commands_back_to_back(serial):
    """Commands to different units of one shared datapath, back to back and under back-pressure,
    each answered as its own plan, in order; latency and interval as stated."""
    ops = shared_ops(serial)
    assert [op.shared for op in ops] == ["table"] * 2 + ["horner"] * 5 + [None, None]
    assert len({op.group for op in ops[:7]}) == 3  # the table; Horner of degree 1 (three units) and 2
    assert [op.latency for op in ops[:3]] == ([2 + 4 + 1 + 1, 2 + 4 + 1 + 1, 2 + 2 + 4 + 1] if serial else [3, 3, 8])
    assert [op.interval for op in ops[:3]] == ([7, 7, 8] if serial else [1, 1, 1])
    dut = Cfu(ops, discovery_id=1023, unknown_value=0xABCD1234)
    rng = random.Random(7 + serial)
    ids = [op.function_id for op in ops]
    # Runs of alternating units of one datapath, then mixed with the others.
    commands = [(ids[k % 2] if n < 30 else ids[2 + k % 5] if n < 60 else rng.choice([*ids, 1023, 5]),
                 rng.getrandbits(32), rng.getrandbits(32)) for n, k in enumerate(range(120))]
    want = [expected(ops, *c) for c in commands]
    got = []

    async def bench(ctx):
        sent = 0
        for cycle in range(3000):
            if sent < len(commands):
                fid, rs1, rs2 = commands[sent]
                ctx.set(dut.cmd_valid, 1)
                ctx.set(dut.cmd_payload_function_id, fid)
                ctx.set(dut.cmd_payload_inputs_0, rs1)
                ctx.set(dut.cmd_payload_inputs_1, rs2)
            else:
                ctx.set(dut.cmd_valid, 0)
            taking = cycle < 80 or rng.random() >= 0.3  # back to back first, then back-pressure
            ctx.set(dut.rsp_ready, taking)
            accepted = sent < len(commands) and ctx.get(dut.cmd_ready)
            if ctx.get(dut.rsp_valid) and taking:
                got.append(ctx.get(dut.rsp_payload_outputs_0))
            await ctx.tick()
            sent += bool(accepted)
            if len(got) == len(commands):
                break

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert got == want


def test_sharing_is_a_choice_of_each_op():
    """Without share, an op keeps its own datapath and its stated stages."""
    op = shared_ops(False)[2]
    own = CfuOp(op.function_id, op.name, op.plan, op.lanes, op.stages)
    assert own.shared is None and own.latency == 3 and op.shared == "horner" and op.latency == 8


def test_a_shared_horner_datapath_pads_lower_degrees():
    """Plans of degrees 1 and 2 on one Horner datapath (the degree-1 ones padded with exact steps
    on zero coefficients), transfers to every unit back to back: each answers as its own plan."""
    from hwact.hdl.shared import SharedDatapath

    plans = [op.plan for op in shared_ops(False)[2:6]]
    assert sorted(plan.table.degree for plan in plans) == [1, 1, 1, 2]
    dut = SharedDatapath(plans, lanes=2)
    rng = np.random.default_rng(5)
    units = rng.integers(0, len(plans), 120)
    words = rng.integers(0, 1 << 18, 120)
    want = []
    for unit, word in zip(units, words):
        plan = plans[unit]
        x, _ = unpack_inputs(plan, 2, np.array([word]), np.array([0]))
        want.append(int(pack_outputs(plan, 2, evaluate(plan, x))[0]))
    got = []

    async def bench(ctx):
        sent = 0
        for _ in range(2000):
            if sent < len(units):
                ctx.set(dut.i.valid, 1)
                ctx.set(dut.i.payload.unit, int(units[sent]))
                ctx.set(dut.i.payload.x, int(words[sent]))
            else:
                ctx.set(dut.i.valid, 0)
            taking = rng.random() > 0.25
            ctx.set(dut.o.ready, taking)
            accepted = sent < len(units) and ctx.get(dut.i.ready)
            if ctx.get(dut.o.valid) and taking:
                got.append(ctx.get(dut.o.payload))
            await ctx.tick()
            sent += bool(accepted)
            if len(got) == len(units):
                break

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert dut.stages == 7 and got == want


def test_a_shared_horner_datapath_narrows_an_exact_plan_without_changing_an_answer():
    """hardsigmoid s4.12 -> u0.16 (constants at 31 fraction bits) rounds its product instead of its
    33-bit accumulator on a shared Horner datapath: the same output on every code, 18-bit accumulator."""
    from hwact.hdl.shared import normalized
    from hwact.widths import analyze

    plan = make_plan("hardsigmoid", "s4.12", "u0.16")
    narrow = normalized(plan)
    assert analyze(plan).acc.operand_bits == 32 and analyze(narrow).acc.operand_bits == 17
    codes = np.arange(plan.in_fmt.min_code, plan.in_fmt.max_code + 1)
    assert np.array_equal(evaluate(narrow, codes), evaluate(plan, codes))
    tanh = make_plan("tanh", "s4.4", "s1.7", method="pwl")  # a folded plan is kept as it is
    assert normalized(tanh) is tanh

"""Tier 2: units on Amaranth's simulator (no external tools), against the golden model."""

import random

import numpy as np
import pytest
from amaranth.hdl import ClockDomain, Fragment, Module
from amaranth.sim import Simulator

from hwact import evaluate, make_plan
from hwact.hdl import ActivationUnit, to_verilog
from hwact.hdl.unit import datapath_steps

pytestmark = pytest.mark.amaranth

PLANS = {
    "relu6": ("relu6", "s4.12", "s4.12"),
    "leaky_u16": ("leaky_relu", "s4.12", "u0.16"),
    "hardswish": ("hardswish", "s4.12", "s4.12"),
    "prelu8": ("prelu", "s4.4", "s4.4"),
    "step": ("step", "s4.4", "u1.0"),
    "sigmoid": ("sigmoid", "s4.12", "s4.12"),
    "sigmoid8": ("sigmoid", "s4.4", "u0.8"),  # a direct table: a registered block RAM read when staged
    "glu8": ("glu", "s4.4", "s4.4"),
    "gtu": ("gtu", "s4.12", "s4.12"),
    "maxout": ("maxout", "s4.4", "s4.4"),
    "crelu": ("crelu", "s4.4", "s4.4"),
}


def pack(codes, fmt, lanes, offset=0):
    """Transfer words from codes, lane 0 lowest (the reference packing, written out)."""
    words = []
    for group in np.asarray(codes).reshape(-1, lanes):
        words.append(sum((int(c) & ((1 << fmt.width) - 1)) << (offset + i * fmt.width) for i, c in enumerate(group)))
    return words


def simulator(dut):
    """A simulator with a clock, also for combinational units (which have no domain of their own)."""
    top = Module()
    top.domains.sync = ClockDomain()
    top.submodules.dut = dut
    sim = Simulator(top)
    sim.add_clock(1e-6)
    return sim


def run_stream(dut, inputs, count, idle=0.3, seed=0):
    """Push ``inputs`` through ``dut`` with random gaps on both sides; return the output words."""
    rng = random.Random(seed)
    got = []

    async def producer(ctx):
        for word in inputs:
            while rng.random() < idle:
                await ctx.tick()
            ctx.set(dut.i.payload.as_value(), word)
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)

    async def consumer(ctx):
        while len(got) < count:
            ctx.set(dut.o.ready, 0)
            while rng.random() < idle:
                await ctx.tick()
            ctx.set(dut.o.ready, 1)
            (payload,) = await ctx.tick().sample(dut.o.payload.as_value()).until(dut.o.valid)
            got.append(int(payload))

    sim = simulator(dut)
    sim.add_testbench(producer)
    sim.add_testbench(consumer)
    sim.run()
    return got


@pytest.mark.parametrize("stages", [0, 1, 2, 3])
@pytest.mark.parametrize("lanes", [1, 2])
@pytest.mark.parametrize("key", PLANS)
def test_unit_matches_model_with_backpressure(key, lanes, stages, cached_plan):
    plan = cached_plan(*PLANS[key])
    dut = ActivationUnit(plan, lanes=lanes, stages=stages)
    rng = np.random.default_rng(stages * 10 + lanes)
    n = 96 * lanes
    x = rng.integers(plan.in_fmt.min_code, plan.in_fmt.max_code, n, endpoint=True)
    x[:4] = [plan.in_fmt.min_code, plan.in_fmt.max_code, 0, -1 if plan.in_fmt.signed else 1]
    inputs = pack(x, plan.in_fmt, lanes)
    a = None
    if plan.operand_fmt is not None:
        a = rng.integers(plan.operand_fmt.min_code, plan.operand_fmt.max_code, n, endpoint=True)
        # Every two-operand unit: the input lanes low (rs1), the operand lanes above (rs2).
        inputs = [w | v for w, v in zip(inputs, pack(a, plan.operand_fmt, lanes, lanes * plan.in_fmt.width))]
    expected = pack(evaluate(plan, x, a).reshape(-1), plan.out_fmt, lanes * plan.outputs)
    assert run_stream(dut, inputs, len(inputs), seed=stages) == expected


def test_table_is_a_registered_block_ram_read_only_when_a_stage_allows(cached_plan):
    plan = cached_plan("sigmoid", "s4.4", "u0.8")
    combinational = to_verilog(ActivationUnit(plan, lanes=2, stages=0), "u")
    staged = to_verilog(ActivationUnit(plan, lanes=2, stages=1), "u")
    assert "ram_style" not in combinational
    assert staged.count('(* ram_style = "block" *)') == 1  # one ROM, one registered read port per lane
    assert staged.count("c0_rom[") >= 2


def test_pipelined_unit_takes_one_transfer_per_cycle():
    plan = make_plan("hardswish", "s4.4", "s4.4")
    dut = ActivationUnit(plan, lanes=4, stages=3)
    accepted = []

    async def bench(ctx):
        ctx.set(dut.o.ready, 1)
        ctx.set(dut.i.valid, 1)
        for _ in range(20):
            _, _, ready, valid = await ctx.tick().sample(dut.i.ready, dut.o.valid)
            accepted.append((ready, valid))

    sim = simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    assert all(ready for ready, _ in accepted)  # never stalls while the output is taken
    first_valid = next(i for i, (_, valid) in enumerate(accepted) if valid)
    # accepted at the first edge, sampled valid before edge number `latency`
    assert first_valid == dut.latency and all(v for _, v in accepted[first_valid:])


def test_stalled_output_is_held():
    plan = make_plan("relu6", "s4.4", "s4.4")
    dut = ActivationUnit(plan, lanes=1, stages=2)
    seen = []

    async def bench(ctx):
        ctx.set(dut.i.payload.as_value(), 0x15)
        ctx.set(dut.i.valid, 1)
        await ctx.tick().repeat(4)  # o.ready stays low: the unit fills and must stall
        ctx.set(dut.i.valid, 0)
        for _ in range(4):
            _, _, valid, payload, ready = await ctx.tick().sample(dut.o.valid, dut.o.payload.as_value(), dut.i.ready)
            seen.append((valid, payload, ready))

    sim = simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    assert all(valid == 1 and payload == 0x15 and ready == 0 for valid, payload, ready in seen)


def test_properties_and_parameter_checks():
    plan = make_plan("relu", "s4.12", "s4.12")
    unit = ActivationUnit(plan, lanes=2, stages=3)
    assert (unit.latency, unit.throughput, unit.lanes, unit.stages) == (3, 1, 2, 3)
    Fragment.get(unit, None)  # it elaborates (and is marked used, so no warning at collection)
    with pytest.raises(ValueError, match=r"^lane count must be one of 1, 2, 4, not 3$"):
        ActivationUnit(plan, lanes=3)
    with pytest.raises(ValueError, match=r"^stage count must be an integer in 0..16, not -1$"):
        ActivationUnit(plan, stages=-1)
    with pytest.raises(ValueError, match="4 lanes of 16-bit codes do not fit a 32-bit register"):
        ActivationUnit(plan, lanes=4)
    with pytest.raises(TypeError, match="plan must be"):
        ActivationUnit("relu")


def test_verilog_is_deterministic_and_has_the_documented_ports():
    plan = make_plan("leaky_relu", "s4.12", "s4.12")
    first = to_verilog(ActivationUnit(plan, lanes=2, stages=1), "leaky")
    second = to_verilog(ActivationUnit(make_plan("leaky_relu", "s4.12", "s4.12"), lanes=2, stages=1), "leaky")
    assert first == second
    header = first[first.index("module leaky("):].split(";")[0]
    ports = sorted(p.strip() for p in header[len("module leaky("):-1].split(","))
    assert ports == sorted(["clk", "rst", "i__payload", "i__valid", "i__ready", "o__payload", "o__valid", "o__ready"])
    assert ".py" not in first and "/work" not in first  # no source paths
    comb = to_verilog(ActivationUnit(plan, stages=0), "leaky_comb")
    assert "input clk;" in comb and "input rst;" in comb  # the same ports when combinational


NARROW = [("s2.0", "u8.0"), ("s1.0", "s4.2"), ("s3.1", "u2.1"), ("u3.0", "s5.0"), ("s4.2", "s2.1")]


@pytest.mark.parametrize("overflow", ["SAT", "SAT_SYM", "WRAP"])
@pytest.mark.parametrize("rounding", ["TRN", "RND", "RND_CONV", "RND_ZERO"])
@pytest.mark.parametrize("fmt_in, fmt_out", NARROW)
def test_narrow_and_widening_formats_match_the_model(fmt_in, fmt_out, rounding, overflow):
    """Every code, every mode: outputs wider than the datapath, and narrower ones."""
    for name in ("identity", "hardtanh"):
        plan = make_plan(name, fmt_in, fmt_out, rounding=rounding, overflow=overflow, max_err_lsb=1e9)
        dut = ActivationUnit(plan, stages=0)
        x = plan.in_fmt.all_codes()
        expected = pack(evaluate(plan, x), plan.out_fmt, 1)
        assert run_stream(dut, pack(x, plan.in_fmt, 1), len(x), idle=0) == expected


def test_convergent_rounding_by_more_bits_than_the_value_has():
    from amaranth.hdl import Signal, signed

    from hwact.fixed import shift_round
    from hwact.hdl.primitives import shift_round as hdl_shift_round

    value = Signal(signed(2))
    rounded = hdl_shift_round(value, 3, "RND_CONV")
    seen = {}

    async def bench(ctx):
        for v in range(-2, 2):
            ctx.set(value, v)
            seen[v] = ctx.get(rounded)

    sim = Simulator(Module())
    sim.add_testbench(bench)
    sim.run()
    assert seen == {v: int(shift_round(np.array([v]), 3, "RND_CONV")[0]) for v in range(-2, 2)}


def test_registers_go_where_the_delay_is():
    from hwact.hdl.unit import place_registers, stage_delays

    # One slow step: the two spare registers go on both sides of it, the output is registered.
    assert place_registers([1.0, 1.0, 8.0, 1.0, 1.0], 3) == [0, 1, 1, 0, 1]
    assert place_registers([1.0, 1.0, 8.0, 1.0, 1.0], 0) == [0] * 5
    assert place_registers([1.0, 2.0], 4) == [1, 3]  # more registers than steps: the rest at the output
    # A forced register (before a block RAM read) wins over the output register at one stage.
    assert place_registers([1.0, 1.0, 1.0], 1, forced=[0]) == [1, 0, 0]
    lengths = [max(stage_delays([3.0, 1.0, 4.0, 1.0, 5.0], place_registers([3.0, 1.0, 4.0, 1.0, 5.0], s)))
               for s in range(1, 6)]
    assert lengths == sorted(lengths, reverse=True) and lengths[0] > lengths[-1]


def test_a_deep_pipeline_isolates_every_multiplier_and_matches_the_model(cached_plan):
    """At enough stages each multiplier is a stage of its own (registers before and after it, what a
    DSP block absorbs), a product wider than one DSP block is split, and the unit still answers as its plan."""
    plan = cached_plan("sigmoid", "s4.12", "s4.12")
    dut = ActivationUnit(plan, lanes=1, stages=12)
    after = dut.register_after()
    names = [step.name for step in datapath_steps(plan, {})]
    multiplies = [i for i, name in enumerate(names) if name.startswith("multiply")]
    assert multiplies and all(after[i] and after[i - 1] for i in multiplies), (names, after)
    assert max(dut.stage_delays) < max(ActivationUnit(plan, lanes=1, stages=2).stage_delays)
    rng = np.random.default_rng(7)
    x = rng.integers(plan.in_fmt.min_code, plan.in_fmt.max_code, 48, endpoint=True)
    expected = pack(evaluate(plan, x).reshape(-1), plan.out_fmt, 1)
    assert run_stream(dut, pack(x, plan.in_fmt, 1), len(expected), seed=3) == expected

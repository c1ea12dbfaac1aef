"""Tier 3: generated Verilog simulated by cocotb on Icarus, every input code, against the model.

Each case writes the unit's Verilog, streams every input code through it with random idle
cycles on both sides of the handshake, and requires zero mismatches and no broken stream rule.
The cases are proven in batches (``conftest.batched``): the units of a batch share one
simulator run, each with its own stimulus, idle cycles, scoreboard and result, and each case
asserts on its own unit's result.
"""

import dataclasses

import pytest
from conftest import batched

from hwact import Fmt, make_plan
from hwact.functions import FUNCTIONS
from hwact.hdl import ActivationUnit, to_verilog
from hwact.verify import simulate
from hwact.verify.runner import SimJob, simulate_many

EXACT = sorted({f.name for f in FUNCTIONS.values() if f.family == "exact"})
#: (format, lanes, stages) each exact function is proven at: every layout, and every stage count at
#: both widths, without the full cross product (each proof is a whole simulator run; the register
#: placement of every stage count is also checked on the Amaranth simulator, tests/test_properties).
LAYOUTS = [("s4.12", 1, 0), ("s4.12", 1, 2), ("s4.12", 2, 1), ("s4.4", 1, 1), ("s4.4", 2, 2), ("s4.4", 4, 0),
           ("s4.4", 4, 2)]

pytestmark = pytest.mark.icarus


def unit_job(work, index, plan, lanes, stages, **options):
    """The unit's Verilog written as module ``u{index}``, proven with seed ``lanes + stages``."""
    top = f"u{index}"
    verilog = work / f"{top}.v"
    verilog.write_text(to_verilog(ActivationUnit(plan, lanes=lanes, stages=stages), top))
    return SimJob(plan, verilog, top, lanes, stages, seed=lanes + stages, **options)


def transfers(fmt, lanes, operand_codes=1):
    """Roughly what a case costs: the transfers it streams."""
    return Fmt.parse(fmt).n_codes * operand_codes / lanes


def fits(name, fmt, lanes):
    """Whether the layout fits 32-bit registers (CReLU has two outputs per input)."""
    outputs = 2 if FUNCTIONS[name].mirror else 1
    return lanes * outputs * Fmt.parse(fmt).width <= 32


EXACT_CASES = [(n, f, lanes, s) for n in EXACT for f, lanes, s in LAYOUTS if fits(n, f, lanes)]


def exact_job(work, index, case):
    name, fmt, lanes, stages = case
    return unit_job(work, index, make_plan(name, fmt, fmt), lanes, stages)


def exact_cost(case):
    name, fmt, lanes, _ = case
    return transfers(fmt, lanes, 8 if FUNCTIONS[name].operands > 1 and fmt == "s4.12" else 1)


@pytest.mark.parametrize("name, fmt, lanes, stages", batched(EXACT_CASES, "cocotb-exact", 6, exact_cost),
                         ids=lambda v: str(v))
def test_every_input_code_matches_the_model(request, sim_batch, name, fmt, lanes, stages):
    plan = make_plan(name, fmt, fmt)
    result = sim_batch(request, (name, fmt, lanes, stages), exact_job)
    assert result.protocol_errors == []
    assert result.mismatches == 0, result.first_mismatches[:3]
    if plan.operand_fmt is None or fmt == "s4.4":
        assert result.coverage == "exhaustive" and result.vectors == plan.in_fmt.n_codes * (
            1 if plan.operand_fmt is None else plan.operand_fmt.n_codes)
    else:  # 32 bits of operands: every input code crossed with sampled slopes
        assert result.vectors >= 5 * plan.in_fmt.n_codes
    assert result.passed


OTHER_OUTPUTS = [("hardsigmoid", "s4.12", "u0.16"), ("leaky_relu", "s4.12", "s2.14"), ("step", "s4.12", "u1.0"),
                 ("hardswish", "s4.4", "s8.8")]


def other_output_job(work, index, case):
    name, fmt, out = case
    return unit_job(work, index, make_plan(name, fmt, out), 1, 1)


@pytest.mark.parametrize("name, fmt, out", batched(OTHER_OUTPUTS, "cocotb-outputs", 1))
def test_other_output_formats(request, sim_batch, name, fmt, out):
    plan = make_plan(name, fmt, out)
    result = sim_batch(request, (name, fmt, out), other_output_job)
    assert result.passed and result.vectors == plan.in_fmt.n_codes


def test_a_wrong_model_is_caught(tmp_path):
    """The checker can fail: simulate correct Verilog against a model with one coefficient off."""
    plan = make_plan("leaky_relu", "s4.4", "s4.4")
    verilog = tmp_path / "dut.v"
    verilog.write_text(to_verilog(ActivationUnit(plan, lanes=1, stages=1), "dut"))
    rows = list(map(list, plan.table.rows))
    rows[0][1] += 1  # the negative slope, one code larger
    wrong = dataclasses.replace(plan, table=dataclasses.replace(plan.table, rows=tuple(map(tuple, rows))))
    result = simulate(wrong, verilog, "dut", lanes=1, stages=1)
    assert result.mismatches > 0 and not result.passed
    assert result.first_mismatches[0]["expected"] != result.first_mismatches[0]["got"]


#: Hand-written units that break the stream rules: one takes every input and offers it without
#: waiting for o_ready (so a stalled output changes or is withdrawn), one never answers.
BROKEN_UNITS = {
    "passes_through": "assign i__ready = 1'b1;\n  assign o__valid = i__valid;\n  assign o__payload = i__payload;",
    "never_answers": "assign i__ready = 1'b1;\n  assign o__valid = 1'b0;\n  assign o__payload = 8'd0;",
}


def broken_unit(name: str, body: str) -> str:
    return (f"module {name}(clk, rst, i__payload, i__valid, i__ready, o__payload, o__valid, o__ready);\n"
            "  input clk;\n  input rst;\n  input [7:0] i__payload;\n  input i__valid;\n  output i__ready;\n"
            f"  output [7:0] o__payload;\n  output o__valid;\n  input o__ready;\n  {body}\nendmodule\n")


def test_a_wrong_model_in_a_batch_fails_its_own_unit_only(tmp_path):
    """Units proven together keep separate scoreboards: one wrong model fails one result, and
    units breaking the stream rules fail their own results with the rule they broke."""
    plan = make_plan("leaky_relu", "s4.4", "s4.4")
    rows = [list(row) for row in plan.table.rows]
    rows[0][1] += 1
    wrong = dataclasses.replace(plan, table=dataclasses.replace(plan.table, rows=tuple(map(tuple, rows))))
    jobs = []
    for index, model in enumerate((plan, wrong, plan)):
        verilog = tmp_path / f"u{index}.v"
        verilog.write_text(to_verilog(ActivationUnit(plan, lanes=2, stages=1), f"u{index}"))
        jobs.append(SimJob(model, verilog, f"u{index}", lanes=2, stages=1))
    relu = make_plan("relu", "s4.4", "s4.4")
    for name, body in BROKEN_UNITS.items():
        verilog = tmp_path / f"{name}.v"
        verilog.write_text(broken_unit(name, body))
        jobs.append(SimJob(relu, verilog, name, lanes=1, stages=0))
    first, bad, last, passes_through, never_answers = simulate_many(jobs, work_dir=tmp_path / "sim")
    assert first.passed and last.passed and first.vectors == last.vectors == plan.in_fmt.n_codes
    assert first.protocol_errors == bad.protocol_errors == []
    assert bad.mismatches > 0 and not bad.passed
    assert any("while stalled" in error or "withdrawn" in error for error in passes_through.protocol_errors)
    assert not passes_through.passed
    assert never_answers.protocol_errors == [f"no progress after {4 * 256 + 1000} cycles (0 of 256 outputs)"]


def verilator_job(work, index, case):
    name, lanes, stages = case
    return unit_job(work, index, make_plan(name, "s4.4", "s4.4"), lanes, stages)


@pytest.mark.verilator
@pytest.mark.parametrize("name, lanes, stages", batched([("hardswish", 1, 2), ("prelu", 4, 1)], "cocotb-verilator", 1))
def test_verilator_agrees(request, sim_batch, name, lanes, stages):
    result = sim_batch(request, (name, lanes, stages), verilator_job, simulator="verilator")
    assert result.simulator == "verilator" and result.passed and result.vectors >= 256


# -- the smooth (table-based) family ---------------------------------------------------------

SMOOTH = sorted({f.name for f in FUNCTIONS.values() if f.family == "smooth"})
SMOOTH_CASES = [(n, {}) for n in SMOOTH] + [("gelu", {"approximate": "tanh"}), ("gelu", {"approximate": "sigmoid"})]
#: Every smooth unit combinational and pipelined, the pipelined depth rotating over 1..3, so each
#: depth is proven on a third of the functions (and all of them on the Amaranth simulator).
SMOOTH_RUNS = [(name, params, stages) for index, (name, params) in enumerate(SMOOTH_CASES)
               for stages in (0, 1 + index % 3)]


def smooth_job(cached_plan):
    def job(work, index, case):
        name, params, stages = case
        return unit_job(work, index, cached_plan(name, "s4.12", "s4.12", params=params), 1, stages)
    return job


SMOOTH_PARAMS = batched(SMOOTH_RUNS, "cocotb-smooth", 5, together=lambda case: case[0])  # one plan, one batch


@pytest.mark.parametrize("name, params, stages", SMOOTH_PARAMS, ids=lambda v: str(v))
def test_smooth_units_match_the_model_on_every_code(request, sim_batch, name, params, stages, cached_plan):
    plan = cached_plan(name, "s4.12", "s4.12", params=params)
    assert plan.table.degree >= 1  # these units have multipliers
    result = sim_batch(request, (name, params, stages), smooth_job(cached_plan))
    assert result.coverage == "exhaustive" and result.vectors == 65536
    assert result.passed, (result.first_mismatches[:3], result.protocol_errors[:3])


SMOOTH_OTHER = [("sigmoid", "s4.12", "u0.16", 2, 2), ("tanh", "s4.12", "s1.15", 2, 3),
                ("sigmoid", "s4.4", "u0.8", 4, 1), ("tanh", "s4.4", "s1.7", 4, 2),
                *[(n, "s4.4", "s4.4", 4, i % 3) for i, n in enumerate(SMOOTH)]]


def smooth_other_job(cached_plan):
    def job(work, index, case):
        name, fmt_in, fmt_out, lanes, stages = case
        return unit_job(work, index, cached_plan(name, fmt_in, fmt_out), lanes, stages)
    return job


@pytest.mark.parametrize("name, fmt_in, fmt_out, lanes, stages", batched(SMOOTH_OTHER, "cocotb-smooth-formats", 1))
def test_smooth_units_at_other_formats(request, sim_batch, name, fmt_in, fmt_out, lanes, stages, cached_plan):
    plan = cached_plan(name, fmt_in, fmt_out)
    result = sim_batch(request, (name, fmt_in, fmt_out, lanes, stages), smooth_other_job(cached_plan))
    assert result.coverage == "exhaustive" and result.vectors == plan.in_fmt.n_codes and result.passed


def forced_job(cached_plan):
    def job(work, index, case):
        return unit_job(work, index, cached_plan("sigmoid", "s4.12", "s4.12", method=case[0]), 2, 2)
    return job


@pytest.mark.parametrize("method", batched([("lut",), ("pwl",)], "cocotb-forced", 1))
def test_forced_table_methods(request, sim_batch, method, cached_plan):
    result = sim_batch(request, (method,), forced_job(cached_plan))
    assert result.vectors == 65536 and result.passed


# -- gated units ---------------------------------------------------------------------------------

GATED = ["glu", "geglu", "swiglu", "gtu"]


GATED_RUNS = [(name, stages) for index, name in enumerate(GATED) for stages in (0, 1 + index % 3)]  # as SMOOTH_RUNS


def gated_job(cached_plan):
    def job(work, index, case):
        name, stages = case
        return unit_job(work, index, cached_plan(name, "s4.4", "s4.4"), 2 if stages % 2 else 4, stages)
    return job


@pytest.mark.parametrize("name, stages", batched(GATED_RUNS, "cocotb-gated", 1))
def test_gated_int8_units_on_every_operand_pair(request, sim_batch, name, stages, cached_plan):
    result = sim_batch(request, (name, stages), gated_job(cached_plan))
    assert result.coverage == "exhaustive" and result.vectors == 65536 and result.passed


def gated_16_job(cached_plan):
    def job(work, index, case):
        return unit_job(work, index, cached_plan(case[0], "s4.12", "s4.12"), 2, 2)
    return job


# Two batches of one: each unit's plan takes minutes when the cache is cold, so the two workers make
# one each at the start (both are in conftest.LONGEST_FIRST) instead of one worker both in a row.
@pytest.mark.parametrize("name", batched([("glu",), ("gtu",)], "cocotb-gated-16", 2))
def test_gated_16_bit_units(request, sim_batch, name, cached_plan):
    result = sim_batch(request, (name,), gated_16_job(cached_plan))
    assert result.vectors >= 5 * 65536 and result.passed


# -- inputs wider than 20 bits (planned on a probe set) ---------------------------------------------


def test_a_24_bit_unit_on_random_codes_and_every_segment_edge(tmp_path, cached_plan):
    plan = cached_plan("sigmoid", "s8.16", "u0.16")
    verilog = tmp_path / "dut.v"
    verilog.write_text(to_verilog(ActivationUnit(plan, lanes=1, stages=2), "dut"))
    result = simulate(plan, verilog, "dut", lanes=1, stages=2, vectors=30000)
    assert result.coverage.startswith("30000 random + ") and result.vectors > 30000 + plan.select.segments
    assert result.passed, result.first_mismatches[:3]

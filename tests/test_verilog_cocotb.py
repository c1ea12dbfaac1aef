"""Tier 3: generated Verilog simulated by cocotb on Icarus, every input code, against the model.

Each case writes the unit's Verilog, streams every input code through it with random idle
cycles on both sides of the handshake, and requires zero mismatches and no broken stream rule.
"""

import dataclasses

import pytest

from hwact import Fmt, make_plan
from hwact.functions import FUNCTIONS
from hwact.hdl import ActivationUnit, to_verilog
from hwact.verify import simulate

EXACT = sorted({f.name for f in FUNCTIONS.values() if f.family == "exact"})
#: (format, lanes, stages) each exact function is proven at: every layout, and every stage count at
#: both widths, without the full cross product (each proof is a whole simulator run; the register
#: placement of every stage count is also checked on the Amaranth simulator, tests/test_properties).
LAYOUTS = [("s4.12", 1, 0), ("s4.12", 1, 2), ("s4.12", 2, 1), ("s4.4", 1, 1), ("s4.4", 2, 2), ("s4.4", 4, 0),
           ("s4.4", 4, 2)]

pytestmark = pytest.mark.icarus


def prove(tmp_path, plan, lanes, stages, simulator="icarus", top="dut"):
    verilog = tmp_path / f"{top}.v"
    verilog.write_text(to_verilog(ActivationUnit(plan, lanes=lanes, stages=stages), top))
    return simulate(plan, verilog, top, lanes=lanes, stages=stages, simulator=simulator, seed=lanes + stages)


def fits(name, fmt, lanes):
    """Whether the layout fits 32-bit registers (CReLU has two outputs per input)."""
    outputs = 2 if FUNCTIONS[name].mirror else 1
    return lanes * outputs * Fmt.parse(fmt).width <= 32


@pytest.mark.parametrize("name, fmt, lanes, stages",
                         [(n, f, l, s) for n in EXACT for f, l, s in LAYOUTS if fits(n, f, l)], ids=lambda v: str(v))
def test_every_input_code_matches_the_model(tmp_path, name, fmt, lanes, stages):
    plan = make_plan(name, fmt, fmt)
    result = prove(tmp_path, plan, lanes, stages)
    assert result.protocol_errors == []
    assert result.mismatches == 0, result.first_mismatches[:3]
    if plan.operand_fmt is None or fmt == "s4.4":
        assert result.coverage == "exhaustive" and result.vectors == plan.in_fmt.n_codes * (
            1 if plan.operand_fmt is None else plan.operand_fmt.n_codes)
    else:  # 32 bits of operands: every input code crossed with sampled slopes
        assert result.vectors >= 5 * plan.in_fmt.n_codes
    assert result.passed


@pytest.mark.parametrize("name, fmt, out", [("hardsigmoid", "s4.12", "u0.16"), ("leaky_relu", "s4.12", "s2.14"),
                                            ("step", "s4.12", "u1.0"), ("hardswish", "s4.4", "s8.8")])
def test_other_output_formats(tmp_path, name, fmt, out):
    plan = make_plan(name, fmt, out)
    result = prove(tmp_path, plan, 1, 1)
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


@pytest.mark.verilator
@pytest.mark.parametrize("name, lanes, stages", [("hardswish", 1, 2), ("prelu", 4, 1)])
def test_verilator_agrees(tmp_path, name, lanes, stages):
    plan = make_plan(name, "s4.4", "s4.4")
    result = prove(tmp_path, plan, lanes, stages, simulator="verilator")
    assert result.simulator == "verilator" and result.passed and result.vectors >= 256


# -- the smooth (table-based) family ---------------------------------------------------------

SMOOTH = sorted({f.name for f in FUNCTIONS.values() if f.family == "smooth"})
SMOOTH_CASES = [(n, {}) for n in SMOOTH] + [("gelu", {"approximate": "tanh"}), ("gelu", {"approximate": "sigmoid"})]
#: Every smooth unit combinational and pipelined, the pipelined depth rotating over 1..3, so each
#: depth is proven on a third of the functions (and all of them on the Amaranth simulator).
SMOOTH_RUNS = [(name, params, stages) for index, (name, params) in enumerate(SMOOTH_CASES)
               for stages in (0, 1 + index % 3)]


@pytest.mark.parametrize("name, params, stages", SMOOTH_RUNS, ids=lambda v: str(v))
def test_smooth_units_match_the_model_on_every_code(tmp_path, name, params, stages, cached_plan):
    plan = cached_plan(name, "s4.12", "s4.12", params=params)
    assert plan.table.degree >= 1  # these units have multipliers
    result = prove(tmp_path, plan, 1, stages)
    assert result.coverage == "exhaustive" and result.vectors == 65536
    assert result.passed, (result.first_mismatches[:3], result.protocol_errors[:3])


@pytest.mark.parametrize("name, fmt_in, fmt_out, lanes, stages", [
    ("sigmoid", "s4.12", "u0.16", 2, 2), ("tanh", "s4.12", "s1.15", 2, 3),
    ("sigmoid", "s4.4", "u0.8", 4, 1), ("tanh", "s4.4", "s1.7", 4, 2),
] + [(n, "s4.4", "s4.4", 4, i % 3) for i, n in enumerate(SMOOTH)])
def test_smooth_units_at_other_formats(tmp_path, name, fmt_in, fmt_out, lanes, stages, cached_plan):
    plan = cached_plan(name, fmt_in, fmt_out)
    result = prove(tmp_path, plan, lanes, stages)
    assert result.coverage == "exhaustive" and result.vectors == plan.in_fmt.n_codes and result.passed


@pytest.mark.parametrize("method", ["lut", "pwl"])
def test_forced_table_methods(tmp_path, method, cached_plan):
    plan = cached_plan("sigmoid", "s4.12", "s4.12", method=method)
    result = prove(tmp_path, plan, 2, 2)
    assert result.vectors == 65536 and result.passed


# -- gated units ---------------------------------------------------------------------------------

GATED = ["glu", "geglu", "swiglu", "gtu"]


@pytest.mark.parametrize("name, stages", [(name, stages) for index, name in enumerate(GATED)
                                           for stages in (0, 1 + index % 3)])  # as SMOOTH_RUNS
def test_gated_int8_units_on_every_operand_pair(tmp_path, name, stages, cached_plan):
    plan = cached_plan(name, "s4.4", "s4.4")
    result = prove(tmp_path, plan, 2 if stages % 2 else 4, stages)
    assert result.coverage == "exhaustive" and result.vectors == 65536 and result.passed


@pytest.mark.parametrize("name", ["glu", "gtu"])
def test_gated_16_bit_units(tmp_path, name, cached_plan):
    plan = cached_plan(name, "s4.12", "s4.12")
    result = prove(tmp_path, plan, 2, 2)
    assert result.vectors >= 5 * 65536 and result.passed


# -- inputs wider than 20 bits (planned on a probe set) ---------------------------------------------


def test_a_24_bit_unit_on_random_codes_and_every_segment_edge(tmp_path, cached_plan):
    plan = cached_plan("sigmoid", "s8.16", "u0.16")
    verilog = tmp_path / "dut.v"
    verilog.write_text(to_verilog(ActivationUnit(plan, lanes=1, stages=2), "dut"))
    result = simulate(plan, verilog, "dut", lanes=1, stages=2, vectors=30000)
    assert result.coverage.startswith("30000 random + ") and result.vectors > 30000 + plan.select.segments
    assert result.passed, result.first_mismatches[:3]

"""The cost model counts exactly the multipliers the generated Verilog has."""


import pytest

from hwact import make_plan
from hwact.cost import plan_cost
from hwact.hdl import ActivationUnit, to_verilog

pytestmark = pytest.mark.amaranth

UNITS = [("relu6", "s4.12", "s4.12"), ("relu", "s4.4", "s4.4"), ("hardtanh", "s4.4", "s4.4"),
         ("leaky_relu", "s4.12", "s4.12"), ("hardswish", "s4.12", "s4.12"), ("prelu", "s4.4", "s4.4"),
         ("gelu", "s4.12", "s4.12"), ("sigmoid", "s4.4", "u0.8"), ("glu", "s4.4", "s4.4"),
         ("crelu", "s4.4", "s4.4"), ("hardsigmoid", "s4.12", "u0.16"), ("identity", "s4.4", "s2.6")]


def _products(verilog: str) -> list[str]:
    """Every multiplication in the Verilog (the HDL names each product, so each appears once)."""
    return [line for line in verilog.splitlines() if line.lstrip().startswith("assign") and " * " in line]


def _multipliers(verilog: str) -> int:
    """The products of the Verilog, a product split over two DSP blocks (``NAME_ph`` and ``NAME_pl``,
    see ``hwact.hdl.primitives.split_bits``) counted once."""
    names = [line.split()[1] for line in _products(verilog)]
    halves = {name[:-3] for name in names if name.endswith(("_ph", "_pl"))}
    for stem in halves:
        assert f"{stem}_ph" in names and f"{stem}_pl" in names, f"{stem}: half a split product"
    return len([name for name in names if not name.endswith(("_ph", "_pl"))]) + len(halves)


@pytest.mark.parametrize("function, fin, fout", UNITS, ids=[u[0] for u in UNITS])
def test_cost_lists_the_multipliers_the_verilog_has(function, fin, fout):
    plan = make_plan(function, fin, fout)
    verilog = to_verilog(ActivationUnit(plan, lanes=1), "unit")
    expected = len(plan_cost(plan).multipliers) * plan.outputs
    assert _multipliers(verilog) == expected


def test_wiring_slopes_cost_no_multiplier():
    assert plan_cost(make_plan("relu6", "s4.12", "s4.12")).multipliers == ()
    assert plan_cost(make_plan("leaky_relu", "s4.12", "s4.12")).multipliers != ()

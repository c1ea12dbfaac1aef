"""The ``cr`` tier (``make test-cr``): the correctly rounded 16-bit plans proven and re-planned.

The plans committed under tests/data/cr_plans (written by ``bench/cr_frontier.py
--write-plans``) are proven on every one of their 65,536 input codes: the Verilog on cocotb +
Icarus (one batched simulator run, each unit with its own result) and the C header compiled
with sanitizers (scalar, packed and array forms). Then each is planned again from scratch
(the cache off): the planner must still make exactly the committed plan. Planning takes a
minute or more per function and the proofs tens of seconds, so this tier is not in make test;
the fast tier (tests/test_cr.py) measures the same plans on every code with the model.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import batched
from test_cgen import Program, _lanes_for

from hwact.approx.cr import plan_cr
from hwact.cost import plan_cost
from hwact.functions import get
from hwact.hdl import ActivationUnit, to_verilog
from hwact.plan import Plan
from hwact.verify.runner import SimJob

pytestmark = pytest.mark.cr_proof

PLANS = Path(__file__).resolve().parent / "data" / "cr_plans"
NAMES = sorted(path.stem for path in PLANS.glob("*.json"))
#: (name, lanes, stages): two lanes (2 x 16 bits in a register), pipelined as the CFU runs them.
RUNS = [(name, 2, 1 + index % 3) for index, name in enumerate(NAMES)]


def _plan(name: str) -> Plan:
    return Plan.from_json((PLANS / f"{name}.json").read_text())


def _job(work, index, case):
    name, lanes, stages = case
    top = f"u{index}"
    verilog = work / f"{top}.v"
    verilog.write_text(to_verilog(ActivationUnit(_plan(name), lanes=lanes, stages=stages), top))
    return SimJob(_plan(name), verilog, top, lanes, stages, seed=lanes + stages)


@pytest.mark.parametrize("name, lanes, stages", batched(RUNS, "cr-icarus", 1))
def test_verilog_matches_the_model_on_every_code(request, sim_batch, name, lanes, stages):
    result = sim_batch(request, (name, lanes, stages), _job)
    assert result.coverage == "exhaustive" and result.vectors == 65536
    assert result.passed, (result.first_mismatches[:3], result.protocol_errors[:3])


def test_c_matches_the_model_on_every_code(tmp_path):
    units = [(f"cr_{name}", _plan(name)) for name in NAMES]
    program = Program([(top, plan, _lanes_for(plan)) for top, plan in units], tmp_path)
    for top, plan in units:
        assert program.check(top, plan.in_fmt.all_codes()) >= 65536


@pytest.mark.parametrize("name", NAMES)
def test_the_planner_still_makes_the_committed_plan(name):
    committed = _plan(name)
    made = plan_cr(get(committed.function), committed.params, committed.in_fmt, committed.out_fmt,
                   rounding=committed.output.rounding, overflow_mode=committed.output.overflow, cache=False,
                   cost=lambda plan: plan_cost(plan).cost)
    assert made == committed

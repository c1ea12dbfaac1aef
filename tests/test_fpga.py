"""Tier `fpga` (make test-fpga): the embedded up5k CFU, built as `hwact cfu up5k` builds it, with
every input code of every unit sent through its Cfu.v bus (cocotb + Icarus), commands to all
units shuffled together, so serial units and parallel ones answer interleaved back to back.

Minutes of planning (cold plan cache) and simulation: not part of make test.
"""

from __future__ import annotations

import numpy as np
import pytest

from hwact.artifacts import write_files
from hwact.cfu.build import build_cfu
from hwact.cfu.config import load_config
from hwact.cfu.sim import load_cfu, response, run_protocol
from hwact.layout import pack_inputs

pytestmark = [pytest.mark.fpga, pytest.mark.icarus]


def every_code_vectors(cfu, seed: int = 3) -> dict[str, np.ndarray]:
    """Every input code of every unit (lanes filled in turn), every function id once, shuffled."""
    rng = np.random.default_rng(seed)
    ids, rs1, rs2 = [np.arange(1024, dtype=np.int64)], [rng.integers(0, 1 << 32, 1024, dtype=np.uint64)], \
        [rng.integers(0, 1 << 32, 1024, dtype=np.uint64)]
    for op in cfu.ops:
        assert op.plan.operand_fmt is None  # the up5k CFU has no two-operand unit
        codes = np.arange(op.plan.in_fmt.min_code, op.plan.in_fmt.max_code + 1, dtype=np.int64)
        codes = np.concatenate([codes, codes[:(-codes.size) % op.lanes]])  # whole transfers
        words, _ = pack_inputs(op.plan, op.lanes, codes, None)
        ids.append(np.full(words.size, op.function_id, dtype=np.int64))
        rs1.append(np.asarray(words, dtype=np.uint64))
        rs2.append(rng.integers(0, 1 << 32, words.size, dtype=np.uint64))  # must be ignored
    function_id, rs1, rs2 = np.concatenate(ids), np.concatenate(rs1), np.concatenate(rs2)
    order = rng.permutation(function_id.size)
    function_id, rs1, rs2 = function_id[order], rs1[order], rs2[order]
    return {"function_id": function_id, "rs1": rs1, "rs2": rs2, "expected": response(cfu, function_id, rs1, rs2)}


@pytest.fixture(scope="module")
def up5k(tmp_path_factory):
    directory = tmp_path_factory.mktemp("up5k")
    write_files(directory, build_cfu(load_config("up5k")).files)
    return load_cfu(directory)


def test_up5k_cfu_answers_every_code_of_every_unit_through_the_bus(up5k, tmp_path):
    assert any(op.serial for op in up5k.ops) and any(not op.serial for op in up5k.ops)
    vectors = every_code_vectors(up5k)
    result = run_protocol(up5k, "Cfu", work_dir=tmp_path, testcase="bus_back_to_back", vectors=vectors)
    failing = [line for line in result["log"].splitlines() if "FAIL" in line or "Error" in line]
    assert result["tests"] == 1 and result["failures"] == 0, failing[:5]
    assert result["commands"] == 1024 + sum(-(-op.plan.in_fmt.n_codes // op.lanes) for op in up5k.ops)


@pytest.mark.synth
@pytest.mark.parametrize("target", ["ice40", "ecp5"])
def test_a_registered_table_lands_in_block_ram_as_the_cost_says(target):
    """A staged unit's table is block RAM (as many as hwact.cost counts); without a stage it is logic."""
    from hwact import make_plan
    from hwact.cost import plan_cost
    from hwact.hdl import ActivationUnit, to_verilog
    from hwact.synth import synthesize

    plan = make_plan("sigmoid", "s4.4", "u0.8")
    for stages in (0, 1):
        verilog = to_verilog(ActivationUnit(plan, lanes=2, stages=stages), "u")
        result = synthesize({"u.v": verilog}, "u", target, place=False)
        assert result["bram"] == plan_cost(plan).block_rams(target, 2, registered=stages > 0), (stages, result)
    assert plan_cost(plan).block_rams(target, 2) >= 1


@pytest.mark.synth
@pytest.mark.parametrize("config", ["up5k", "default"])
def test_cfu_json_counts_the_block_rams_and_dsps_yosys_maps(config):
    """cfu.json's iCE40 estimate (hwact.cost) is what yosys synth_ice40 maps the embedded Cfu.v to."""
    import json

    from hwact.synth import synthesize

    built = build_cfu(load_config(config))
    result = synthesize({"Cfu.v": built.files["Cfu.v"]}, "Cfu", "ice40", place=False)
    estimate = json.loads(built.files["cfu.json"])["resources"]["ice40"]
    assert (result["dsp"], result["bram"]) == (estimate["dsp"], estimate["block_ram"]), (result, estimate)

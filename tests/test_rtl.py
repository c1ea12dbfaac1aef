"""rtl/ is exactly what the generator makes today, and every file in it is lint-clean."""

import subprocess
from pathlib import Path

import pytest

from hwact.defaults import DEFAULT_UNITS, default_files, rtl_subdir
from hwact.verify.runner import verilator_bin

RTL = Path(__file__).resolve().parent.parent / "rtl"
VLT = Path(__file__).resolve().parent.parent / "hwact" / "verify" / "amaranth.vlt"


@pytest.mark.amaranth
@pytest.mark.slow
def test_rtl_matches_the_generator_byte_for_byte(cached_planner):
    expected = default_files()
    present = {p.name for p in RTL.iterdir() if p.suffix in (".v", ".h", ".json")}
    assert present == set(expected), "rtl/ holds other files than the default units: run `make rtl`"
    stale = [name for name, text in expected.items() if (RTL / name).read_text() != text]
    assert not stale, f"stale in rtl/ (run `make rtl`): {stale}"


@pytest.mark.verilator
@pytest.mark.parametrize("spec", DEFAULT_UNITS, ids=lambda s: s.top)
def test_verilator_lint_is_clean(spec):
    verilator = Path(verilator_bin()) / "verilator"
    path = RTL / rtl_subdir(spec.top) / f"{spec.top}.v"
    result = subprocess.run([str(verilator), "--lint-only", "-Wall", str(VLT), str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr

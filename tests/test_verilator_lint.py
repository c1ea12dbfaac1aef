"""Lint: every Verilog file in rtl/ and a spread of freshly generated units pass
``verilator --lint-only -Wall`` with only the documented waivers (``hwact/verify/amaranth.vlt``).
"""

import subprocess
from pathlib import Path

import pytest

from hwact.hdl import ActivationUnit, to_verilog
from hwact.verify.runner import verilator_bin

pytestmark = pytest.mark.verilator

ROOT = Path(__file__).resolve().parent.parent
RTL = ROOT / "rtl"
VLT = ROOT / "hwact" / "verify" / "amaranth.vlt"


def lint(path: Path) -> subprocess.CompletedProcess:
    verilator = Path(verilator_bin()) / "verilator"
    return subprocess.run([str(verilator), "--lint-only", "-Wall", str(VLT), str(path)], capture_output=True, text=True)


@pytest.mark.parametrize("path", sorted(RTL.rglob("*.v")), ids=lambda p: str(p.relative_to(RTL)))
def test_every_file_in_rtl_is_lint_clean(path):
    result = lint(path)
    assert result.returncode == 0, result.stderr


#: (function, in, out, make_plan options, lanes, stages): every family, datapath shape and mode.
FRESH = [
    ("identity", "s2.0", "u8.0", {}, 1, 0),
    ("relu", "u3.0", "s5.0", {}, 4, 3),
    ("clipped_relu", "s4.4", "s4.4", {"params": {"ceiling": 2.3}}, 2, 1),
    ("leaky_relu", "s4.12", "s2.14", {"rounding": "RND_CONV", "overflow": "SAT_SYM"}, 1, 2),
    ("rrelu", "s3.5", "s2.10", {}, 1, 4),
    ("hardtanh", "s4.4", "s2.2", {"overflow": "WRAP", "rounding": "TRN"}, 4, 0),
    ("hardsigmoid", "s4.12", "u0.16", {"params": {"variant": "keras"}}, 2, 5),
    ("hardswish", "s4.4", "s8.8", {}, 1, 16),
    ("step", "s4.12", "u1.0", {}, 1, 1),
    ("prelu", "s4.12", "s4.12", {}, 1, 2),
    ("maxout", "s3.5", "s3.5", {}, 2, 0),
    ("crelu", "s4.4", "s4.4", {}, 2, 2),
    ("sigmoid", "s4.4", "u0.8", {}, 4, 1),
    ("tanh", "s3.7", "s1.9", {"rounding": "TRN", "max_err_lsb": 1.5}, 1, 0),
    ("elu", "s4.6", "s4.6", {"params": {"alpha": 0.5}}, 2, 3),
    ("softplus", "u4.4", "u4.4", {}, 4, 2),
    ("exp2", "s3.5", "u4.4", {}, 1, 1),
    ("sigmoid", "s4.12", "s4.12", {"method": "pwl"}, 2, 2),
    ("gelu", "s4.12", "s4.12", {}, 1, 3),
    ("silu", "s4.12", "s4.12", {}, 1, 0),
    ("glu", "s4.4", "s4.4", {}, 4, 1),
    ("gtu", "s4.12", "s4.12", {}, 1, 4),
]


@pytest.mark.parametrize("function, fmt_in, fmt_out, options, lanes, stages", FRESH,
                         ids=[f"{f}-{i}-{o}-x{lanes}-p{s}" for f, i, o, _, lanes, s in FRESH])
def test_fresh_units_are_lint_clean(tmp_path, cached_plan, function, fmt_in, fmt_out, options, lanes, stages):
    plan = cached_plan(function, fmt_in, fmt_out, **options)
    path = tmp_path / "unit.v"
    path.write_text(to_verilog(ActivationUnit(plan, lanes=lanes, stages=stages), "unit"))
    result = lint(path)
    assert result.returncode == 0, result.stderr

"""Affine formats (``int8(scale=..., zp=...)``, presets): spelling, meaning, plans, backends.

Model tier: parsing and its one-line errors, the real value of codes, and int8 plans that are
correctly rounded on every code against an independent computation of the real function in
the affine output. Then the same units through the C backend and Icarus, every code.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import special

from hwact import Fmt, make_plan
from hwact.affine import PRESETS, fold_constant, scale_ratio_log2
from hwact.approx import PlanError
from hwact.fixed import FormatError
from hwact.measure import report
from hwact.model import evaluate

#: (function, input, output) of int8 units as deployed networks quantize them.
INT8_CASES = [
    ("sigmoid", "int8(scale=2^-4)", "tflite:logistic"),
    ("tanh", "int8(scale=2^-4)", "tflite:tanh"),
    ("sigmoid", "int8(scale=0.0235, zp=-3)", "onnx:sigmoid"),
    ("tanh", "uint8(scale=0.031, zp=131)", "onnx:tanh"),
    ("sigmoid", "int8(scale=0.1, zp=7)", "onnx:sigmoid:int8"),
    ("tanh", "int8(scale=0.05)", "onnx:tanh:int8"),
    ("gelu", "int8(scale=0.05, zp=10)", "int8(scale=0.03, zp=-20)"),
    ("silu", "int8(scale=0.07, zp=-5)", "int8(scale=0.04, zp=-100)"),
    ("relu6", "uint8(scale=0.03, zp=100)", "uint8(scale=0.03)"),
    ("elu", "int8(scale=1/32, zp=0)", "int8(scale=1/40, zp=60)"),
]

REFERENCES = {
    "sigmoid": special.expit,
    "tanh": np.tanh,
    "gelu": lambda x: 0.5 * x * special.erfc(-x / math.sqrt(2.0)),
    "silu": lambda x: x * special.expit(x),
    "relu6": lambda x: np.clip(x, 0.0, 6.0),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
}


@pytest.mark.model
class TestSpelling:
    def test_spellings_parse_to_integer_formats_with_scale_and_zero_point(self):
        fmt = Fmt.parse("int8(scale=0.0235, zp=-3)")
        assert (fmt.width, fmt.frac_bits, fmt.signed, fmt.scale, fmt.zero_point) == (8, 0, True, 0.0235, -3)
        assert Fmt.parse("UINT8( scale = 1/255 )") == Fmt(8, 0, False, 1 / 255, 0)
        assert Fmt.parse("int16(scale=2^-12)") == Fmt(16, 0, True, 2.0**-12, 0)
        assert Fmt.parse("int16(scale=2**-12, zero_point=0)") == Fmt.parse("int16(scale=0.000244140625)")
        assert fmt.storage == Fmt.parse("int8") and fmt != Fmt.parse("int8")

    @pytest.mark.parametrize("name", sorted(PRESETS))
    def test_every_preset_round_trips_through_its_string(self, name):
        fmt = Fmt.parse(name)
        assert fmt.is_affine and Fmt.parse(str(fmt)) == fmt

    def test_presets_hold_the_conventions(self):
        assert Fmt.parse("tflite:logistic") == Fmt(8, 0, True, 1 / 256, -128)
        assert Fmt.parse("tflite:tanh") == Fmt(8, 0, True, 1 / 128, 0)
        assert Fmt.parse("tflite:logistic:int16") == Fmt.parse("tflite:tanh:int16") == Fmt(16, 0, True, 2.0**-15, 0)
        # ONNX Runtime's quantizer on [0, 1] and [-1, 1], its scales in float32.
        assert Fmt.parse("onnx:sigmoid") == Fmt(8, 0, False, float(np.float32(1 / 255)), 0)
        assert Fmt.parse("onnx:tanh").zero_point == 128 and Fmt.parse("onnx:tanh:int8").zero_point == 0

    def test_binary_formats_are_unchanged(self):
        fmt = Fmt.parse("s4.12")
        assert not fmt.is_affine and fmt.scale is None and fmt.zero_point == 0 and str(fmt) == "s4.12"
        assert fmt.lsb == 2.0**-12 and fmt.storage is fmt

    @pytest.mark.parametrize("text, message", [
        ("int8(scale=0)", "scale must be a positive finite number, not 0.0"),
        ("int8(scale=-0.5, zp=1)", "scale must be a positive finite number, not -0.5"),
        ("int8(scale=nan)", "scale must be a positive finite number, not nan"),
        ("int8(scale=inf)", "scale must be a positive finite number, not inf"),
        ("int8(scale=1e-30)", "scale 1e-30 is out of range"),
        ("int8(scale=1e300)", "scale 1e+300 is out of range"),
        ("int8(scale=1/0)", "scale must be a positive number"),
        ("int8(scale=abc)", "scale must be a positive number"),
        ("int8(scale=0.1, zp=128)", "zero point 128 is outside the int8 codes -128..127"),
        ("uint8(scale=0.1, zp=-1)", "zero point -1 is outside the uint8 codes 0..255"),
        ("int8(scale=0.1, zp=1.5)", "zero point must be an integer, not '1.5'"),
        ("int8(zp=3)", "an affine format needs a scale"),
        ("int8(scale=0.1, bias=2)", "affine formats take scale=... and zp=..., not 'bias=2'"),
        ("int8(scale=0.1, scale=0.2)", "scale given twice"),
        ("int64(scale=0.1)", "affine formats are 2..32 bits wide, not 64"),
        ("tflite:relu", "unknown preset 'tflite:relu'"),
    ])
    def test_bad_spellings_are_one_line_errors(self, text, message):
        with pytest.raises(FormatError) as caught:
            Fmt.parse(text)
        assert message in str(caught.value) and "\n" not in str(caught.value)
        assert str(caught.value).startswith(f"bad format {text!r}")

    def test_constructor_checks_too(self):
        with pytest.raises(FormatError, match="zero point 3 without a scale"):
            Fmt(8, 0, True, None, 3)
        with pytest.raises(FormatError, match="scale replaces the binary point"):
            Fmt(4, 4, True, 0.5, 0)


@pytest.mark.model
class TestMeaning:
    def test_codes_mean_q_minus_zero_point_times_scale(self):
        fmt = Fmt.parse("int8(scale=0.5, zp=-3)")
        assert fmt.to_real([-3, -1, 127]).tolist() == [0.0, 1.0, 65.0]
        assert fmt.lsb == 0.5 and fmt.min_value == -62.5 and fmt.max_value == 65.0
        assert fmt.code_units([1.0]).tolist() == [-1.0]
        assert fmt.from_real([1.0, 0.74, 1e9, -1e9]).tolist() == [-1, -2, 127, -128]

    def test_fold_constants(self):
        # sigmoid's 1 - f(x) becomes -q for TFLite's int8 output: an odd fold in codes.
        assert fold_constant(Fmt.parse("tflite:logistic")) == 0
        assert fold_constant(Fmt.parse("u0.16")) == 1 << 16
        assert fold_constant(Fmt.parse("onnx:sigmoid")) is None  # 1/scale is not an integer
        assert scale_ratio_log2(Fmt.parse("int16(scale=2^-12)"), Fmt.parse("s1.15")) == 3
        assert scale_ratio_log2(Fmt.parse("int8(scale=0.1)"), Fmt.parse("int8(scale=0.3)")) is None


def _correctly_rounded(name: str, in_fmt: Fmt, out_fmt: Fmt) -> tuple[np.ndarray, np.ndarray]:
    """Every input code and the real function's value there in output codes (independent of hwact.measure)."""
    codes = np.arange(in_fmt.min_code, in_fmt.max_code + 1)
    real = REFERENCES[name]((codes - in_fmt.zero_point) * in_fmt.scale) / out_fmt.scale + out_fmt.zero_point
    return codes, np.clip(real, out_fmt.min_code, out_fmt.max_code)


@pytest.mark.model
@pytest.mark.parametrize("name, fmt_in, fmt_out", INT8_CASES)
def test_int8_units_are_correctly_rounded_on_every_code(name, fmt_in, fmt_out):
    plan = make_plan(name, fmt_in, fmt_out)
    in_fmt, out_fmt = Fmt.parse(fmt_in), Fmt.parse(fmt_out)
    assert plan.in_fmt == in_fmt and plan.out_fmt == out_fmt and plan.method == "lut"
    codes, real = _correctly_rounded(name, in_fmt, out_fmt)
    y = evaluate(plan, codes)
    assert np.all(np.abs(y - real) <= 0.5 + 1e-9), np.abs(y - real).max()
    stats = report(plan)
    assert stats.exhaustive and stats.correctly_rounded_fraction == 1.0 and stats.max_lsb <= 0.5 + 1e-9
    assert stats.monotonic


@pytest.mark.model
def test_measurement_is_in_output_scale_units():
    """A unit one code off on purpose shows a 1-LSB error in the affine output."""
    plan = make_plan("tanh", "int8(scale=2^-4)", "tflite:tanh")
    rows = tuple((row[0] + 1,) for row in plan.table.rows)
    import dataclasses

    shifted = dataclasses.replace(plan, table=dataclasses.replace(plan.table, rows=rows))
    stats = report(shifted)
    assert stats.max_lsb > 1.0 and stats.correctly_rounded_fraction < 0.9
    assert stats.max_abs == pytest.approx(stats.max_lsb / 128)


@pytest.mark.model
def test_saturation_warnings_count_through_the_zero_point():
    """TFLite's logistic output (1/256, -128) holds sigmoid's whole range: no warning. Without the
    zero point (codes x 1/256 only reach 0.496) half the inputs looked clipped."""
    from hwact.measure import unit_warnings

    assert unit_warnings(make_plan("sigmoid", "int8(scale=0.05, zp=-3)", "tflite:logistic")) == []
    clipped = unit_warnings(make_plan("sigmoid", "int8(scale=0.05, zp=-3)", "int8(scale=2^-8, zp=0)"))
    assert len(clipped) == 1 and "51% above" in clipped[0]


@pytest.mark.model
def test_plans_round_trip_through_json():
    from hwact.plan import Plan

    plan = make_plan("sigmoid", "int8(scale=0.0235, zp=-3)", "onnx:sigmoid")
    again = Plan.from_json(plan.to_json())
    assert again == plan and again.in_fmt.zero_point == -3


@pytest.mark.model
def test_two_operand_functions_refuse_affine_formats():
    with pytest.raises(PlanError, match="affine formats apply to one-operand, one-output functions, not glu"):
        make_plan("glu", "int8(scale=0.1)", "int8(scale=0.1)")
    with pytest.raises(PlanError, match="not crelu"):
        make_plan("crelu", "int8(scale=0.1)", "int8(scale=0.1)")


@pytest.mark.cli
def test_cli_generate_states_scale_and_zero_point(tmp_path):
    hwact = [str(Path(sys.executable).parent / "hwact")]
    out = tmp_path / "u"
    done = subprocess.run([*hwact, "generate", "sigmoid", "--in", "int8(scale=0.0625)", "--out", "tflite:logistic",
                           "-o", str(out)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "sigmoid.json").read_text())
    assert manifest["out_format"] == "int8(scale=0.00390625, zp=-128)"
    assert (manifest["out_scale"], manifest["out_zero_point"]) == (1 / 256, -128)
    assert (manifest["in_scale"], manifest["in_zero_point"]) == (0.0625, 0)
    assert manifest["error"]["correctly_rounded_fraction"] == 1.0
    header = (out / "sigmoid.h").read_text()
    assert "#define HWACT_SIGMOID_OUT_ZERO_POINT -128" in header and "(code - zp) * scale" in header
    bad = subprocess.run([*hwact, "generate", "sigmoid", "--in", "int8(scale=-1)", "--out", "int8", "-o",
                          str(tmp_path / "bad")], capture_output=True, text=True, check=False)
    assert bad.returncode != 0 and not (tmp_path / "bad").exists()
    assert bad.stderr.strip().splitlines() == [
        "hwact: error: bad format 'int8(scale=-1)': scale must be a positive finite number, not -1.0"]


@pytest.mark.cgen
def test_c_fallback_matches_the_model_on_every_code(tmp_path):
    from test_cgen import Program

    units = [(f"aff{i}", make_plan(*case), 4 if Fmt.parse(case[1]).width == 8 else 1)
             for i, case in enumerate(INT8_CASES)]
    program = Program(units, tmp_path)
    for top, plan, _ in units:
        assert program.check(top, plan.in_fmt.all_codes()) >= 256


@pytest.mark.icarus
def test_verilog_matches_the_model_on_every_code(tmp_path):
    from hwact.hdl import ActivationUnit, to_verilog
    from hwact.verify.runner import SimJob, simulate_many

    jobs = []
    for index, (case, lanes, stages) in enumerate([(INT8_CASES[0], 4, 1), (INT8_CASES[2], 1, 0),
                                                   (INT8_CASES[6], 2, 2)]):
        plan = make_plan(*case)
        verilog = tmp_path / f"u{index}.v"
        verilog.write_text(to_verilog(ActivationUnit(plan, lanes=lanes, stages=stages), f"u{index}"))
        jobs.append(SimJob(plan, verilog, f"u{index}", lanes, stages, seed=index))
    for result in simulate_many(jobs, work_dir=tmp_path / "sim"):
        assert result.coverage == "exhaustive" and result.vectors == 256
        assert result.passed, (result.first_mismatches[:3], result.protocol_errors[:3])


@pytest.mark.model
def test_report_rows_give_real_values_through_the_zero_point():
    from hwact.report.errors import samples, statistics

    plan = make_plan("sigmoid", "int8(scale=2^-4)", "tflite:logistic")
    stats = statistics(plan, samples(plan))
    for row in stats["worst"]:
        assert row["x"] == row["x_code"] / 16
        assert row["y"] == (row["y_code"] + 128) / 256
        assert row["f"] == pytest.approx(1 / (1 + math.exp(-row["x"])), abs=1e-12)


@pytest.mark.model
@pytest.mark.parametrize("name, affine_in, affine_out, binary_in, binary_out", [
    ("sigmoid", "int8(scale=2^-4)", "uint8(scale=2^-8)", "s4.4", "u0.8"),
    ("tanh", "int8(scale=2^-4)", "int8(scale=2^-7)", "s4.4", "s1.7"),
    ("gelu", "int8(scale=2^-4)", "int8(scale=2^-4)", "s4.4", "s4.4"),
])
def test_an_affine_format_equal_to_a_binary_one_gets_the_same_datapath(name, affine_in, affine_out, binary_in,
                                                                       binary_out):
    """Zero point 0 and a power-of-two scale: the same codes mean the same values, so the same plan (folds too)."""
    a, b = make_plan(name, affine_in, affine_out), make_plan(name, binary_in, binary_out)
    assert (a.select, a.fold, a.clamp, a.table.rows, a.horner, a.output) == \
        (b.select, b.fold, b.clamp, b.table.rows, b.horner, b.output)
    assert a.fold is not None

"""The fused requantize + activation op: TFLite's arithmetic, the CFU bus, C, and firmware on VexRiscv.

Model tier: :mod:`hwact.requant` against an independent scalar transcription of gemmlowp's
``SaturatingRoundingDoublingHighMul`` / ``RoundingDivideByPOT`` (Python integers, C's
truncating division spelled out) on edge and random accumulators, and TFLite's
``QuantizeMultiplier``. Then the generated C (host gcc) against the model, the CFU (Icarus,
both buses) against the model, and the instruction and the C fallback on VexRiscv.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hwact import make_plan
from hwact.requant import PerChannel, Requant, multiply_by_quantized_multiplier, quantize_multiplier, requantize

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1

CONFIG = """
[[unit]]
name = "fc_sigmoid"
function = "sigmoid"
in_format = "int8(scale=0.0625, zp=-3)"
out_format = "tflite:logistic"
requant = { scale = 0.00123 }

[[unit]]
name = "fc_tanh"
function = "tanh"
in_format = "int8(scale=0.05, zp=4)"
out_format = "tflite:tanh"
stages = 1
requant = { multiplier = 1518500250, shift = -9 }

[[unit]]
name = "fc_relu"
function = "relu"
in_format = "uint8(scale=0.1, zp=120)"
out_format = "uint8(scale=0.1, zp=0)"
requant = { multiplier = 1073741824, shift = 2 }

[[unit]]
name = "fc_channels"
function = "sigmoid"
in_format = "int8(scale=0.0625, zp=-3)"
out_format = "tflite:logistic"
requant = { multipliers = [1518500250, 1073741824, 2147483647, 1352399302, 1717986918], shifts = [-9, 2, -31, 0, -1] }

[[unit]]
name = "relu6"
function = "relu6"
in_format = "s4.4"
out_format = "s4.4"
lanes = 4
"""


def _c_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _wrap(v: int) -> int:
    return ((v + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _reference(x: int, multiplier: int, shift: int) -> int:
    """gemmlowp as written in TFLite's reference kernels, one scalar at a time."""
    left, right = max(shift, 0), max(-shift, 0)
    a, b = _wrap(x * (1 << left)), multiplier
    if a == b == INT32_MIN:
        high = INT32_MAX
    else:
        ab = a * b
        nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
        high = _c_div(ab + nudge, 1 << 31)
    mask = (1 << right) - 1
    remainder = high & mask
    threshold = (mask >> 1) + (1 if high < 0 else 0)
    return (high >> right) + (1 if remainder > threshold else 0)


def _accumulators(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    edges = [INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX - 1, INT32_MAX]
    near = [k * (1 << s) + d for s in range(0, 31, 3) for k in (-1, 1) for d in (-1, 0, 1)]
    return np.array(edges + near + rng.integers(INT32_MIN, INT32_MAX, 3000).tolist()
                    + rng.integers(-5000, 5000, 1000).tolist(), dtype=np.int64).clip(INT32_MIN, INT32_MAX)


@pytest.mark.model
@pytest.mark.parametrize("multiplier, shift", [(1518500250, -9), (1073741824, 0), (2147483647, -31),
                                                (1352399302, 2), (1717986918, -1), (0, 0), (1500000000, 30)])
def test_multiply_by_quantized_multiplier_is_tflites(multiplier, shift):
    acc = _accumulators(multiplier % 1000 + shift)
    expected = [_reference(int(x), multiplier, shift) for x in acc]
    assert multiply_by_quantized_multiplier(acc, multiplier, shift).tolist() == expected


@pytest.mark.model
def test_quantize_multiplier_and_the_rounding_of_ties():
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(0.25) == (1 << 30, -1)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    m, s = quantize_multiplier(0.00123)
    assert 1 << 30 <= m < 1 << 31 and abs(m * 2.0 ** (s - 31) - 0.00123) < 2**-31 * 0.00123 * 2
    assert quantize_multiplier(1e-20) == (0, 0)
    # The doubling high multiply rounds half up (2.5 -> 3, -2.5 -> -2); the shift then rounds
    # half away from zero, and the two roundings compound (TFLite's double rounding): 5/4 -> 2.
    assert multiply_by_quantized_multiplier([5, -5], 1 << 30, 0).tolist() == [3, -2]
    assert multiply_by_quantized_multiplier([5, -5, 3, -3], 1 << 30, -1).tolist() == [2, -1, 1, -1]
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="requant scale must be a positive finite number"):
            Requant.from_real(bad)
    with pytest.raises(ValueError, match=r"requant shift must be an integer in -31..30, not 31"):
        Requant(1 << 30, 31)
    with pytest.raises(ValueError, match=r"requant multiplier must be an integer in 0..2147483647"):
        Requant(-1, 0)


@pytest.mark.model
def test_requantize_adds_the_zero_point_and_saturates():
    plan = make_plan("tanh", "int8(scale=0.05, zp=4)", "tflite:tanh")
    requant = Requant(1 << 30, -3)  # acc / 16
    assert requantize([0, 160, 16 * 200, -16 * 200], requant, plan.in_fmt).tolist() == [4, 14, 127, -128]


@pytest.mark.model
def test_per_channel_requantize_uses_the_channels_own_multiplier():
    plan = make_plan("tanh", "int8(scale=0.05, zp=4)", "tflite:tanh")
    table = PerChannel((Requant(1 << 30, -3), Requant(1518500250, 2), Requant(2147483647, -31)))
    assert (table.index_bits, table.depth) == (2, 4)
    acc = _accumulators(7)
    channel = np.arange(acc.size) % 6  # 3 and 5 are past the table: padded with multiplier 0
    got = requantize(acc, table, plan.in_fmt, channel)
    for k in range(6):
        own = table.channels[k & 3] if (k & 3) < 3 else Requant(0, 0)
        assert got[channel == k].tolist() == requantize(acc[channel == k], own, plan.in_fmt).tolist(), k
    assert set(got[channel == 3].tolist()) == {4}  # the zero point
    with pytest.raises(ValueError, match=r"per-channel requant needs 1\.\.1024 channels, not 0"):
        PerChannel(())


@pytest.fixture(scope="module")
def fused_cfu(tmp_path_factory):
    import tomllib

    from hwact.cfu.build import build_cfu
    from hwact.cfu.config import parse_config
    from hwact.cfu.sim import load_cfu

    directory = tmp_path_factory.mktemp("fused")
    for name, text in build_cfu(parse_config(tomllib.loads(CONFIG))).files.items():
        (directory / name).write_text(text)
    return load_cfu(directory)


@pytest.mark.model
def test_config_errors_are_one_line(fused_cfu):
    import tomllib

    from hwact.cfu.build import build_cfu
    from hwact.cfu.config import parse_config

    unit = '[[unit]]\nname = "u"\nfunction = "sigmoid"\nin = "{}"\nout = "int8"\nrequant = {}\n'
    for fmt, requant, message in [
        ("int8(scale=0.1)", "{ scale = -1.0 }", "unit 'u': requant scale must be a positive finite number"),
        ("int8(scale=0.1)", "{ multiplier = 3 }", "unit 'u': 'requant' must be a table"),
        ("int8(scale=0.1)", "{ multiplier = 1, shift = 40 }", "requant shift must be an integer in -31..30"),
        ("int8(scale=0.1)", "{ scales = [] }", "unit 'u': per-channel requant values must be non-empty lists"),
        ("int8(scale=0.1)", "{ scales = [0.1, nan] }", "unit 'u': requant scale must be a positive finite number"),
        ("int8(scale=0.1)", "{ multipliers = [1], shifts = [1, 2] }", "one entry per channel, not 1 and 2"),
        ("int8(scale=0.1)", "{ multipliers = [1], shifts = [-32] }", "requant shift must be an integer in -31..30"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_config(tomllib.loads(unit.format(fmt, requant)))
    with pytest.raises(ValueError, match="a fused requant op needs an affine input"):
        build_cfu(parse_config(tomllib.loads(unit.format("s4.4", "{ scale = 0.1 }"))))


@pytest.mark.model
def test_fused_error_is_stated_against_the_exact_real_value(fused_cfu):
    manifest = fused_cfu.manifests["fc_sigmoid"]
    error = manifest["requant_error"]
    assert manifest["requant"]["multiplier"] == quantize_multiplier(0.00123)[0]
    assert error["exhaustive"] and error["vectors"] > 200_000
    # The int8 grid of the layer's output costs up to half its step times the slope (1/4): 2 LSB
    # of 1/256 at scale 1/16, plus the final rounding.
    assert 1.5 < error["max_lsb"] < 2.5 and error["correctly_rounded_fraction"] > 0.5
    assert manifest["error"]["max_lsb"] <= 0.5 + 1e-9  # the activation alone: correctly rounded
    assert "Fused requantize + activation ops" in (fused_cfu.directory / "isa.md").read_text()
    channels = fused_cfu.manifests["fc_channels"]
    assert channels["requant_error"]["channels"] == 5 and len(channels["requant"]["channels"]) == 5
    assert "rs2: channel, 5 per-channel" in (fused_cfu.directory / "isa.md").read_text()


@pytest.mark.model
def test_the_cfu_proof_firmware_takes_affine_units_and_leaves_fused_ops_to_theirs(fused_cfu):
    """`hwact sim cfu.json`: the generic proof firmware runs every op but the fused ones (their own
    firmware, hwact.cfu.requant_firmware), and its dense layer feeds any signed 8-bit unit, an
    affine int8 one included; with none, the firmware has no dense layer rather than failing."""
    import dataclasses

    from hwact.cfu.core import CfuOp
    from hwact.cfu.firmware import _choose_dense_unit, plain_ops

    assert [op.name for op in plain_ops(fused_cfu)] == ["relu6"]
    assert _choose_dense_unit(fused_cfu) == 0
    tanh8 = CfuOp(900, "tanh8", make_plan("tanh", "int8(scale=2^-4)", "tflite:tanh"), 4, 0)
    unsigned = CfuOp(901, "sig_u8", make_plan("sigmoid", "uint8(scale=0.0625, zp=128)", "onnx:sigmoid"), 4, 0)
    fused = [op for op in fused_cfu.ops if op.requant is not None]
    affine = dataclasses.replace(fused_cfu, ops=(*fused, unsigned, tanh8))
    assert _choose_dense_unit(affine) == 1  # tanh8, after sig_u8 (unsigned input), the fused ops left out
    assert _choose_dense_unit(dataclasses.replace(fused_cfu, ops=(*fused, unsigned))) is None


@pytest.mark.cgen
def test_c_fallback_equals_the_model(fused_cfu, tmp_path):
    cc = shutil.which("gcc") or shutil.which("cc")
    acc = _accumulators(5)
    (tmp_path / "acc.h").write_text("static const int32_t acc[] = {" + ", ".join(
        f"(int32_t){int(v)}" if v != INT32_MIN else "INT32_MIN" for v in acc) + "};\n")
    fused = [op for op in fused_cfu.ops if op.requant is not None]
    calls = "\n".join(f'    for (i = 0; i < n; i++) printf("%d\\n", (int)hwact_cfu_{op.name}_acc(acc[i]'
                      f'{", (uint32_t)i" if isinstance(op.requant, PerChannel) else ""}));' for op in fused)
    (tmp_path / "main.c").write_text(f"""#define HWACT_SOFTWARE
#include <stdio.h>
#include "hwact_cfu.h"
#include "acc.h"
int main(void) {{ size_t i, n = sizeof acc / sizeof acc[0];
{calls}
    return 0; }}
""")
    build = subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", "-fsanitize=undefined",
                            "-fno-sanitize-recover=all", "-I", str(fused_cfu.directory), str(tmp_path / "main.c"),
                            "-o", str(tmp_path / "main")], capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr[-3000:]
    run = subprocess.run([str(tmp_path / "main")], capture_output=True, text=True, check=True)
    got = np.array(run.stdout.split(), dtype=np.int64).reshape(len(fused), -1)
    from hwact.requant import fused_evaluate

    for op, row in zip(fused, got, strict=True):
        assert row.tolist() == fused_evaluate(op.plan, op.requant, acc, np.arange(acc.size)).tolist(), op.name


@pytest.mark.icarus
@pytest.mark.parametrize("top", ["Cfu", "CfuPcpi"])
def test_cfu_bus_answers_as_the_model(fused_cfu, top):
    from hwact.cfu.sim import run_protocol

    result = run_protocol(fused_cfu, top, per_unit=256)
    assert result["tests"] >= 3 and result["failures"] == 0, result["log"][-3000:]


@pytest.mark.firmware
def test_instruction_and_fallback_equal_the_model_on_vexriscv(tmp_path):
    """On the digits network's CFU (tests/test_digits.py): the same Verilog, so one SoC model for both."""
    import tomllib

    from hwact.cfu.build import build_cfu
    from hwact.cfu.config import parse_config
    from hwact.cfu.requant_firmware import run_fused_firmware
    from hwact.cfu.sim import load_cfu

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import digits_mlp

    (tmp_path / "cfu").mkdir()
    for name, text in build_cfu(parse_config(tomllib.loads(digits_mlp.cfu_config(digits_mlp.load())))).files.items():
        (tmp_path / "cfu" / name).write_text(text)
    (tmp_path / "fw").mkdir()
    runs = run_fused_firmware(load_cfu(tmp_path / "cfu"), "vexriscv", tmp_path / "fw", count=128,
                              simulator="verilator")
    assert [run.name for run in runs] == ["fc1_sigmoid", "fc2_out", "fc2_per_channel"]
    for run in runs:
        assert np.array_equal(run.hw, run.expected), run.name
        assert np.array_equal(run.sw, run.expected), run.name
        assert np.array_equal(run.dense_hw, run.dense_expected) and np.array_equal(run.dense_sw, run.dense_expected)
        assert run.cycles["dense_raw"] < run.cycles["dense_fused"] < run.cycles["dense_fallback"]

"""The comparison's baselines against hand-computed points of their published descriptions."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.baselines import all_baselines, hard, hls4ml, plan_sigmoid, pulp, tflite

pytestmark = pytest.mark.model


def sig(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_hls4ml_sigmoid_points():
    # x = 0: index 0 >> 6 + 512 = 512, entry sigmoid(16 * 512 / 1024 - 8) = 0.5 -> 512 / 2^10.
    # x = -2^-12: -1 >> 6 = -1 (truncation), index 511, sigmoid(-0.015625) * 1024 = 508.0003 -> 508.
    # x = max: index 1023, sigmoid(7.984375) * 1024 = 1023.65 -> 1023 (AP_TRN); x = -8: index 0 -> 0.34 -> 0.
    assert hls4ml.evaluate("sigmoid", np.array([0, -1, 32767, -32768])).tolist() == [512, 508, 1023, 0]
    assert math.floor(sig(-0.015625) * 1024) == 508
    assert hls4ml.table("sigmoid").size == 1024


def test_hls4ml_tanh_points():
    # x = 1: 4096 >> 5 = 128, index 640, tanh(8 * 640 / 1024 - 4) = tanh(1) * 1024 = 779.87 -> 779.
    # x = -5: -640 + 512 < 0, clamped to entry 0: tanh(-4) * 1024 = -1023.3 -> floor -1024.
    assert hls4ml.evaluate("tanh", np.array([4096, -20480])).tolist() == [779, -1024]
    assert math.floor(math.tanh(1.0) * 1024) == 779


def test_pulp_points():
    # Segment 2 of tanh ([0.5, 0.75)): m = (tanh .75 - tanh .5) / .25 = 0.69213 -> 2835, q = 0.11605 -> 475;
    # x = 0.5: (2835 * 2048) >> 12 + 475 = 1417 + 475 = 1892; odd for -0.5; saturation at 4 and beyond.
    m, q = pulp.coefficients("tanh")
    assert (m[2], q[2]) == (round((math.tanh(.75) - math.tanh(.5)) / .25 * 4096), 475)
    assert pulp.evaluate("tanh", np.array([2048, -2048, 16384, -20480])).tolist() == [1892, -1892, 4096, -4096]
    assert pulp.evaluate("sigmoid", np.array([16384, -16384, 0])).tolist() == [4096, 0, 2048]


def test_plan_points():
    # 0 -> 0.5; 1 -> 1/8 + 0.625 = 0.75; 2.375 -> 2.375/32 + 0.84375 = 0.91797 (9728 >> 5 = 304, + 3456);
    # -1 -> 1 - 0.75; 5 -> 1.
    assert plan_sigmoid.evaluate(np.array([0, 4096, 9728, -4096, 20480])).tolist() == [2048, 3072, 3760, 1024, 4096]


def test_tflite_int8_points():
    # LOGISTIC: round(sigmoid(q / 16) * 256) - 128 as int8, i.e. u0.8 round(sigmoid * 256), clamped.
    assert tflite.int8_table("sigmoid")[np.array([0, 16, -128, 127]) + 128].tolist() == [128, 187, 0, 255]
    assert round(sig(1) * 256) == 187
    # TANH: round(tanh(q / 16) * 128): tanh(.5) * 128 = 59.15 -> 59; tanh(7.94) * 128 -> 128, clamped to 127.
    assert tflite.int8_table("tanh")[np.array([8, 127]) + 128].tolist() == [59, 127]


def test_tflite_int16_points():
    lut = tflite.int16_table("sigmoid")
    assert lut.size == 513 and abs(int(lut[256]) - 16384) <= 1 and lut[512] >= 32757
    # x = 1000: index 256 + (1000 >> 7) = 263, offset 1000 & 127 = 104, rounded interpolation.
    expected = lut[263] + (((lut[264] - lut[263]) * 104 + 64) >> 7)
    assert tflite.int16_lookup("sigmoid", np.array([1000])).tolist() == [expected]
    assert abs(expected / 32768 - sig(1000 / 4096)) < 3 / 32768


def test_hard_points():
    # hardsigmoid(1) = 4/6 -> 2730.67 -> 2731; hardswish(-1) = -1/3 -> -1365.33 -> -1365.
    assert hard.hardsigmoid(np.array([0, 12288, -12288, 4096])).tolist() == [2048, 4096, 0, 2731]
    assert hard.hardswish(np.array([4096, -4096])).tolist() == [2731, -1365]


def test_every_baseline_maps_every_code_into_its_format():
    for b in all_baselines():
        y = b.evaluate(b.in_fmt.all_codes())
        assert y.min() >= b.out_fmt.min_code and y.max() <= b.out_fmt.max_code, b.name

"""Hard-sigmoid and hard-swish as the cheap stand-ins for sigmoid and SiLU (MobileNetV3's
``relu6(x + 3) / 6`` and ``x relu6(x + 3) / 6``), computed exactly and rounded once to nearest.

The baseline is judged against the function it replaces (sigmoid, SiLU), in ``s4.12`` in and out.
Its hardware is hwact's own ``exact`` plan of the same function (correctly rounded, so the
model here and the unit agree on every code).
"""

from __future__ import annotations

import numpy as np

from hwact.fixed import Fmt

from . import Baseline

__all__ = ["baselines", "hardsigmoid", "hardswish"]

FMT = Fmt.parse("s4.12")


def _round_half_up(numerator: np.ndarray, denominator: int) -> np.ndarray:
    return np.floor_divide(2 * numerator + denominator, 2 * denominator)


def hardsigmoid(codes: np.ndarray) -> np.ndarray:
    """``clip(x / 6 + 1/2, 0, 1)`` in s4.12, rounded half up, in exact integer arithmetic."""
    x = np.asarray(codes, dtype=np.int64)
    one = 1 << FMT.frac_bits
    return np.clip(_round_half_up(x + 3 * one, 6), 0, one)


def hardswish(codes: np.ndarray) -> np.ndarray:
    """``x * relu6(x + 3) / 6`` in s4.12, rounded half up, saturated, in exact integer arithmetic."""
    x = np.asarray(codes, dtype=np.int64)
    one = 1 << FMT.frac_bits
    r = np.clip(x + 3 * one, 0, 6 * one)
    return np.clip(_round_half_up(x * r, 6 * one), FMT.min_code, FMT.max_code)


def baselines() -> list[Baseline]:
    return [
        Baseline(name="hard-sigmoid (for sigmoid)", source="MobileNetV3", function="sigmoid", in_fmt=FMT,
                 out_fmt=FMT, evaluate=hardsigmoid, table_bits=0, hardware=True, verilog=None,
                 params=(("hwact", "hardsigmoid"),), note="relu6(x + 3) / 6, exact, rounded once"),
        Baseline(name="hard-swish (for SiLU)", source="MobileNetV3", function="silu", in_fmt=FMT, out_fmt=FMT,
                 evaluate=hardswish, table_bits=0, hardware=True, verilog=None,
                 params=(("hwact", "hardswish"),), note="x relu6(x + 3) / 6, exact, rounded once"),
    ]

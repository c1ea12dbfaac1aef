"""PLAN: piecewise linear approximation of a nonlinear function (Amin, Curtis and Hayes-Gill,
IEE Proc. Circuits, Devices and Systems, 1997), the classic shift-and-add sigmoid.

As described there, for ``|x|``::

    |x| >= 5           1
    2.375 <= |x| < 5   |x| / 32 + 0.84375
    1 <= |x| < 2.375   |x| / 8  + 0.625
    0 <= |x| < 1       |x| / 4  + 0.5

and ``sigmoid(-x) = 1 - sigmoid(x)``. The slopes are shifts, so in ``s4.12`` (input and output)
``|x| / 2^k`` is an arithmetic right shift (truncating) and every constant is exact.
"""

from __future__ import annotations

import numpy as np

from hwact.fixed import Fmt

from . import Baseline

__all__ = ["baseline", "evaluate"]

FMT = Fmt.parse("s4.12")
ONE = 1 << FMT.frac_bits


def _c(value: float) -> int:
    return round(value * ONE)


def evaluate(codes: np.ndarray) -> np.ndarray:
    x = np.asarray(codes, dtype=np.int64)
    a = np.abs(x)
    y = np.select([a >= _c(5), a >= _c(2.375), a >= _c(1)],
                  [np.full_like(a, ONE), (a >> 5) + _c(0.84375), (a >> 3) + _c(0.625)], (a >> 2) + _c(0.5))
    return np.where(x < 0, ONE - y, y)


def verilog(name: str) -> str:
    return f"""module {name}(input wire clk, input wire signed [15:0] x, output wire signed [15:0] y);
  wire [15:0] a = x[15] ? -x : x;
  wire [15:0] y_pos = a >= 16'd{_c(5)} ? 16'd{ONE} :
                      a >= 16'd{_c(2.375)} ? (a >> 5) + 16'd{_c(0.84375)} :
                      a >= 16'd{_c(1)} ? (a >> 3) + 16'd{_c(0.625)} : (a >> 2) + 16'd{_c(0.5)};
  assign y = x[15] ? 16'd{ONE} - y_pos : y_pos;
endmodule
"""


def baseline() -> Baseline:
    return Baseline(name="PLAN sigmoid", source="Amin et al. 1997", function="sigmoid", in_fmt=FMT, out_fmt=FMT,
                    evaluate=evaluate, table_bits=0, hardware=True, verilog=verilog,
                    note="breakpoints 1, 2.375, 5; slopes 1/4, 1/8, 1/32 (shifts)")

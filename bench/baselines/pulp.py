"""The PULP RNN extension's ``pl.tanh`` and ``pl.sig`` (Andri et al., "Extending the RISC-V ISA
for Efficient RNN-based 5G Radio Resource Management", DAC 2020).

As described there: Q3.12 operands (``s4.12`` here), a piecewise-linear approximation with 16
segments of width 0.25 on each side (``[0, 4)``), evaluated on ``|x|`` as ``m[i] |x| + q[i]``
with ``i = |x| >> 10``, saturating beyond 4 (tanh -> +-1, sigmoid -> 1 or 0); the negative
side follows from symmetry (``tanh(-x) = -tanh(x)``, ``sig(-x) = 1 - sig(x)``).

The paper does not list the coefficients. This reading uses the line through each segment's
end points (``m``, ``q`` rounded to Q3.12), the product ``m |x|`` truncated back to Q3.12 by
an arithmetic shift (what a 16x16 multiplier and a shift give), no output rounding.
"""

from __future__ import annotations

import numpy as np

from hwact.fixed import Fmt

from . import Baseline

__all__ = ["baselines", "coefficients", "evaluate"]

FMT = Fmt.parse("s4.12")
SEGMENTS = 16
SEGMENT_SHIFT = 10  # 0.25 in Q3.12 is 1024 codes
ONE = 1 << FMT.frac_bits


def _real(function: str, x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x)) if function == "sigmoid" else np.tanh(x)


def coefficients(function: str) -> tuple[np.ndarray, np.ndarray]:
    """Slopes ``m`` and intercepts ``q`` of the 16 segments as Q3.12 codes (chords, rounded)."""
    start = np.arange(SEGMENTS) * 0.25
    end = start + 0.25
    m = (_real(function, end) - _real(function, start)) / 0.25
    q = _real(function, start) - m * start
    return np.round(m * ONE).astype(np.int64), np.round(q * ONE).astype(np.int64)


def evaluate(function: str, codes: np.ndarray) -> np.ndarray:
    x = np.asarray(codes, dtype=np.int64)
    a = np.abs(x)
    m, q = coefficients(function)
    i = np.minimum(a >> SEGMENT_SHIFT, SEGMENTS - 1)
    y = ((m[i] * a) >> FMT.frac_bits) + q[i]
    y = np.where(a >= SEGMENTS << SEGMENT_SHIFT, ONE, y)  # saturation beyond 4
    if function == "tanh":
        return np.where(x < 0, -y, y)
    return np.where(x < 0, ONE - y, y)


def verilog(function: str, name: str) -> str:
    m, q = coefficients(function)
    rom = "\n".join(f"      4'd{i}: begin m = 16'sd{int(m[i])}; q = 16'sd{int(q[i])}; end" for i in range(SEGMENTS))
    negative = "-y_pos" if function == "tanh" else f"16'sd{ONE} - y_pos"
    return f"""module {name}(input wire clk, input wire signed [15:0] x, output wire signed [15:0] y);
  wire [15:0] a = x[15] ? -x : x;
  reg signed [15:0] m, q;
  always @* begin
    case (a[13:10])
{rom}
    endcase
  end
  wire signed [32:0] p = m * $signed({{1'b0, a}});
  wire signed [15:0] lin = (p >>> 12) + q;
  wire signed [15:0] y_pos = a[15:14] != 2'b00 ? 16'sd{ONE} : lin;
  assign y = x[15] ? {negative} : y_pos;
endmodule
"""


def baselines() -> list[Baseline]:
    names = {"tanh": "pl.tanh", "sigmoid": "pl.sig"}
    return [Baseline(name=f"PULP {names[f]}", source="PULP RNN ISA extension (DAC 2020)", function=f,
                     in_fmt=FMT, out_fmt=FMT, evaluate=lambda c, f=f: evaluate(f, c),
                     table_bits=SEGMENTS * 2 * FMT.width, hardware=True, verilog=lambda n, f=f: verilog(f, n),
                     note="16 chords of 0.25 per side, Q3.12 coefficients, saturation beyond 4")
            for f in ("tanh", "sigmoid")]

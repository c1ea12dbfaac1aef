"""hls4ml's default sigmoid and tanh: one 1024-entry table each, no interpolation.

As described in hls4ml's documentation and its ``nnet_activation.h`` description of the
table activations: the table has ``table_size = 1024`` entries of ``table_t =
ap_fixed<18,8>`` (10 fractional bits). Sigmoid samples ``[-8, 8)``: entry ``i`` holds
``sigmoid(16 i / 1024 - 8)``; tanh samples ``[-4, 4)``: entry ``i`` holds ``tanh(8 i / 1024 - 4)``.
The float value is assigned to ``ap_fixed<18,8>`` with its default quantization ``AP_TRN``
(towards minus infinity). The index is the input scaled by ``1024/16`` (``1024/8``) and
converted to an integer by truncation, plus half the table, clamped to ``0..1023``.

Here the input is ``s4.12`` (``ap_fixed<16,4>``), so the index is an arithmetic shift of the
input code (truncation of two's complement bits = floor), and the output is the entry in
``s8.10`` (``ap_fixed<18,8>``).
"""

from __future__ import annotations

import numpy as np

from hwact.fixed import Fmt

from . import Baseline

__all__ = ["baselines", "evaluate", "table"]

TABLE_SIZE = 1024
ENTRY = Fmt.parse("s8.10")
IN = Fmt.parse("s4.12")
#: (function, half range of the table): sigmoid covers [-8, 8), tanh [-4, 4).
RANGES = {"sigmoid": 8.0, "tanh": 4.0}


def _real(function: str, x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x)) if function == "sigmoid" else np.tanh(x)


def table(function: str) -> np.ndarray:
    """The 1024 entries as ``s8.10`` codes (float value truncated, AP_TRN)."""
    half = RANGES[function]
    x = 2 * half * np.arange(TABLE_SIZE) / TABLE_SIZE - half
    return np.floor(_real(function, x) * 2 ** ENTRY.frac_bits).astype(np.int64)


def index(function: str, codes: np.ndarray) -> np.ndarray:
    """Table index of ``s4.12`` input codes: ``floor(x * 1024 / (2 half)) + 512``, clamped."""
    shift = IN.frac_bits - int(np.log2(TABLE_SIZE / (2 * RANGES[function])))  # x * 64 (sigmoid), x * 128 (tanh)
    return np.clip((np.asarray(codes, dtype=np.int64) >> shift) + TABLE_SIZE // 2, 0, TABLE_SIZE - 1)


def evaluate(function: str, codes: np.ndarray) -> np.ndarray:
    return table(function)[index(function, codes)]


def verilog(function: str, name: str) -> str:
    """The table as a ROM read by the clamped, shifted input (what the HLS tool builds)."""
    shift = IN.frac_bits - int(np.log2(TABLE_SIZE / (2 * RANGES[function])))
    entries = table(function)
    cases = "\n".join(f"      10'd{i}: y = 18'h{int(v) & 0x3FFFF:05x};" for i, v in enumerate(entries))
    return f"""module {name}(input wire clk, input wire signed [15:0] x, output reg signed [17:0] y);
  wire signed [15:0] s = x >>> {shift};
  wire signed [16:0] i = s + 17'sd512;
  wire [9:0] idx = i < 0 ? 10'd0 : (i > 17'sd1023 ? 10'd1023 : i[9:0]);
  always @* begin
    case (idx)
{cases}
      default: y = 18'h0;
    endcase
  end
endmodule
"""


def baselines() -> list[Baseline]:
    return [
        Baseline(
            name=f"hls4ml {function}",
            source="hls4ml default table activation",
            function=function,
            in_fmt=IN,
            out_fmt=ENTRY,
            evaluate=lambda c, f=function: evaluate(f, c),
            table_bits=TABLE_SIZE * ENTRY.width,
            hardware=True,
            verilog=lambda name, f=function: verilog(f, name),
            note=f"1024 x ap_fixed<18,8> over [-{RANGES[function]:g}, {RANGES[function]:g}), index by truncation",
        )
        for function in ("sigmoid", "tanh")
    ]

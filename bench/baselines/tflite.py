"""TensorFlow Lite (Micro) quantized LOGISTIC and TANH, from the documented quantization spec
and the look-up-table scheme its kernels describe.

int8: a 256-entry table filled at prepare time: for every input code ``q``, the real input
``s_in (q - zp_in)`` through the float function, divided by the output scale, rounded half away
from zero (``std::round``), plus the output zero point, clamped. The quantization spec fixes
the outputs: LOGISTIC scale 1/256, zero point -128 (here ``u0.8``: code = q + 128), TANH scale
1/128, zero point 0 (``s1.7``). The input here has scale 1/16, zero point 0 (``s4.4``).
The table is computed in float32, as the kernels do.

int16: a 513-entry table over the input range ``[s_in min, s_in max]`` in 512 steps. Entry
``i`` is the function at step ``i`` scaled to the output range and rounded, minus half the
rounded midpoint error of the linear interpolation between ``i`` and ``i + 1`` (the bias that
centres the interpolation error); entry 512 is the function at the top of the range. A look-up
takes ``index = 256 + (x >> 7)``, ``offset = x & 127`` and returns
``lut[index] + ((lut[index + 1] - lut[index]) * offset + 64 >> 7)``. Input ``s4.12`` (scale
2^-12), output ``s1.15`` (scale 2^-15) for both functions.
"""

from __future__ import annotations

import numpy as np

from hwact.fixed import Fmt

from . import Baseline

__all__ = ["baselines", "int8_table", "int16_lookup", "int16_table"]

IN8 = Fmt.parse("s4.4")
OUT8 = {"sigmoid": Fmt.parse("u0.8"), "tanh": Fmt.parse("s1.7")}
IN16, OUT16 = Fmt.parse("s4.12"), Fmt.parse("s1.15")


def _real(function: str, x, dtype=np.float64):
    x = np.asarray(x, dtype=dtype)
    one = dtype(1)
    return one / (one + np.exp(-x)) if function == "sigmoid" else np.tanh(x)


def _round(v: np.ndarray) -> np.ndarray:
    """Half away from zero (``std::round``)."""
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def int8_table(function: str) -> np.ndarray:
    """The 256 output codes (in hwact's code convention for ``OUT8[function]``), by input code -128..127."""
    q = np.arange(-128, 128)
    x = np.float32(1 / 16) * q.astype(np.float32)
    y = _real(function, x, np.float32)
    if function == "sigmoid":  # int8 code round(y * 256) - 128, i.e. u0.8 code round(y * 256)
        return np.clip(_round(y.astype(np.float64) * 256) - 128, -128, 127).astype(np.int64) + 128
    return np.clip(_round(y.astype(np.float64) * 128), -128, 127).astype(np.int64)


def int16_table(function: str) -> np.ndarray:
    """The 513 int16 entries (output scale 2^-15, zero point 0)."""
    in_min, in_max = IN16.min_code * IN16.lsb, IN16.max_code * IN16.lsb
    out_min, out_max = OUT16.min_code * OUT16.lsb, OUT16.max_code * OUT16.lsb
    steps = 512
    step = (in_max - in_min) / steps
    scale = 65536 / (out_max - out_min)
    i = np.arange(steps)
    val = _real(function, in_min + i * step)
    mid = _real(function, in_min + i * step + step / 2)
    nxt = _real(function, in_min + (i + 1) * step)
    sample = _round(val * scale)
    interpolated = _round((nxt * scale + _round(val * scale)) / 2)
    bias = _round((interpolated - _round(mid * scale)) / 2)
    table = np.clip(sample - bias, -32768, 32767)
    last = np.clip(_round(_real(function, in_max) * scale), -32768, 32767)
    return np.append(table, last).astype(np.int64)


def int16_lookup(function: str, codes: np.ndarray) -> np.ndarray:
    x = np.asarray(codes, dtype=np.int64)
    lut = int16_table(function)
    index = 256 + (x >> 7)
    offset = x & 0x7F
    base = lut[index]
    slope = lut[index + 1] - base
    return np.clip(base + ((slope * offset + 64) >> 7), -32768, 32767)


def baselines() -> list[Baseline]:
    names = {"sigmoid": "LOGISTIC", "tanh": "TANH"}
    out = []
    for f in ("sigmoid", "tanh"):
        out.append(Baseline(name=f"TFLite-Micro int8 {names[f]}", source="TFLite int8 LUT kernel", function=f,
                            in_fmt=IN8, out_fmt=OUT8[f], evaluate=lambda c, f=f: int8_table(f)[np.asarray(c) + 128],
                            table_bits=256 * 8, hardware=False, note="256-entry table, input scale 1/16"))
    for f in ("sigmoid", "tanh"):
        out.append(Baseline(name=f"TFLite-Micro int16 {names[f]}", source="TFLite int16 LUT kernel", function=f,
                            in_fmt=IN16, out_fmt=OUT16, evaluate=lambda c, f=f: int16_lookup(f, c),
                            table_bits=513 * 16, hardware=False, note="513-entry table, linear interpolation"))
    return out

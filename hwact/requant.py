"""Requantization as TFLite does it, and a requantize + activation op fused into one unit.

An int8 kernel (TFLite / TFLite-Micro fully connected, convolution) ends every output with
``MultiplyByQuantizedMultiplier(acc, multiplier, shift) + zero_point``, saturated to int8:
the int32 accumulator (bias included) brought to the layer's output quantization. The
multiply is gemmlowp's ``SaturatingRoundingDoublingHighMul`` (the high 32 bits of ``2 * a * b``,
rounded half away from zero) followed by ``RoundingDivideByPOT`` (a right shift rounding half
away from zero); a positive ``shift`` is a left shift of the accumulator first (int32, wrapping
as the C code does on every two's complement machine). :func:`requantize` is that arithmetic,
bit for bit, vectorized on int64 arrays.

A *fused* op (:class:`Requant`) feeds the requantized code straight into an activation unit
whose input format is the layer's output quantization, ``int8(scale=s_y, zp=z_y)``; the zero
point is that format's. Its accuracy is claimed against the exact real value
``act(acc * real_scale)``, ``real_scale = real_multiplier * s_y`` (:func:`fused_error`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .fixed import Fmt
from .functions import get
from .measure import TIE_TOLERANCE
from .model import evaluate
from .plan import Plan

__all__ = [
    "Requant",
    "quantize_multiplier",
    "multiply_by_quantized_multiplier",
    "requantize",
    "fused_evaluate",
    "fused_error",
    "check_fusable",
    "INT32_MIN",
    "INT32_MAX",
]

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
#: Accumulators measured by :func:`fused_error` at most (evenly spaced beyond that).
ERROR_SAMPLES = 1 << 22

IntArray = npt.NDArray[np.int64]


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite's ``QuantizeMultiplier``: ``real ~= multiplier * 2**(shift - 31)``, multiplier in [2**30, 2**31)."""
    if not (isinstance(real, (int, float)) and math.isfinite(real) and real > 0):
        raise ValueError(f"requant scale must be a positive finite number, not {real!r}")
    fraction, shift = math.frexp(real)
    q = math.floor(fraction * (1 << 31) + 0.5)  # TfLiteRound: half away from zero (fraction > 0)
    if q == 1 << 31:
        q, shift = q // 2, shift + 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        raise ValueError(f"requant scale {real!r} is too large: TFLite's shift stops at 30")
    return q, shift


def _wrap32(v: IntArray) -> IntArray:
    return ((v + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _srdhm(a: IntArray, b: int) -> IntArray:
    """gemmlowp's SaturatingRoundingDoublingHighMul for int32 ``a`` and a constant ``b``."""
    product = a * np.int64(b)  # |a * b| <= 2**62: exact in int64
    nudge = np.where(product >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    total = product + nudge
    # C's int64 division by 2**31 truncates toward zero.
    high = np.where(total >= 0, total >> 31, -((-total) >> 31))
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    return np.where(overflow, np.int64(INT32_MAX), high)


def _rounding_divide_by_pot(x: IntArray, exponent: int) -> IntArray:
    """gemmlowp's RoundingDivideByPOT: ``x / 2**exponent`` rounded half away from zero."""
    if exponent == 0:
        return x
    mask = np.int64((1 << exponent) - 1)
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(acc: npt.ArrayLike, multiplier: int, shift: int) -> IntArray:
    """TFLite's ``MultiplyByQuantizedMultiplier(acc, multiplier, shift)`` on int32 values."""
    x = np.asarray(acc, dtype=np.int64)
    left, right = max(shift, 0), max(-shift, 0)
    return _rounding_divide_by_pot(_srdhm(_wrap32(x << left), multiplier), right)


@dataclass(frozen=True)
class Requant:
    """The output multiplier and shift of a layer (TFLite's ``output_multiplier``, ``output_shift``).

    ``real`` is the real multiplier they stand for (``input_scale * weight_scale / output_scale``)
    when it is known; otherwise the value ``multiplier * 2**(shift - 31)`` they represent.
    """

    multiplier: int
    shift: int
    real: float | None = None

    def __post_init__(self) -> None:
        for name, value, low, high in (("multiplier", self.multiplier, 0, INT32_MAX), ("shift", self.shift, -31, 30)):
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ValueError(f"requant {name} must be an integer in {low}..{high}, not {value!r}")
        if self.real is not None and not (math.isfinite(self.real) and self.real > 0):
            raise ValueError(f"requant scale must be a positive finite number, not {self.real!r}")

    @classmethod
    def from_real(cls, real: float) -> Requant:
        """The multiplier and shift TFLite's converter would store for ``real``."""
        multiplier, shift = quantize_multiplier(real)
        return cls(multiplier, shift, float(real))

    @property
    def real_multiplier(self) -> float:
        return self.real if self.real is not None else math.ldexp(self.multiplier, self.shift - 31)

    def to_dict(self) -> dict:
        return {"multiplier": self.multiplier, "shift": self.shift, "real": self.real}


def requantize(acc: npt.ArrayLike, requant: Requant, fmt: Fmt) -> IntArray:
    """A TFLite kernel's output code: requantized, plus ``fmt``'s zero point, saturated to ``fmt``."""
    scaled = multiply_by_quantized_multiplier(acc, requant.multiplier, requant.shift)
    return np.clip(scaled + fmt.zero_point, fmt.min_code, fmt.max_code)


def check_fusable(plan: Plan, lanes: int = 1) -> None:
    """Refuse a unit that cannot follow a requantization (ValueError naming why)."""
    if not plan.in_fmt.is_affine or plan.in_fmt.width > 16:
        raise ValueError(f"a fused requant op needs an affine input of up to 16 bits (the layer's output "
                         f"quantization, e.g. int8(scale=0.05, zp=-3)), not {plan.in_fmt}")
    if plan.operand_fmt is not None or plan.mirror:
        raise ValueError(f"a fused requant op needs a one-operand, one-output function, not {plan.function}")
    if lanes != 1:
        raise ValueError(f"a fused requant op takes one accumulator per instruction: lanes must be 1, not {lanes}")


def fused_evaluate(plan: Plan, requant: Requant, acc: npt.ArrayLike) -> IntArray:
    """The fused op's output codes for int32 accumulators: the unit at the requantized code."""
    return evaluate(plan, requantize(acc, requant, plan.in_fmt))


def accumulator_range(plan: Plan, requant: Requant) -> tuple[int, int]:
    """Accumulators whose exact real value lies within the layer's output range (one LSB beyond)."""
    fmt, real = plan.in_fmt, requant.real_multiplier
    lo = math.floor((fmt.min_code - fmt.zero_point - 1) / real)
    hi = math.ceil((fmt.max_code - fmt.zero_point + 1) / real)
    return max(lo, INT32_MIN), min(hi, INT32_MAX)


def fused_error(plan: Plan, requant: Requant) -> dict:
    """The fused op against ``act(acc * real_multiplier * s_y)``, in output LSBs.

    Measured on every accumulator whose real value lies within the layer's output range (the
    range the int8 code can express; beyond it TFLite saturates, so any kernel does), or on
    :data:`ERROR_SAMPLES` evenly spaced ones when there are more. The requantization rounds to
    the int8 grid first (TFLite's semantics, kept exactly), so this error includes that step;
    the activation alone is correctly rounded at int8 (``hwact report`` of the unit).
    """
    lo, hi = accumulator_range(plan, requant)
    count = hi - lo + 1
    acc = (np.arange(lo, hi + 1, dtype=np.int64) if count <= ERROR_SAMPLES
           else np.unique(np.linspace(lo, hi, ERROR_SAMPLES).round().astype(np.int64)))
    y = fused_evaluate(plan, requant, acc).astype(np.float64)
    x = acc * (requant.real_multiplier * plan.in_fmt.scale)
    out = plan.out_fmt
    exact = np.clip(out.code_units(get(plan.function).reference(x, plan.params)), out.min_code, out.max_code)
    err = np.abs(y - exact)
    return {
        "accumulators": [int(lo), int(hi)],
        "vectors": int(acc.size),
        "exhaustive": count <= ERROR_SAMPLES,
        "max_lsb": float(err.max()),
        "mean_lsb": float(np.mean(y - exact)),
        "correctly_rounded_fraction": float(np.mean(err <= 0.5 + TIE_TOLERANCE)),
    }

"""Requantization as TFLite does it, and a requantize + activation op fused into one unit.

An int8 kernel (TFLite / TFLite-Micro fully connected, convolution) ends every output with
``MultiplyByQuantizedMultiplier(acc, multiplier, shift) + zero_point``, saturated to int8:
the int32 accumulator (bias included) brought to the layer's output quantization. The
multiply is gemmlowp's ``SaturatingRoundingDoublingHighMul`` (the high 32 bits of ``2 * a * b``,
rounded half away from zero) followed by ``RoundingDivideByPOT`` (a right shift rounding half
away from zero); a positive ``shift`` is a left shift of the accumulator first (int32, wrapping
as the C code does on every two's complement machine). :func:`requantize` is that arithmetic,
bit for bit, vectorized on int64 arrays.

Per-channel quantization (a convolution's or fully connected layer's weights with one scale per
output channel) gives every output channel its own multiplier and shift: :class:`PerChannel`,
a table of :class:`Requant` picked by the channel index (the fused op's rs2).

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
    "PerChannel",
    "requant_from_dict",
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
#: Accumulators measured by :func:`fused_error` at most (evenly spaced beyond that), all channels together.
ERROR_SAMPLES = 1 << 22
#: Channels of a :class:`PerChannel` table at most (rs2's low bits pick one: a small ROM per unit).
MAX_CHANNELS = 1024

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


def _srdhm(a: IntArray, b: npt.ArrayLike) -> IntArray:
    """gemmlowp's SaturatingRoundingDoublingHighMul for int32 ``a`` and ``b`` (a constant or an array)."""
    b = np.asarray(b, dtype=np.int64)
    product = a * b  # |a * b| <= 2**62: exact in int64
    nudge = np.where(product >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    total = product + nudge
    # C's int64 division by 2**31 truncates toward zero.
    high = np.where(total >= 0, total >> 31, -((-total) >> 31))
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    return np.where(overflow, np.int64(INT32_MAX), high)


def _rounding_divide_by_pot(x: IntArray, exponent: npt.ArrayLike) -> IntArray:
    """gemmlowp's RoundingDivideByPOT: ``x / 2**exponent`` rounded half away from zero."""
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(acc: npt.ArrayLike, multiplier: npt.ArrayLike, shift: npt.ArrayLike) -> IntArray:
    """TFLite's ``MultiplyByQuantizedMultiplier(acc, multiplier, shift)`` on int32 values.

    ``multiplier`` and ``shift`` are constants or arrays broadcast against ``acc`` (one per channel).
    """
    x = np.asarray(acc, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    left, right = np.maximum(shift, 0), np.maximum(-shift, 0)
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


@dataclass(frozen=True)
class PerChannel:
    """One output multiplier and shift per output channel (TFLite's per-channel quantization).

    The fused op takes the channel index in rs2: its low :attr:`index_bits` bits pick the
    entry, and the table is padded to :attr:`depth` (a power of two) with multiplier 0, so an
    index past the last channel requantizes every accumulator to 0 (the zero point's code).
    """

    channels: tuple[Requant, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.channels, tuple) or not all(isinstance(c, Requant) for c in self.channels):
            raise TypeError(f"per-channel requant needs a tuple of hwact.requant.Requant, not {self.channels!r}")
        if not 1 <= len(self.channels) <= MAX_CHANNELS:
            raise ValueError(f"per-channel requant needs 1..{MAX_CHANNELS} channels, not {len(self.channels)}")

    @classmethod
    def from_reals(cls, reals) -> PerChannel:
        """The multipliers and shifts TFLite's converter would store for each channel's real multiplier."""
        return cls(tuple(Requant.from_real(float(r)) for r in reals))

    @property
    def index_bits(self) -> int:
        """Bits of rs2 that pick the channel."""
        return (len(self.channels) - 1).bit_length()

    @property
    def depth(self) -> int:
        """Entries in the (padded) table."""
        return 1 << self.index_bits

    def table(self) -> tuple[IntArray, IntArray]:
        """Multipliers and shifts, padded to :attr:`depth` with (0, 0)."""
        pad = self.depth - len(self.channels)
        multipliers = np.array([c.multiplier for c in self.channels] + [0] * pad, dtype=np.int64)
        shifts = np.array([c.shift for c in self.channels] + [0] * pad, dtype=np.int64)
        return multipliers, shifts

    def to_dict(self) -> dict:
        return {"channels": [c.to_dict() for c in self.channels]}


def requant_from_dict(data: dict) -> Requant | PerChannel:
    """The inverse of ``to_dict`` of either kind (``cfu.json``, manifests)."""
    if "channels" in data:
        return PerChannel(tuple(Requant(**c) for c in data["channels"]))
    return Requant(**data)


def requantize(acc: npt.ArrayLike, requant: Requant | PerChannel, fmt: Fmt,
               channel: npt.ArrayLike | None = None) -> IntArray:
    """A TFLite kernel's output code: requantized, plus ``fmt``'s zero point, saturated to ``fmt``.

    For a :class:`PerChannel` table ``channel`` (rs2, broadcast against ``acc``; 0 when omitted)
    picks each accumulator's multiplier and shift, its low ``index_bits`` bits only.
    """
    if isinstance(requant, PerChannel):
        index = np.asarray(0 if channel is None else channel, dtype=np.int64) & (requant.depth - 1)
        multipliers, shifts = requant.table()
        scaled = multiply_by_quantized_multiplier(acc, multipliers[index], shifts[index])
    else:
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


def fused_evaluate(plan: Plan, requant: Requant | PerChannel, acc: npt.ArrayLike,
                   channel: npt.ArrayLike | None = None) -> IntArray:
    """The fused op's output codes for int32 accumulators (and channel indices): the unit at the requantized code."""
    return evaluate(plan, requantize(acc, requant, plan.in_fmt, channel))


def accumulator_range(plan: Plan, requant: Requant | PerChannel) -> tuple[int, int]:
    """Accumulators whose exact real value lies within the layer's output range (one LSB beyond).

    For a :class:`PerChannel` table: the union of the channels' ranges.
    """
    if isinstance(requant, PerChannel):
        ranges = [accumulator_range(plan, c) for c in requant.channels]
        return min(r[0] for r in ranges), max(r[1] for r in ranges)
    fmt, real = plan.in_fmt, requant.real_multiplier
    if real == 0:  # TFLite's multiplier for a scale below 2**-31 * 2**-31: everything requantizes to 0
        return INT32_MIN, INT32_MAX
    lo = math.floor((fmt.min_code - fmt.zero_point - 1) / real)
    hi = math.ceil((fmt.max_code - fmt.zero_point + 1) / real)
    return max(lo, INT32_MIN), min(hi, INT32_MAX)


def fused_error(plan: Plan, requant: Requant | PerChannel, samples: int = ERROR_SAMPLES) -> dict:
    """The fused op against ``act(acc * real_multiplier * s_y)``, in output LSBs.

    Measured on every accumulator whose real value lies within the layer's output range (the
    range the int8 code can express; beyond it TFLite saturates, so any kernel does), or on
    ``samples`` evenly spaced ones when there are more. The requantization rounds to
    the int8 grid first (TFLite's semantics, kept exactly), so this error includes that step;
    the activation alone is correctly rounded at int8 (``hwact report`` of the unit). A
    :class:`PerChannel` table is measured channel by channel (``samples`` shared among them).
    """
    if isinstance(requant, PerChannel):
        parts = [fused_error(plan, c, max(1, samples // len(requant.channels))) for c in requant.channels]
        vectors = sum(p["vectors"] for p in parts)
        return {
            "channels": len(parts),
            "accumulators": [min(p["accumulators"][0] for p in parts), max(p["accumulators"][1] for p in parts)],
            "vectors": vectors,
            "exhaustive": all(p["exhaustive"] for p in parts),
            "max_lsb": max(p["max_lsb"] for p in parts),
            "mean_lsb": sum(p["mean_lsb"] * p["vectors"] for p in parts) / vectors,
            "correctly_rounded_fraction": sum(p["correctly_rounded_fraction"] * p["vectors"] for p in parts) / vectors,
        }
    lo, hi = accumulator_range(plan, requant)
    count = hi - lo + 1
    # Beyond ``samples`` the step exceeds 1, so the rounded points are distinct and in order already.
    acc = (np.arange(lo, hi + 1, dtype=np.int64) if count <= samples
           else np.linspace(lo, hi, samples).round().astype(np.int64))
    y = fused_evaluate(plan, requant, acc).astype(np.float64)
    x = acc * (requant.real_multiplier * plan.in_fmt.scale)
    out = plan.out_fmt
    exact = np.clip(out.code_units(get(plan.function).reference(x, plan.params)), out.min_code, out.max_code)
    err = np.abs(y - exact)
    return {
        "accumulators": [int(lo), int(hi)],
        "vectors": int(acc.size),
        "exhaustive": count <= samples,
        "max_lsb": float(err.max()),
        "mean_lsb": float(np.mean(y - exact)),
        "correctly_rounded_fraction": float(np.mean(err <= 0.5 + TIE_TOLERANCE)),
    }

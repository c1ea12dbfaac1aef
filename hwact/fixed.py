"""Fixed-point formats, rounding and overflow on NumPy arrays of integer codes.

A format ``Fmt(int_bits, frac_bits, signed)`` describes a two's complement (or unsigned)
number of ``int_bits + frac_bits`` bits; ``int_bits`` counts the sign bit, as in ``ap_fixed``
and APyTypes. A *code* ``c`` stands for the real value ``c * 2**-frac_bits``. Codes are kept as
``int64`` integers holding the value (a signed code is negative when the number is), and
converted to raw bit patterns only at the hardware boundary (:meth:`Fmt.to_bits`).

An *affine* format (deployed networks: TFLite, TFLite-Micro, ONNX QDQ, PyTorch) is a plain
integer format (``frac_bits = 0``) with a ``scale`` and a ``zero_point``: code ``q`` stands for
``(q - zero_point) * scale``. Everything that moves codes (plans, model, HDL, C, CFU) sees only
the integer format; what a code *means* (:meth:`Fmt.to_real`, :meth:`Fmt.code_units`,
:attr:`Fmt.lsb`) is where the scale and zero point act. Spellings and presets: :mod:`hwact.affine`.

Rounding modes carry the HLS names; every rounding in hwact goes through
:func:`shift_round`, :func:`quantize` or :func:`overflow`, so the model, the HDL and the C
fallback implement the same arithmetic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "Fmt",
    "unique_codes",
    "FormatError",
    "Rounding",
    "Overflow",
    "RoundingBias",
    "ROUNDING_BIAS",
    "ROUNDING_MODES",
    "check_rounding",
    "check_overflow",
    "OVERFLOW_MODES",
    "shift_round",
    "overflow",
    "quantize",
]

class Rounding(StrEnum):
    """Rounding modes with the HLS names (``ap_fixed``): the values are the JSON spellings."""

    TRN = "TRN"  #: floor (toward minus infinity)
    TRN_ZERO = "TRN_ZERO"  #: toward zero
    RND = "RND"  #: to nearest, ties up (toward plus infinity)
    RND_ZERO = "RND_ZERO"  #: to nearest, ties toward zero
    RND_INF = "RND_INF"  #: to nearest, ties away from zero
    RND_CONV = "RND_CONV"  #: to nearest, ties to even (convergent)


class Overflow(StrEnum):
    """Overflow modes: ``SAT`` clamps to the format's range, ``SAT_SYM`` to a range symmetric
    about zero (the most negative code is never produced), ``WRAP`` keeps the low bits."""

    SAT = "SAT"
    SAT_SYM = "SAT_SYM"
    WRAP = "WRAP"


@dataclass(frozen=True)
class RoundingBias:
    """How a mode rounds an integer right shift by ``s`` bits: ``floor((v + bias) / 2**s)``.

    The bias is ``non_negative`` for ``v >= 0`` and ``negative`` for ``v < 0``, each one of
    ``0``, ``half - 1``, ``half`` or ``ones`` (``half = 2**(s-1)``, ``ones = 2**s - 1``);
    ``plus_kept_lsb`` adds the bit that becomes the result's LSB (ties to even). The model
    (:func:`shift_round`), the HDL and the C backend all build their rounding from this table.
    """

    non_negative: str
    negative: str
    plus_kept_lsb: bool = False

    def amounts(self, shift: int) -> tuple[int | None, int | None]:
        """The two biases as integers for a shift by ``shift`` (> 0) bits; None where the mode adds
        nothing (a backend then writes no addition, not an addition of 0)."""
        values = {"0": None, "half - 1": (1 << (shift - 1)) - 1, "half": 1 << (shift - 1), "ones": (1 << shift) - 1}
        return values[self.non_negative], values[self.negative]


#: The one rounding table (see :class:`RoundingBias`).
ROUNDING_BIAS: Final = {
    Rounding.TRN: RoundingBias("0", "0"),
    Rounding.TRN_ZERO: RoundingBias("0", "ones"),
    Rounding.RND: RoundingBias("half", "half"),
    Rounding.RND_ZERO: RoundingBias("half - 1", "half"),
    Rounding.RND_INF: RoundingBias("half", "half - 1"),
    Rounding.RND_CONV: RoundingBias("half - 1", "half - 1", plus_kept_lsb=True),
}

ROUNDING_MODES: Final = tuple(mode.value for mode in Rounding)

#: Overflow modes: ``SAT`` clamps to the format's range, ``SAT_SYM`` clamps to a range
#: symmetric about zero (the most negative code is never produced), ``WRAP`` keeps the low bits.
OVERFLOW_MODES: Final = tuple(mode.value for mode in Overflow)

MAX_WIDTH: Final = 32

IntArray = npt.NDArray[np.int64]

_SPELLINGS = (
    "s4.12, u0.8, fixed<16,4>, ap_fixed<16,4>, ufixed<8,0>, ap_ufixed<8,0>, "
    "int8, uint8, int16, Q3.12, UQ0.8; affine int8(scale=0.0235, zp=-3), uint8(...), int16(scale=2^-12), "
    "presets tflite:logistic, tflite:tanh, onnx:sigmoid, ... (docs/numerics.md)"
)


class FormatError(ValueError):
    """A fixed-point format that cannot be parsed or is out of range."""


@dataclass(frozen=True, order=True)
class Fmt:
    """A fixed-point number format.

    Parameters
    ----------
    int_bits
        Integer bits, *including* the sign bit of a signed format.
    frac_bits
        Fraction bits.
    signed
        Two's complement when true, unsigned otherwise.

    Examples
    --------
    >>> Fmt.parse("Q3.12") == Fmt(4, 12)
    True
    >>> str(Fmt.parse("ufixed<8,0>"))
    'u0.8'
    >>> Fmt.parse("int8(scale=1/256, zp=-128)").to_real(-128).item()
    0.0
    """

    int_bits: int
    frac_bits: int
    signed: bool = True
    #: Affine formats only: the real value of one code step (positive, finite) ...
    scale: float | None = None
    #: ... and the code of real zero, ``(q - zero_point) * scale``.
    zero_point: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.int_bits, int) or not isinstance(self.frac_bits, int):
            raise FormatError(f"format bit counts must be integers, not {self.int_bits!r}.{self.frac_bits!r}")
        if self.int_bits < 0 or self.frac_bits < 0:
            raise FormatError(f"format {self} has a negative bit count")
        if self.signed and self.int_bits < 1:
            raise FormatError(f"signed format {self} needs at least one integer bit for the sign")
        if not 1 <= self.width <= MAX_WIDTH:
            raise FormatError(f"format {self} is {self.width} bits wide; widths 1..{MAX_WIDTH} are supported")
        if self.scale is not None or self.zero_point != 0:
            from .affine import check_affine  # the affine rules live beside their spellings

            check_affine(self)

    # -- spelling ---------------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str | Fmt) -> Fmt:
        """Parse any accepted spelling of a format (see :mod:`hwact.fixed`)."""
        if isinstance(text, Fmt):
            return text
        spelled = str(text).strip()
        try:
            fmt = _parse(spelled)
        except FormatError as error:
            raise FormatError(f"bad format {spelled!r}: {error}") from None
        if fmt is None:
            raise FormatError(f"bad format {spelled!r}; accepted forms: {_SPELLINGS}")
        return fmt

    def __str__(self) -> str:
        if self.scale is not None:
            # repr() of a float is its shortest exact spelling: the string parses back to this format.
            return f"{'' if self.signed else 'u'}int{self.width}(scale={self.scale!r}, zp={self.zero_point})"
        return f"{'s' if self.signed else 'u'}{self.int_bits}.{self.frac_bits}"

    @property
    def is_affine(self) -> bool:
        """Whether codes mean ``(q - zero_point) * scale`` rather than ``q * 2**-frac_bits``."""
        return self.scale is not None

    @property
    def storage(self) -> Fmt:
        """The integer format the codes travel in (the format itself unless it is affine)."""
        return Fmt(self.width, 0, self.signed) if self.is_affine else self

    # -- derived facts ----------------------------------------------------------------------

    @property
    def width(self) -> int:
        """Total number of bits."""
        return self.int_bits + self.frac_bits

    @property
    def min_code(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_code(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def lsb(self) -> float:
        """The value of one code step, ``2**-frac_bits`` (the scale of an affine format)."""
        return self.scale if self.scale is not None else 2.0 ** -self.frac_bits

    @property
    def min_value(self) -> float:
        return float(self.to_real(self.min_code))

    @property
    def max_value(self) -> float:
        return float(self.to_real(self.max_code))

    @property
    def n_codes(self) -> int:
        return 1 << self.width

    # -- conversions ------------------------------------------------------------------------

    def all_codes(self) -> IntArray:
        """Every code of the format, in increasing order of value."""
        return np.arange(self.min_code, self.max_code + 1, dtype=np.int64)

    def to_real(self, codes: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The real value of each code (exact in float64 for binary formats up to 32 bits; one
        float64 rounding of ``(q - zero_point) * scale`` for affine ones)."""
        if self.scale is not None:
            return (np.asarray(codes, dtype=np.float64) - self.zero_point) * self.scale
        return np.ldexp(np.asarray(codes, dtype=np.float64), -self.frac_bits)

    def code_units(self, values: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Real values in units of this format's codes, unrounded: ``x / lsb (+ zero_point)``."""
        if self.scale is not None:
            return np.asarray(values, dtype=np.float64) / self.scale + self.zero_point
        return np.ldexp(np.asarray(values, dtype=np.float64), self.frac_bits)

    def from_real(self, values: npt.ArrayLike, rounding: str = "RND_CONV", overflow_mode: str = "SAT") -> IntArray:
        """Quantize real values to codes of this format (see :func:`quantize`)."""
        return quantize(values, self, rounding, overflow_mode)

    def to_bits(self, codes: npt.ArrayLike) -> IntArray:
        """Raw bit patterns (unsigned integers) of codes, as they appear on a bus."""
        return np.asarray(codes, dtype=np.int64) & ((1 << self.width) - 1)

    def from_bits(self, bits: npt.ArrayLike) -> IntArray:
        """Codes from raw bit patterns (the inverse of :meth:`to_bits`)."""
        raw = np.asarray(bits, dtype=np.int64) & ((1 << self.width) - 1)
        if self.signed:
            raw = np.where(raw >= (1 << (self.width - 1)), raw - (1 << self.width), raw)
        return raw


_WIDTH_WORD = re.compile(r"(u?)int(\d+)")
_SU = re.compile(r"([su])(\d+)\.(\d+)")
_TEMPLATE = re.compile(r"(ap_)?(u?)fixed<\s*(\d+)\s*,\s*(-?\d+)\s*>")
_ARM_Q = re.compile(r"(u?)q(\d+)(?:\.(\d+))?")


def _parse(text: str) -> Fmt | None:
    lowered = text.lower()
    if "(" in lowered or ":" in lowered:  # an affine spelling or a preset
        from .affine import parse_affine

        return parse_affine(lowered)
    if match := _SU.fullmatch(lowered):
        return Fmt(int(match[2]), int(match[3]), match[1] == "s")
    if match := _WIDTH_WORD.fullmatch(lowered):
        return Fmt(int(match[2]), 0, match[1] != "u")
    if match := _TEMPLATE.fullmatch(lowered):
        width, int_bits = int(match[3]), int(match[4])
        return Fmt(int_bits, width - int_bits, match[2] != "u")
    if match := _ARM_Q.fullmatch(lowered):
        unsigned = match[1] == "u"
        if match[3] is None:  # "Q15": fraction bits only
            int_part, frac = 0, int(match[2])
        else:
            int_part, frac = int(match[2]), int(match[3])
        # ARM Q notation does not count the sign bit.
        return Fmt(int_part + (0 if unsigned else 1), frac, not unsigned)
    return None


# -- integer arithmetic on codes (the golden semantics) ---------------------------------------


def check_rounding(mode: str) -> None:
    """Refuse anything but one of :data:`ROUNDING_MODES` (ValueError naming them)."""
    if not isinstance(mode, str) or mode not in ROUNDING_MODES:
        raise ValueError(f"rounding mode must be one of {', '.join(ROUNDING_MODES)}, not {mode!r}")


def check_overflow(mode: str) -> None:
    """Refuse anything but one of :data:`OVERFLOW_MODES` (ValueError naming them)."""
    if not isinstance(mode, str) or mode not in OVERFLOW_MODES:
        raise ValueError(f"overflow mode must be one of {', '.join(OVERFLOW_MODES)}, not {mode!r}")


def shift_round(values: npt.ArrayLike, shift: int, rounding: str) -> IntArray:
    """Divide integer codes by ``2**shift`` and round with ``rounding``.

    A non-positive ``shift`` is an exact left shift. This is the only rounding step of a
    datapath; the HDL backend builds the same expressions (see :mod:`hwact.hdl.primitives`).
    """
    check_rounding(rounding)
    v = np.asarray(values, dtype=np.int64)
    if shift <= 0:
        return v << -shift
    bias = ROUNDING_BIAS[Rounding(rounding)]
    non_negative, negative = bias.amounts(shift)
    if negative == non_negative:
        biased = v + np.int64(non_negative or 0)
    else:
        biased = v + np.where(v < 0, np.int64(negative or 0), np.int64(non_negative or 0))
    if bias.plus_kept_lsb:
        biased = biased + ((v >> shift) & 1)
    return biased >> shift


def overflow(values: npt.ArrayLike, fmt: Fmt, mode: str = "SAT") -> IntArray:
    """Bring integer codes into the range of ``fmt`` with overflow mode ``mode``."""
    check_overflow(mode)
    v = np.asarray(values, dtype=np.int64)
    if mode == "WRAP":
        return fmt.from_bits(v)
    low = fmt.min_code
    if mode == "SAT_SYM" and fmt.signed:
        low = -fmt.max_code
    return np.clip(v, low, fmt.max_code)


#: Each bias of :data:`ROUNDING_BIAS` applied to a real number: ``floor(v + bias / 2**s)`` in the
#: limit of a large shift ``s`` (``half - 1`` rounds ties down, ``ones`` is a ceiling).
_REAL_BIAS: Final = {
    "0": np.floor,
    "ones": np.ceil,
    "half": lambda v: np.floor(v + 0.5),
    "half - 1": lambda v: np.ceil(v - 0.5),
}


def round_real(scaled: npt.ArrayLike, rounding: str) -> npt.NDArray[np.float64]:
    """Round real numbers (already scaled to code units) to integers with ``rounding``."""
    check_rounding(rounding)
    v = np.asarray(scaled, dtype=np.float64)
    bias = ROUNDING_BIAS[Rounding(rounding)]
    if bias.plus_kept_lsb:  # ties to even
        return np.rint(v)
    return np.where(v < 0, _REAL_BIAS[bias.negative](v), _REAL_BIAS[bias.non_negative](v))


def quantize(values: npt.ArrayLike, fmt: Fmt, rounding: str = "RND_CONV", overflow_mode: str = "SAT") -> IntArray:
    """Quantize real values to codes of ``fmt``: scale, round, then handle overflow.

    Scaling by a power of two is exact in float64, so the only rounding is the named one
    (an affine format's division by its scale is one float64 rounding more).
    """
    scaled = fmt.code_units(values)
    if not np.all(np.isfinite(scaled)):
        raise ValueError("cannot quantize a value that is not finite")
    # Clip before the integer conversion so huge values cannot overflow int64.
    limit = float(1 << 62)
    rounded = np.clip(round_real(scaled, rounding), -limit, limit).astype(np.int64)
    return overflow(rounded, fmt, overflow_mode)


def unique_codes(codes: npt.ArrayLike) -> IntArray:
    """Sorted distinct codes (``np.unique`` by sorting, which is much faster on large int arrays)."""
    flat = np.sort(np.asarray(codes, dtype=np.int64).ravel())
    return flat[np.concatenate([[True], flat[1:] != flat[:-1]])] if flat.size else flat

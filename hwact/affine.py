"""Affine formats: the quantization of deployed networks (TFLite, TFLite-Micro, ONNX, PyTorch).

A code ``q`` of an affine format means ``(q - zero_point) * scale``. hwact keeps such a format
as a :class:`~hwact.fixed.Fmt` of ``frac_bits = 0`` carrying ``scale`` and ``zero_point``:
plans, the model, the HDL, the C backend and the CFU move the integer codes as they always do,
and only the planners' target (:meth:`Fmt.to_real`, :meth:`Fmt.code_units`) and the
measurement see the real values. Errors stay in output LSBs, which here are the output scale.

Spellings (case-insensitive; the scale as a number, ``a/b``, ``2^k`` or ``2**k``)::

    int8(scale=0.0235, zp=-3)     uint8(scale=1/255, zp=0)     int16(scale=2^-12)

``zp`` (or ``zero_point``) defaults to 0. Presets name the fixed conventions:

=========================  ========  ============  ====  ==========================================
preset                      codes     scale         zp    where it comes from
=========================  ========  ============  ====  ==========================================
``tflite:logistic``         int8      1/256         -128  TFLite LOGISTIC int8 output (fixed by the op)
``tflite:tanh``             int8      1/128         0     TFLite TANH int8 output
``tflite:logistic:int16``   int16     2^-15         0     TFLite LOGISTIC int16 output
``tflite:tanh:int16``       int16     2^-15         0     TFLite TANH int16 output
``onnx:sigmoid``            uint8     1/255         0     onnxruntime.quantization, range [0, 1]
``onnx:sigmoid:int8``       int8      1/255         -128  the same, int8 activations
``onnx:tanh``               uint8     2/255         128   onnxruntime.quantization, range [-1, 1]
``onnx:tanh:int8``          int8      2/255         0     the same, int8 activations
=========================  ========  ============  ====  ==========================================

ONNX fixes no output quantization for an activation: ``QLinearSigmoid`` takes whatever the
graph gives it. The ``onnx:`` presets are what ONNX Runtime's own quantizer computes for the
exact output range (``scale = (max - min) / (qmax - qmin)``, ``zp = round(qmin - min / scale)``,
half to even). Scales are stored as float32 in both file formats, so presets hold the float32
value (1/255 is 0.003921568859368563, not the float64 nearest to 1/255); a scale typed by the
user is taken as given.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Final

import numpy as np

from .fixed import Fmt, FormatError

__all__ = ["PRESETS", "MIN_SCALE", "MAX_SCALE", "parse_affine", "check_affine", "fold_constant", "scale_ratio_log2"]

#: Scales hwact accepts: far beyond any deployed activation (TFLite's are ~1e-5 .. 1e2), and
#: small enough that ``(q - zp) * scale`` of a 32-bit code stays a normal float64.
MIN_SCALE: Final = 2.0**-64
MAX_SCALE: Final = 2.0**64


def _f32(value: float) -> float:
    return float(np.float32(value))


#: name -> (signed, width, scale, zero point); see the module docstring.
PRESETS: Final[dict[str, tuple[bool, int, float, int]]] = {
    "tflite:logistic": (True, 8, 2.0**-8, -128),
    "tflite:tanh": (True, 8, 2.0**-7, 0),
    "tflite:logistic:int16": (True, 16, 2.0**-15, 0),
    "tflite:tanh:int16": (True, 16, 2.0**-15, 0),
    "onnx:sigmoid": (False, 8, _f32(1 / 255), 0),
    "onnx:sigmoid:int8": (True, 8, _f32(1 / 255), -128),
    "onnx:tanh": (False, 8, _f32(2 / 255), 128),
    "onnx:tanh:int8": (True, 8, _f32(2 / 255), 0),
}
_ALIASES: Final = {"tflite:sigmoid": "tflite:logistic", "tflite:sigmoid:int16": "tflite:logistic:int16",
                   "onnx:logistic": "onnx:sigmoid", "onnx:logistic:int8": "onnx:sigmoid:int8"}

_CALL = re.compile(r"(u?)int(\d+)\s*\((.*)\)")
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?"
_RATIO = re.compile(rf"({_NUMBER})\s*/\s*({_NUMBER})")
_POWER = re.compile(r"2\s*(?:\^|\*\*)\s*\(?\s*([+-]?\d+)\s*\)?")


def _scale(text: str) -> float:
    text = text.strip()
    try:
        if match := _POWER.fullmatch(text):
            return math.ldexp(1.0, int(match[1]))
        if match := _RATIO.fullmatch(text):
            return float(match[1]) / float(match[2])
        return float(text)
    except (ValueError, ZeroDivisionError, OverflowError):
        raise FormatError(f"scale must be a positive number (0.0235, 1/256, 2^-15), not {text!r}") from None


def _zero_point(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise FormatError(f"zero point must be an integer, not {text.strip()!r}") from None


def parse_affine(text: str) -> Fmt | None:
    """Parse an affine spelling or a preset (lower case); ``None`` if it is neither."""
    name = _ALIASES.get(text.strip(), text.strip())
    if name in PRESETS:
        signed, width, scale, zp = PRESETS[name]
        return Fmt(width, 0, signed, scale, zp)
    if ":" in name and "(" not in name:
        raise FormatError(f"unknown preset {text.strip()!r}; presets: {', '.join(PRESETS)}")
    match = _CALL.fullmatch(name)
    if match is None:
        return None
    fields: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in match[3].split(","))):
        key, eq, value = item.partition("=")
        key = {"zero_point": "zp"}.get(key.strip(), key.strip())
        if not eq or key not in ("scale", "zp"):
            raise FormatError(f"affine formats take scale=... and zp=..., not {item!r}")
        if key in fields:
            raise FormatError(f"{key} given twice")
        fields[key] = value
    if "scale" not in fields:
        raise FormatError("an affine format needs a scale, e.g. int8(scale=0.0235, zp=-3)")
    width = int(match[2])
    if not 2 <= width <= 32:
        raise FormatError(f"affine formats are 2..32 bits wide, not {width}")
    return Fmt(width, 0, match[1] != "u", _scale(fields["scale"]), _zero_point(fields.get("zp", "0")))


def check_affine(fmt: Fmt) -> None:
    """Refuse an affine format hwact cannot honour (called by :class:`Fmt` itself)."""
    scale, zp = fmt.scale, fmt.zero_point
    if scale is None:
        raise FormatError(f"zero point {zp!r} without a scale: only affine formats have one")
    if fmt.frac_bits != 0:
        raise FormatError("an affine format is an integer format: the scale replaces the binary point")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
        raise FormatError(f"scale must be a positive finite number, not {scale!r}")
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise FormatError(f"scale {scale!r} is out of range: hwact takes scales from 2^-64 to 2^64")
    if isinstance(zp, bool) or not isinstance(zp, (int, np.integer)):
        raise FormatError(f"zero point must be an integer, not {zp!r}")
    low, high = fmt.storage.min_code, fmt.storage.max_code
    if not low <= zp <= high:
        kind = f"{'' if fmt.signed else 'u'}int{fmt.width}"
        raise FormatError(f"zero point {zp} is outside the {kind} codes {low}..{high}")
    object.__setattr__(fmt, "scale", float(scale))
    object.__setattr__(fmt, "zero_point", int(zp))


def _exact(fmt: Fmt) -> Fraction:
    return Fraction(fmt.lsb)  # the float's exact value (2**-frac_bits for binary formats)


def fold_constant(fmt: Fmt) -> int | None:
    """``1.0`` of the output in code units plus twice the zero point, if that is an integer.

    A ``complement`` fold (``f(-x) = 1 - f(x)``) becomes ``q(-x) = C - q(x)`` in codes with
    ``C = 1/scale + 2 * zero_point`` (``2**frac_bits`` for binary formats): TFLite's int8
    logistic output (1/256, -128) gives 0, an odd fold in disguise.
    """
    constant = 1 / _exact(fmt) + 2 * fmt.zero_point
    return int(constant) if constant.denominator == 1 else None


def scale_ratio_log2(in_fmt: Fmt, out_fmt: Fmt) -> int | None:
    """``k`` with ``in_scale / out_scale = 2**k``, or ``None`` when the ratio is no power of two."""
    ratio = _exact(in_fmt) / _exact(out_fmt)
    for value, sign in ((ratio, 1), (1 / ratio, -1)):
        if value.denominator == 1 and value.numerator & (value.numerator - 1) == 0:
            return sign * (value.numerator.bit_length() - 1)
    return None

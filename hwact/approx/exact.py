"""The ``exact`` planner: piecewise polynomials with known real coefficients.

Each :class:`~hwact.functions.Piece` becomes one segment. Breakpoints move to the first input
code the piece covers, so every code is evaluated with the piece the real function uses
there. Coefficients that are not representable (1/6, 0.01, ...) are quantized with ``F``
fraction bits for the top-degree column (lower columns carry ``fi`` more bits per degree, so
the Horner steps need no intermediate rounding); ``F`` is the smallest value whose *measured*
error over every input code is correctly rounded (at most 0.5 LSB).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..fixed import Fmt
from ..functions import OPERAND, Function, Piece
from ..plan import CoefTable, HornerStep, OutputStage, Plan, SegmentSelect
from ..measure import TIE_TOLERANCE, measure

__all__ = ["plan_exact", "MAX_COEF_FRAC_BITS"]

#: The coefficient search gives up beyond this many fraction bits.
MAX_COEF_FRAC_BITS = 40
#: Input spaces larger than this are screened on a sample during the coefficient search.
SCREEN_BITS = 14
#: Intermediate values stay below this magnitude so the int64 model cannot overflow.
ACC_LIMIT = 1 << 62


def _first_code(piece: Piece, fmt: Fmt) -> int:
    """The first input code a piece covers (clamped to one past the format's range)."""
    if math.isinf(piece.start):
        return fmt.min_code if piece.start < 0 else fmt.max_code + 1
    scaled = math.ldexp(piece.start, fmt.frac_bits)
    code = math.ceil(scaled) if piece.closed else math.floor(scaled) + 1
    return min(max(code, fmt.min_code), fmt.max_code + 1)


def _live_segments(pieces: list[Piece], fmt: Fmt) -> list[tuple[Piece, int, int]]:
    """Pieces that own at least one input code, with their code range ``[lo, hi]``."""
    starts = [_first_code(p, fmt) for p in pieces] + [fmt.max_code + 1]
    return [(p, lo, hi - 1) for p, lo, hi in zip(pieces, starts, starts[1:]) if lo < hi]


def _quantize_coef(value: float, frac_bits: int) -> int:
    return round(math.ldexp(value, frac_bits))


def _min_signed_bits(code: int) -> int:
    return max(code.bit_length() + 1, 1) if code >= 0 else (~code).bit_length() + 1


def _build(function: Function, params: Mapping[str, Any], segments, degree: int, coef_frac: int,
           in_fmt: Fmt, out_fmt: Fmt, operand_fmt: Fmt | None, rounding: str, overflow_mode: str) -> Plan | None:
    """The plan for one choice of coefficient precision, or None if it could overflow int64."""
    fi = in_fmt.frac_bits
    frac_bits = tuple(coef_frac + (degree - k) * fi for k in range(degree + 1))
    rows, operand, coefficients = [], [], []
    for s, (piece, lo, hi) in enumerate(segments):
        row = []
        for k in range(degree + 1):
            value = piece.coeffs[k] if k < len(piece.coeffs) else 0.0
            if value == OPERAND:
                operand.append((s, k))
                row.append(0)
                continue
            code = _quantize_coef(float(value), frac_bits[k])
            row.append(code)
            if value != 0:
                coefficients.append({
                    "segment": s, "power": k, "requested": float(value),
                    "quantized": math.ldexp(code, -frac_bits[k]), "code": code,
                    "format": f"s{max(_min_signed_bits(code) - frac_bits[k], 1)}.{frac_bits[k]}",
                })
        # Bound |acc| over the segment's codes so the int64 model is exact.
        x_max = max(abs(lo), abs(hi))
        a_max = operand_fmt and max(abs(operand_fmt.min_code), operand_fmt.max_code)
        bound = 0
        for k in range(degree, -1, -1):
            c_max = a_max if (s, k) in operand else abs(row[k])
            bound = bound * x_max + c_max
            if bound > ACC_LIMIT:
                return None
        rows.append(tuple(row))

    breakpoints = [{"requested": float(p.start), "closed": p.closed, "code": lo, "value": in_fmt.to_real(lo).item()}
                   for p, lo, _ in segments[1:]]
    return Plan(
        function=function.name, params=dict(params), method="exact", in_fmt=in_fmt, out_fmt=out_fmt,
        operand_fmt=operand_fmt,
        select=SegmentSelect(tuple(lo for _, lo, _ in segments[1:])),
        table=CoefTable(tuple(rows), frac_bits, tuple(operand)),
        horner=tuple(HornerStep(0) for _ in range(degree)),
        output=OutputStage(frac_bits[0] - out_fmt.frac_bits, rounding, overflow_mode),
        quantized={"coefficients": coefficients, "breakpoints": breakpoints},
        maximum=function.maximum, mirror=function.mirror,
    )


def plan_exact(function: Function, params: Mapping[str, Any], in_fmt: Fmt, out_fmt: Fmt, *,
               rounding: str = "RND", overflow_mode: str = "SAT") -> Plan:
    """Plan an exact-family function, with the fewest coefficient bits that are correctly rounded.

    Raises
    ------
    ValueError
        If the function has no exact form, or no precision fits the 64-bit model.
    """
    if function.pieces is None:
        raise ValueError(f"{function.name} has no exact piecewise form")
    segments = _live_segments(function.pieces(params), in_fmt)
    degree = max(len(p.coeffs) for p, _, _ in segments) - 1

    operand_fmt = None
    if function.maximum:  # maxout: the operand competes with the output, so it is in that format
        operand_fmt = out_fmt
    elif function.operands == 2:
        spelled = params.get("slope_format")
        operand_fmt = Fmt.parse(spelled) if spelled else Fmt(1, in_fmt.width - 1)
    has_operand = any(c == OPERAND for p, _, _ in segments for c in p.coeffs)

    # Nearest rounding can reach 0.5 LSB; a truncating output stays below 1 LSB at best.
    target = 0.5 + TIE_TOLERANCE if rounding.startswith("RND") else 1.0 - TIE_TOLERANCE
    # A run-time operand fixes the precision of its column; otherwise search for the least.
    candidates = [operand_fmt.frac_bits] if has_operand else range(MAX_COEF_FRAC_BITS + 1)
    screened: list[tuple[float, int, Plan]] = []
    for coef_frac in candidates:
        plan = _build(function, params, segments, degree, coef_frac, in_fmt, out_fmt, operand_fmt, rounding, overflow_mode)
        if plan is None:
            break
        # Screen on a sample first; only a candidate that passes is measured in full.
        error = measure(plan, SCREEN_BITS).max_lsb
        if error <= target and measure(plan).max_lsb <= target:
            return plan
        screened.append((error, -coef_frac, plan))
    if not screened:
        raise ValueError(f"{function.name} at {in_fmt} -> {out_fmt} is too wide for an exact plan in 64-bit arithmetic")
    # None reached the target: the most precise of the best screened candidates.
    return min(screened, key=lambda item: item[:2])[2]

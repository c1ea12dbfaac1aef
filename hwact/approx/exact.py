"""The ``exact`` planner: piecewise polynomials with known real coefficients.

Each :class:`~hwact.functions.Piece` becomes one segment. Breakpoints move to the first input
code the piece covers, so every code is evaluated with the piece the real function uses
there. Coefficients that are not representable (1/6, 0.01, ...) are quantized with ``F``
fraction bits for the top-degree column (lower columns carry ``fi`` more bits per degree, so
the Horner steps need no intermediate rounding).

Quantizing a coefficient moves the polynomial off the real function, and where the real value
sits exactly on a rounding boundary (``x/6 + 1/2 = 8.5``, an integer under ``TRN``) the
slightest move decides the output. So per segment each inexact coefficient may be rounded
either way, and the constant term then shifted by the one amount that keeps the accumulator,
on every code, inside the integer interval that the rounding mode maps to the mode applied to
the real value (:func:`_mode_bounds`, computed through the model's own ``shift_round``). ``F``
is the smallest precision at which every segment has such a choice: the unit then equals the
output rounding mode applied to the real value on every input code, whatever the mode. Where no
precision up to the limit gets there, the plan falls back to the least ``F`` that is correctly
rounded (at most 0.5 LSB), and its manifest's ``mode_fraction`` says how far it is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ..fixed import Fmt, Overflow, round_real, shift_round
from ..functions import OPERAND, Piece
from ..measure import TIE_TOLERANCE, measure, reference, snap_ties
from ..plan import CoefTable, HornerStep, Method, OutputStage, Plan, SegmentSelect
from ..widths import model_overflow
from .request import PlanRequest

__all__ = ["plan_exact", "MAX_COEF_FRAC_BITS"]

#: The coefficient search gives up beyond this many fraction bits.
MAX_COEF_FRAC_BITS = 40
#: Input spaces larger than this are screened on a sample during the coefficient search.
SCREEN_BITS = 14
#: Inputs up to this many bits are steered to the rounding mode on every code (wider ones take
#: the correctly rounded search on a sample: every code of a 32-bit segment would not fit memory).
MODE_EXACT_BITS = 22


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


def _build(request: PlanRequest, segments, degree: int, coef_frac: int, operand_fmt: Fmt | None = None,
           offsets: Mapping[tuple[int, int], int] | None = None) -> Plan | None:
    """The plan for one choice of coefficient precision, or None if it could overflow int64.

    ``offsets`` moves coefficient ``(segment, power)`` by that many units from its nearest code.
    """
    function, in_fmt, out_fmt = request.function, request.in_fmt, request.out_fmt
    offsets = offsets or {}
    fi = in_fmt.frac_bits
    frac_bits = tuple(coef_frac + (degree - k) * fi for k in range(degree + 1))
    rows, operand, coefficients = [], [], []
    for s, (piece, _, _) in enumerate(segments):
        row = []
        for k in range(degree + 1):
            value = piece.coeffs[k] if k < len(piece.coeffs) else 0.0
            if value == OPERAND:
                operand.append((s, k))
                row.append(0)
                continue
            code = _quantize_coef(float(value), frac_bits[k]) + offsets.get((s, k), 0)
            row.append(code)
            if value != 0 or code != 0:
                coefficients.append({
                    "segment": s, "power": k, "requested": float(value),
                    "quantized": math.ldexp(code, -frac_bits[k]), "code": code,
                    "format": f"s{max(_min_signed_bits(code) - frac_bits[k], 1)}.{frac_bits[k]}",
                })
        rows.append(tuple(row))

    breakpoints = [{"requested": float(p.start), "closed": p.closed, "code": lo, "value": in_fmt.to_real(lo).item()}
                   for p, lo, _ in segments[1:]]
    plan = Plan(
        function=function.name, params=dict(request.params), method=Method.EXACT, in_fmt=in_fmt, out_fmt=out_fmt,
        operand_fmt=operand_fmt,
        select=SegmentSelect(tuple(lo for _, lo, _ in segments[1:])),
        table=CoefTable(tuple(rows), frac_bits, tuple(operand)),
        horner=tuple(HornerStep(0) for _ in range(degree)),
        output=OutputStage(frac_bits[0] - out_fmt.frac_bits, request.rounding, request.overflow),
        quantized={"coefficients": coefficients, "breakpoints": breakpoints},
        maximum=function.maximum, mirror=function.mirror,
    )
    # The Horner chain bounded over every segment's codes (and operand), so the int64 model is exact.
    return None if model_overflow(plan, traced=False) else plan


def plan_exact(request: PlanRequest) -> Plan:
    """Plan an exact-family function, with the fewest coefficient bits that are correctly rounded.

    Raises
    ------
    ValueError
        If the function has no exact form, or no precision fits the 64-bit model.
    """
    function, params, in_fmt, out_fmt = request.function, request.params, request.in_fmt, request.out_fmt
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

    # A run-time operand fixes its column's precision (and the reference needs the operand: an
    # unsigned PReLU has no slope segment at all, yet still takes one).
    if function.operands == 1 and not (function.maximum or function.mirror) and in_fmt.width <= MODE_EXACT_BITS:
        for coef_frac in range(MAX_COEF_FRAC_BITS + 1):
            plan = _mode_exact(request, segments, degree, coef_frac)
            if plan is not None:
                return plan
    # Nearest rounding can reach 0.5 LSB; a truncating output stays below 1 LSB at best.
    target = 0.5 + TIE_TOLERANCE if request.nearest else 1.0 - TIE_TOLERANCE
    # A run-time operand fixes the precision of its column; otherwise search for the least.
    candidates = [operand_fmt.frac_bits] if has_operand else range(MAX_COEF_FRAC_BITS + 1)
    screened: list[tuple[float, int, Plan]] = []
    for coef_frac in candidates:
        plan = _build(request, segments, degree, coef_frac, operand_fmt)
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


def _mode_bounds(target: np.ndarray, shift: int, rounding: str, low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
    """For each target output code, the inclusive accumulator range that ``shift_round`` maps onto it.

    Found by bisection on ``shift_round`` itself, so every mode's tie rule is the model's own.
    The ends at the format's limits are open: saturation maps everything beyond onto them.
    """
    def first_reaching(t: np.ndarray) -> np.ndarray:  # least acc with shift_round(acc) >= t
        lo, hi = (t - 1) << shift, (t + 1) << shift  # shift_round(lo) < t <= shift_round(hi)
        while np.any(hi - lo > 1):
            mid = (lo + hi) >> 1
            up = shift_round(mid, shift, rounding) >= t
            hi, lo = np.where(up, mid, hi), np.where(up, lo, mid)
        return hi

    big = np.int64(1) << 62
    lower = np.where(target <= low, -big, first_reaching(target))
    upper = np.where(target >= high, big, first_reaching(target + 1) - 1)
    return lower, upper


def _mode_exact(request: PlanRequest, segments, degree: int, coef_frac: int) -> Plan | None:
    """A plan at ``coef_frac`` that equals the rounding mode applied to the real value on every code.

    Per segment, every way of rounding its inexact coefficients down or up is tried; for each,
    the constant term's shift that keeps the accumulator within :func:`_mode_bounds` on all of
    the segment's codes is an interval, and the one nearest zero is taken. None if a segment
    has no such choice (or the plan would leave int64).
    """
    out_fmt, rounding, overflow_mode = request.out_fmt, request.rounding, request.overflow
    plan = _build(request, segments, degree, coef_frac)
    if plan is None or (overflow_mode == Overflow.WRAP and degree > 1):
        return None
    shift = plan.output.shift
    if shift < 0:  # the accumulator is coarser than the output: nothing to steer
        return None
    low = request.low
    offsets: dict[tuple[int, int], int] = {}
    for s, (piece, lo, hi) in enumerate(segments):
        x = np.arange(lo, hi + 1, dtype=np.int64)
        exact = snap_ties(reference(plan, x, wrap=False))
        target = round_real(exact, rounding).astype(np.int64)
        if overflow_mode == Overflow.WRAP:
            lower, upper = _mode_bounds(target, shift, rounding, np.iinfo(np.int64).min, np.iinfo(np.int64).max)
        else:
            target = np.clip(target, low, out_fmt.max_code)
            lower, upper = _mode_bounds(target, shift, rounding, low, out_fmt.max_code)
        nearest = np.asarray(plan.table.rows[s], dtype=np.int64)
        frac_bits = plan.table.frac_bits
        # Only coefficients the format cannot hold exactly may move.
        movable = [k for k in range(1, degree + 1)
                   if k < len(piece.coeffs) and math.ldexp(nearest[k], -frac_bits[k]) != float(piece.coeffs[k])]
        found = None
        for moves in _direction_moves(len(movable)):
            row = nearest.copy()
            for k, move in zip(movable, moves):
                row[k] += move
            acc = np.zeros_like(x)
            for k in range(degree, 0, -1):  # the exact Horner chain without the constant
                acc = (acc + row[k]) * x
            acc += row[0]
            need_lo, need_hi = int(np.max(lower - acc)), int(np.min(upper - acc))
            if need_lo <= need_hi:
                found = dict(zip(((s, k) for k in movable), moves)) | {(s, 0): min(max(0, need_lo), need_hi)}
                break
        if found is None:
            return None
        offsets.update(found)
    return _build(request, segments, degree, coef_frac, offsets=offsets)


def _direction_moves(count: int) -> list[tuple[int, ...]]:
    """Unit moves of ``count`` coefficients from their nearest codes, no move first."""
    import itertools

    return sorted(itertools.product((0, -1, 1), repeat=count), key=lambda moves: sum(map(abs, moves)))

"""Table-based planners for smooth functions: ``lut``, ``pwl`` and ``pwl2``.

All three produce the same plan primitives (clamp, fold, select, coefficient table, Horner,
unfold, output), so the model and the HDL need nothing per function. The steps:

1. **Saturation regions.** Where the correctly rounded output no longer changes towards either
   end of the input range, the input is clamped (:class:`~hwact.plan.Clamp`) and the table
   stops there.
2. **Symmetry.** A function with a fold (odd, ``1 - f``, ``f - x``) is tabulated for
   ``x >= 0`` only (:class:`~hwact.plan.Fold`).
3. **Segments.** Uniform: ``2**k``-code segments by bit slicing. Non-uniform: from left to
   right, each segment as long as its fit stays within a tolerance (so nearly polynomial
   stretches take one long segment), selected by comparators.
4. **Fit.** Per segment, a minimax polynomial in ``t = x - origin`` on the segment's codes, by
   Lawson's iteratively reweighted least squares, vectorized over segments of equal length.
5. **Quantize, then search.** Coefficients are rounded to integers with enough guard bits; then
   the constant and linear terms of every segment are nudged by a few units, keeping the choice
   that minimizes the *measured* error of the integer datapath over every code of the segment.

Errors here are in output LSBs; the target is the real function (float64), unclipped, so the
output stage's saturation does the clipping exactly as the hardware does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from ..fixed import Fmt, round_real
from ..functions import Function
from ..model import evaluate, segment_of
from ..plan import BitSlice, Clamp, CoefTable, Fold, HornerStep, OutputStage, Plan, SegmentSelect

__all__ = ["plan_table", "MAX_TABLE_INPUT_BITS"]

#: Table planners tabulate every input code; wider inputs would need sampled fitting.
MAX_TABLE_INPUT_BITS = 20
#: Points per segment used for fitting (all codes when the segment is shorter).
FIT_POINTS = 1024
LAWSON_ITERATIONS = 30


# -- the target -----------------------------------------------------------------------------


def _target(function: Function, params: Mapping[str, Any], in_fmt: Fmt, out_fmt: Fmt, codes: np.ndarray) -> np.ndarray:
    """The real function at ``codes`` in output LSB units (unclipped)."""
    return np.asarray(function.reference(in_fmt.to_real(codes), params), dtype=np.float64) / out_fmt.lsb


def _saturation_clamp(rounded: np.ndarray, codes: np.ndarray) -> tuple[int, int]:
    """The smallest ``[lo, hi]`` outside which the rounded output is constant."""
    changes_top = np.nonzero(rounded != rounded[-1])[0]
    hi = int(codes[changes_top[-1] + 1]) if changes_top.size else int(codes[0])
    changes_bottom = np.nonzero(rounded != rounded[0])[0]
    lo = int(codes[changes_bottom[0] - 1]) if changes_bottom.size else int(codes[-1])
    return min(lo, hi), max(lo, hi)


# -- fitting ----------------------------------------------------------------------------------


def _minimax(u: np.ndarray, values: np.ndarray, degree: int, tolerance: float | None = None,
             iterations: int = LAWSON_ITERATIONS) -> tuple[np.ndarray, np.ndarray]:
    """Polynomials fitted to rows of ``values`` sampled at ``u`` in [0, 1], by Lawson's algorithm.

    Iteratively reweighted least squares: the first iterate is the least-squares fit, and
    weights grow where the error is large, converging to the equioscillating (minimax) fit on
    the point set. Without ``tolerance`` the iterate with the smallest maximum error is kept;
    with it, the iterate with the smallest *mean* error among those within the tolerance (so
    more outputs round correctly), falling back to the smallest maximum.
    Returns ``(coefficients in powers of u, max error)`` per row.
    """
    vander = np.vander(u, degree + 1, increasing=True)  # (P, d+1)
    weights = np.full(values.shape, 1.0 / values.shape[1])
    rows = values.shape[0]
    best_coef = np.zeros((rows, degree + 1))
    best_max = np.full(rows, np.inf)
    best_mean = np.full(rows, np.inf)
    for _ in range(iterations):
        gram = np.einsum("pi,sp,pj->sij", vander, weights, vander)
        rhs = np.einsum("pi,sp,sp->si", vander, weights, values)
        coef = np.linalg.solve(gram, rhs[..., None])[..., 0]
        err = np.abs(coef @ vander.T - values)
        worst, mean = err.max(axis=1), err.mean(axis=1)
        if tolerance is None:
            better = worst < best_max
        else:
            fits, had_fit = worst <= tolerance, best_max <= tolerance
            better = np.where(fits, ~had_fit | (mean < best_mean), ~had_fit & (worst < best_max))
        best_coef[better], best_max[better], best_mean[better] = coef[better], worst[better], mean[better]
        weights = weights * (err + 1e-12 * (worst[:, None] + 1e-30))
        weights /= weights.sum(axis=1, keepdims=True)
    return best_coef, best_max


def _fit_blocks(starts: np.ndarray, length: int, domain_hi: int, target_of, degree: int,
                tolerance: float | None = None, points: int = FIT_POINTS, iterations: int = LAWSON_ITERATIONS):
    """Fit segments ``[start, start + length)`` (clipped to the domain); coefficients per code offset."""
    offsets = np.unique(np.linspace(0, length - 1, min(length, points)).round().astype(np.int64))
    codes = np.minimum(starts[:, None] + offsets[None, :], domain_hi)
    values = target_of(codes)
    scale = max(length - 1, 1)
    coef_u, err = _minimax(offsets / scale, values, degree, tolerance, iterations)
    coef_t = coef_u / scale ** np.arange(degree + 1)  # powers of u = t / scale -> powers of t
    return coef_t, err


def _uniform_segments(lo: int, hi: int, shift: int) -> np.ndarray:
    return np.arange(lo, hi + 1, 1 << shift, dtype=np.int64)


def _greedy_segments(lo: int, hi: int, degree: int, tolerance: float, target_of) -> list[tuple[int, int]]:
    """Segments ``(start, length)`` left to right, each as long as its fit stays within ``tolerance``.

    The fit error grows with the segment's length, so the longest acceptable length is found
    by binary search; nearly polynomial stretches (GELU's tails) become one segment.
    """
    segments: list[tuple[int, int]] = []
    start = lo
    while start <= hi:
        good, bad = 1, hi - start + 2  # length 1 always fits (a constant); bad is the first failing length
        if _fit_error(start, bad - 1, target_of, degree) <= tolerance:
            good = bad - 1
        else:
            while bad - good > 1:
                mid = (good + bad) // 2
                if _fit_error(start, mid, target_of, degree) <= tolerance:
                    good = mid
                else:
                    bad = mid
        segments.append((start, good))
        start += good
    return segments


def _fit_error(start: int, length: int, target_of, degree: int) -> float:
    """Max error of a quick fit (fewer points and iterations than the final one).

    A fit that turns back where the function does not (a parabola with its vertex inside a
    nearly flat stretch) counts as failing: its outputs would step against the function.
    """
    coef_t, err = _fit_blocks(np.array([start], dtype=np.int64), length, start + length - 1, target_of, degree,
                              points=256, iterations=12)
    if degree >= 2 and length > 2:
        ends = np.array([0.0, length - 1.0])
        slope = coef_t[0, 1] + 2 * coef_t[0, 2] * ends  # p'(t) at both ends (linear for a quadratic)
        rise = np.diff(target_of(np.array([start, start + length // 2, start + length - 1])))
        if np.all(rise >= 0) and slope.min() < 0 or np.all(rise <= 0) and slope.max() > 0:
            return float("inf")
    return float(err[0])


# -- quantization and the plan ----------------------------------------------------------------


def _quantize(coef_t: np.ndarray, scales: list[int]) -> np.ndarray:
    return np.round(coef_t * np.exp2(scales)).astype(np.int64)


def _scales(degree: int, shift_bits: int, guard: int) -> list[int]:
    """Fraction bits (beyond the output LSB) of each coefficient column, constant term first.

    The top term ``c_d * t**d`` with ``t < 2**shift_bits`` must carry ``guard`` bits below the
    output LSB, so ``c_d`` needs ``d * shift_bits`` more. The lower coefficients get as many,
    so every Horner step but the last is exact: one truncation of a polynomial that is
    monotone on its segment keeps the outputs monotone (truncating inside the Horner chain
    would let the accumulator jitter by a unit and flip roundings backwards).
    """
    return [guard] + [guard + degree * shift_bits] * degree


def _build(function, params, method, in_fmt, out_fmt, rounding, overflow_mode, clamp, fold,
           select, rows, scales, degree) -> Plan:
    steps = tuple(HornerStep(scales[k + 1] - scales[k], "TRN") for k in range(degree - 1, -1, -1))
    return Plan(
        function=function.name, params=dict(params), method=method, in_fmt=in_fmt, out_fmt=out_fmt,
        select=select, table=CoefTable(tuple(tuple(int(c) for c in row) for row in rows),
                                       tuple(out_fmt.frac_bits + s for s in scales)),
        horner=steps, output=OutputStage(scales[0], rounding, overflow_mode), clamp=clamp, fold=fold,
    )


def _fold_for(function: Function, in_fmt: Fmt, out_fmt: Fmt, guard: int) -> Fold | None:
    if function.symmetry is None or not in_fmt.signed:
        return None
    if function.symmetry == "complement":
        return Fold("complement", 1 << (out_fmt.frac_bits + guard))
    if function.symmetry == "minus_x":
        shift = out_fmt.frac_bits - in_fmt.frac_bits + guard
        return Fold("minus_x", shift) if shift >= 0 else None
    return Fold("odd")


def _search(plan: Plan, target_codes: np.ndarray, target: np.ndarray, radius: int) -> Plan:
    """Nudge each segment's c0 (and c1) to minimize its measured error.

    Per segment: the fewest steps against the real function between adjacent codes, then the
    smallest maximum error, then the smallest mean error.
    """
    rows = np.asarray(plan.table.rows, dtype=np.int64)
    folded = target_codes
    if plan.clamp is not None:
        folded = np.clip(folded, plan.clamp.lo, plan.clamp.hi)
    if plan.fold is not None:
        folded = np.abs(folded)
    segment = segment_of(plan, folded)[0]
    n_seg = rows.shape[0]
    linear = [0] if rows.shape[1] == 1 else [-1, 0, 1]
    best_score = np.full(n_seg, np.inf)
    best_rows = rows.copy()
    for d1 in linear:
        for d0 in range(-radius, radius + 1):
            trial = rows.copy()
            trial[:, 0] += d0
            if rows.shape[1] > 1:
                trial[:, 1] += d1
            candidate = replace(plan, table=replace(plan.table, rows=tuple(map(tuple, trial.tolist()))))
            output = evaluate(candidate, target_codes)
            err = np.abs(output - target)
            worst = np.zeros(n_seg)
            np.maximum.at(worst, segment, err)
            total = np.bincount(segment, weights=err, minlength=n_seg)
            count = np.maximum(np.bincount(segment, minlength=n_seg), 1)
            # A step against the real function (codes are sorted) is charged to the later code's segment.
            against = (np.diff(output) * np.diff(target) < 0).astype(np.float64)
            backwards = np.bincount(segment[1:], weights=against, minlength=n_seg)
            score = worst + 1e-3 * total / count + backwards
            better = score < best_score
            best_score = np.where(better, score, best_score)
            best_rows[better] = trial[better]
    return replace(plan, table=replace(plan.table, rows=tuple(map(tuple, best_rows.tolist()))))


def plan_table(function: Function, params: Mapping[str, Any], in_fmt: Fmt, out_fmt: Fmt, *, method: str,
               rounding: str = "RND", overflow_mode: str = "SAT", shift: int | None = None,
               tolerance: float | None = None, guard: int = 4, search_radius: int = 2) -> Plan:
    """Plan a table-based unit.

    Parameters
    ----------
    method
        ``"lut"`` (one entry per code), ``"pwl"`` (degree 1) or ``"pwl2"`` (degree 2).
    shift
        Uniform segments of ``2**shift`` codes (bit slicing).
    tolerance
        Non-uniform segments: fit tolerance in output LSBs (mutually exclusive with ``shift``).
    guard
        Fraction bits kept below the output LSB in the accumulator.
    """
    if in_fmt.width > MAX_TABLE_INPUT_BITS:
        raise ValueError(f"table methods take inputs up to {MAX_TABLE_INPUT_BITS} bits, not {in_fmt.width} ({in_fmt})")
    codes = in_fmt.all_codes()
    exact = _target(function, params, in_fmt, out_fmt, codes)
    if not np.all(np.isfinite(exact)):
        raise ValueError(f"{function.name} is not finite everywhere on {in_fmt}")
    low = out_fmt.min_code if overflow_mode != "SAT_SYM" or not out_fmt.signed else -out_fmt.max_code
    # The plan's own rounding decides where the output stops changing (a tie at the edge counts).
    rounded = np.clip(round_real(exact, rounding), low, out_fmt.max_code)
    lo, hi = _saturation_clamp(rounded, codes) if overflow_mode != "WRAP" else (int(codes[0]), int(codes[-1]))
    clamp = None if (lo, hi) == (in_fmt.min_code, in_fmt.max_code) else Clamp(lo, hi)

    if method == "lut":
        degree, guard = 0, 0
        fold = _fold_for(function, in_fmt, out_fmt, 0)
    else:
        degree = {"pwl": 1, "pwl2": 2}[method]
        fold = _fold_for(function, in_fmt, out_fmt, guard)
    d_lo, d_hi = (0, max(-lo, hi, 0)) if fold else (lo, hi)
    if fold and lo > 0:
        fold = None
        d_lo, d_hi = lo, hi

    def target_of(c):
        return _target(function, params, in_fmt, out_fmt, c)

    if method == "lut":
        starts = np.arange(d_lo, d_hi + 1, dtype=np.int64)
        rows = round_real(target_of(starts), rounding).astype(np.int64)[:, None]
        select = BitSlice(d_lo, 0, len(starts))
        plan = _build(function, params, method, in_fmt, out_fmt, rounding, overflow_mode, clamp, fold,
                      select, rows, [0], 0)
        return plan

    if (shift is None) == (tolerance is None):
        raise ValueError("give exactly one of shift (uniform) and tolerance (non-uniform)")
    if shift is not None:
        starts = _uniform_segments(d_lo, d_hi, shift)
        coef_t, _ = _fit_blocks(starts, 1 << shift, d_hi, target_of, degree)
        select = BitSlice(d_lo, shift, len(starts))
        widest = shift
    else:
        blocks = _greedy_segments(d_lo, d_hi, degree, tolerance, target_of)
        starts = np.array([start for start, _ in blocks], dtype=np.int64)
        coef_t = np.concatenate([_fit_blocks(starts[i:i + 1], length, start + length - 1, target_of, degree,
                                             tolerance)[0]
                                 for i, (start, length) in enumerate(blocks)])
        select = SegmentSelect(tuple(int(s) for s in starts[1:]), tuple(int(s) for s in starts))
        widest = max(max(length - 1, 1).bit_length() for _, length in blocks)

    scales = _scales(degree, widest, guard)
    rows = _quantize(coef_t, scales)
    plan = _build(function, params, method, in_fmt, out_fmt, rounding, overflow_mode, clamp, fold,
                  select, rows, scales, degree)
    if search_radius:
        plan = _search(plan, codes, np.clip(exact, low, out_fmt.max_code), search_radius)
    return plan

"""Table-based planners for smooth functions: ``lut``, ``pwl`` and ``pwl2``.

All three produce the same plan primitives (clamp, fold, select, coefficient table, Horner,
unfold, output), so the model and the HDL need nothing per function. The steps:

1. **Saturation regions.** Where the correctly rounded output no longer changes towards either
   end of the input range, the input is clamped (:class:`~hwact.plan.Clamp`) and the table
   stops there.
2. **Symmetry.** A function with a fold (odd, ``1 - f``, ``f - x``) is tabulated for
   ``x >= 0`` only (:class:`~hwact.plan.Fold`).
3. **Segments.** ``uniform``: ``2**k``-code segments by bit slicing. ``nonuniform``: aligned
   power-of-two blocks, split in half only where the fit misses its tolerance (so nearly linear
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
from ..model import evaluate, offset_bits, segment_of
from ..plan import BitSlice, Clamp, CoefTable, Fold, HornerStep, OutputStage, Plan, SegmentSelect

__all__ = ["plan_table", "table_cost", "MAX_TABLE_INPUT_BITS"]

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


def _minimax(u: np.ndarray, values: np.ndarray, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Minimax polynomials (Lawson's algorithm) for rows of ``values`` sampled at ``u`` in [0, 1].

    Returns ``(coefficients, max_error)`` with coefficients ``(segments, degree + 1)`` in powers of
    ``u``. Iteratively reweighted least squares: weights grow where the error is large, which
    converges to the equioscillating (minimax) fit on the discrete point set.
    """
    vander = np.vander(u, degree + 1, increasing=True)  # (P, d+1)
    weights = np.full(values.shape, 1.0 / values.shape[1])
    best_coef, best_err = None, None
    for _ in range(LAWSON_ITERATIONS):
        gram = np.einsum("pi,sp,pj->sij", vander, weights, vander)
        rhs = np.einsum("pi,sp,sp->si", vander, weights, values)
        coef = np.linalg.solve(gram, rhs[..., None])[..., 0]
        err = np.abs(coef @ vander.T - values)
        worst = err.max(axis=1)
        if best_coef is None:
            best_coef, best_err = coef, worst
        else:
            better = worst < best_err
            best_coef = np.where(better[:, None], coef, best_coef)
            best_err = np.minimum(worst, best_err)
        weights = weights * (err + 1e-12 * (worst[:, None] + 1e-30))
        weights /= weights.sum(axis=1, keepdims=True)
    return best_coef, best_err


def _fit_blocks(starts: np.ndarray, length: int, domain_hi: int, target_of, degree: int):
    """Fit segments ``[start, start + length)`` (clipped to the domain); coefficients per code offset."""
    points = np.unique(np.linspace(0, length - 1, min(length, FIT_POINTS)).round().astype(np.int64))
    codes = np.minimum(starts[:, None] + points[None, :], domain_hi)
    values = target_of(codes)
    scale = max(length - 1, 1)
    coef_u, err = _minimax(points / scale, values, degree)
    coef_t = coef_u / scale ** np.arange(degree + 1)  # powers of u = t / scale -> powers of t
    return coef_t, err


def _uniform_segments(lo: int, hi: int, shift: int) -> np.ndarray:
    return np.arange(lo, hi + 1, 1 << shift, dtype=np.int64)


def _split_segments(lo: int, hi: int, degree: int, tolerance: float, target_of, max_shift: int):
    """Power-of-two aligned blocks, halved until each fits within ``tolerance`` LSB."""
    span = hi - lo + 1
    shift = min(max(span - 1, 1).bit_length(), max_shift)
    pending = _uniform_segments(lo, hi, shift)
    done: list[tuple[int, int]] = []
    while pending.size:
        _, err = _fit_blocks(pending, 1 << shift, hi, target_of, degree)
        ok = (err <= tolerance) | (shift == 0)
        done += [(int(s), shift) for s in pending[ok]]
        halves = pending[~ok]
        shift -= 1
        pending = np.sort(np.concatenate([halves, halves + (1 << shift)])) if shift >= 0 else halves[:0]
        pending = pending[pending <= hi]
    return sorted(done)


# -- quantization and the plan ----------------------------------------------------------------


def _quantize(coef_t: np.ndarray, scales: list[int]) -> np.ndarray:
    return np.round(coef_t * np.exp2(scales)).astype(np.int64)


def _scales(degree: int, shift_bits: int, guard: int) -> list[int]:
    """Fraction bits (beyond the output LSB) of each coefficient column, constant term first.

    The term ``c_k * t**k`` with ``t < 2**shift_bits`` must carry ``guard`` bits below the
    output LSB at its largest, so ``c_k`` needs ``k * shift_bits`` more.
    """
    return [guard + k * shift_bits for k in range(degree + 1)]


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
    """Nudge each segment's c0 (and c1) to minimize its measured max error (then mean error)."""
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
            err = np.abs(evaluate(candidate, target_codes) - target)
            worst = np.zeros(n_seg)
            np.maximum.at(worst, segment, err)
            total = np.bincount(segment, weights=err, minlength=n_seg)
            count = np.maximum(np.bincount(segment, minlength=n_seg), 1)
            score = worst + 1e-3 * total / count
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
    rounded = np.clip(round_real(exact, "RND_CONV"), low, out_fmt.max_code)
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
        blocks = _split_segments(d_lo, d_hi, degree, tolerance, target_of, max_shift=in_fmt.width)
        starts = np.array([s for s, _ in blocks], dtype=np.int64)
        coef_t = np.zeros((len(blocks), degree + 1))
        for block_shift in sorted({b for _, b in blocks}):
            mine = np.array([b == block_shift for _, b in blocks])
            coef_t[mine], _ = _fit_blocks(starts[mine], 1 << block_shift, d_hi, target_of, degree)
        select = SegmentSelect(tuple(int(s) for s in starts[1:]), tuple(int(s) for s in starts))
        widest = max(b for _, b in blocks)

    scales = _scales(degree, widest, guard)
    rows = _quantize(coef_t, scales)
    plan = _build(function, params, method, in_fmt, out_fmt, rounding, overflow_mode, clamp, fold,
                  select, rows, scales, degree)
    if search_radius:
        plan = _search(plan, codes, np.clip(exact, low, out_fmt.max_code), search_radius)
    return plan


def table_cost(plan: Plan) -> dict[str, Any]:
    """What a plan costs in hardware: table bits, segments, multiplier operand widths."""
    def signed_bits(values) -> int:
        return max(max(int(v).bit_length() + 1, (~int(v)).bit_length() + 1) for v in values)

    rows = plan.table.rows
    columns = [[row[k] for row in rows] for k in range(plan.table.degree + 1)]
    varying = [c for c in columns if len(set(c)) > 1]
    table_bits = len(rows) * sum(signed_bits(c) for c in varying)
    origins = getattr(plan.select, "origins", None)
    if origins is not None and len(set(origins)) > 1:
        table_bits += len(rows) * signed_bits(origins)
    t_bits = offset_bits(plan) or plan.in_fmt.width
    comparators = 0 if isinstance(plan.select, BitSlice) else len(plan.select.thresholds)
    multipliers = []
    acc_bits = signed_bits(columns[-1]) if columns else 0
    for k in range(plan.table.degree - 1, -1, -1):
        multipliers.append([acc_bits, t_bits])
        acc_bits = max(acc_bits + t_bits - plan.horner[plan.table.degree - 1 - k].shift, signed_bits(columns[k])) + 1
    # The figure of merit auto minimizes: ROM bits, plus a multiplier's partial-product bits,
    # plus a comparator per threshold (one LUT per input bit).
    cost = table_bits + sum(a * b for a, b in multipliers) + comparators * plan.in_fmt.width
    return {"table_bits": table_bits, "segments": len(rows), "comparators": comparators,
            "multipliers": multipliers, "cost": cost}

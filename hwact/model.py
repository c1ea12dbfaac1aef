"""The golden model: a :class:`~hwact.plan.Plan` evaluated on NumPy arrays of integer codes.

Vectorized end to end (no Python loop over codes); the arithmetic is that of
:mod:`hwact.fixed`, which the HDL and C backends mirror primitive by primitive.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt

from .fixed import IntArray, overflow, shift_round
from .plan import BitSlice, Fold, FoldKind, Plan

__all__ = ["evaluate", "segment_of", "row_of", "check_codes", "unfold", "reach", "offset_bits"]


def check_codes(codes: npt.ArrayLike, fmt, what: str) -> IntArray:
    """Return ``codes`` as int64, or raise if any is not an integer or lies outside ``fmt``."""
    given = np.asarray(codes)
    if given.dtype.kind not in "iub":  # floats would be truncated silently by the conversion
        if given.dtype.kind != "f" or not np.all(np.isfinite(given)) or np.any(given != np.floor(given)):
            bad = given.ravel()[0] if given.dtype.kind != "f" else \
                given.ravel()[~(np.isfinite(given.ravel()) & (given.ravel() == np.floor(given.ravel())))][0]
            raise ValueError(f"{what} codes must be integers (a code is a value's integer representation), "
                             f"not {bad.item()!r}")
    array = given.astype(np.int64)
    if array.size and (array.min() < fmt.min_code or array.max() > fmt.max_code):
        raise ValueError(f"{what} codes must lie in {fmt.min_code}..{fmt.max_code} for format {fmt}")
    return array


def segment_of(plan: Plan, x: IntArray) -> tuple[IntArray, IntArray]:
    """Segment index and polynomial variable ``t`` of every (clamped, folded) code."""
    select = plan.select
    if isinstance(select, BitSlice):
        offset = x - select.base
        return offset >> select.shift, offset & ((1 << select.shift) - 1)
    thresholds = np.asarray(select.thresholds, dtype=np.int64)
    segment = np.searchsorted(thresholds, x, side="right").astype(np.int64)
    if select.origins is None:
        return segment, x
    return segment, x - np.asarray(select.origins, dtype=np.int64)[segment]


def row_of(plan: Plan, x: IntArray) -> IntArray:
    """The table row each input code reads (after the clamp and the fold)."""
    if plan.clamp is not None:
        x = np.clip(x, plan.clamp.lo, plan.clamp.hi)
    if plan.fold is not None:
        x = np.abs(x)
    return segment_of(plan, x)[0]


def evaluate(plan: Plan, x: npt.ArrayLike, operand: npt.ArrayLike | None = None) -> IntArray:
    """Compute the output codes of ``plan`` for input codes ``x`` (and operand codes).

    Parameters
    ----------
    plan
        The datapath to evaluate.
    x
        Input codes (values, not raw bits) of ``plan.in_fmt``.
    operand
        Second-operand codes of ``plan.operand_fmt``, broadcast against ``x``; required
        exactly when the plan has a run-time operand.

    A mirror plan (CReLU) returns one more axis, of length 2: the outputs at ``x`` and ``-x``.
    """
    x = check_codes(x, plan.in_fmt, "input")
    if plan.mirror:  # two outputs: at x and at -x (saturated into the input format)
        single = replace(plan, mirror=False)
        negated = overflow(-x, plan.in_fmt, "SAT")
        return np.stack([evaluate(single, x, operand), evaluate(single, negated, operand)], axis=-1)
    if (operand is None) != (plan.operand_fmt is None):
        raise ValueError(f"{plan.function} takes {plan.operands} operand(s)")
    if operand is not None:
        operand = check_codes(operand, plan.operand_fmt, "operand")
        x, operand = np.broadcast_arrays(x, operand)

    if plan.clamp is not None:
        x = np.clip(x, plan.clamp.lo, plan.clamp.hi)
    if plan.fold is not None:
        negative = x < 0
        x = np.abs(x)
    segment, t = segment_of(plan, x)
    rows = np.asarray(plan.table.rows, dtype=np.int64)
    coef = rows[segment]  # shape (..., degree + 1)
    for seg, k in plan.table.operand:
        coef[..., k] = np.where(segment == seg, operand, coef[..., k])

    degree = plan.table.degree
    acc = coef[..., degree]
    for step, k in zip(plan.horner, range(degree - 1, -1, -1)):
        acc = shift_round(acc * t, step.shift, step.rounding) + coef[..., k]
    if plan.fold is not None:
        acc = np.where(negative, unfold(plan.fold, acc, x), acc)
    if plan.product is not None:
        factor_plan = plan.product.factor_plan
        acc = acc * (operand if factor_plan is None else evaluate(factor_plan, operand))
    out = plan.output
    if out.shift < 0 and out.overflow != "WRAP":
        # A left shift could leave int64; every value this far out saturates the same way anyway.
        fmt = plan.out_fmt
        acc = np.clip(acc, (fmt.min_code >> -out.shift) - 1, (fmt.max_code >> -out.shift) + 1)
    y = overflow(shift_round(acc, out.shift, out.rounding), plan.out_fmt, out.overflow)
    return np.maximum(y, operand) if plan.maximum else y


def unfold(fold: Fold, acc: IntArray, magnitude: IntArray) -> IntArray:
    """The accumulator for ``-|x|`` from the one for ``|x|`` (the Fold primitive's second half)."""
    if fold.kind == FoldKind.ODD:
        return -acc
    if fold.kind == FoldKind.COMPLEMENT:
        return fold.constant - acc
    return acc - (magnitude << fold.constant)


def reach(plan: Plan) -> tuple[int, int]:
    """The range of codes the segment select sees (after the clamp and the fold)."""
    lo, hi = plan.in_fmt.min_code, plan.in_fmt.max_code
    if plan.clamp is not None:
        lo, hi = plan.clamp.lo, plan.clamp.hi
    if plan.fold is not None:
        lo, hi = (0, max(abs(lo), abs(hi))) if lo < 0 else (lo, hi)
    return lo, hi


def offset_bits(plan: Plan) -> int | None:
    """Bits of the non-negative offset ``t = x - origin`` (None when the variable is ``x``)."""
    select = plan.select
    if isinstance(select, BitSlice):
        return select.shift
    if select.origins is None:
        return None
    ends = [*select.thresholds, reach(plan)[1] + 1]
    return max(max(end - origin - 1 for origin, end in zip(select.origins, ends)).bit_length(), 1)

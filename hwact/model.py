"""The golden model: a :class:`~hwact.plan.Plan` evaluated on NumPy arrays of integer codes.

Vectorized end to end (no Python loop over codes); the arithmetic is that of
:mod:`hwact.fixed`, which the HDL and C backends mirror primitive by primitive.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .fixed import IntArray, overflow, shift_round
from .plan import Plan

__all__ = ["evaluate", "segment_of", "check_codes"]


def check_codes(codes: npt.ArrayLike, fmt, what: str) -> IntArray:
    """Return ``codes`` as int64, or raise if any lies outside ``fmt``."""
    array = np.asarray(codes, dtype=np.int64)
    if array.size and (array.min() < fmt.min_code or array.max() > fmt.max_code):
        raise ValueError(f"{what} codes must lie in {fmt.min_code}..{fmt.max_code} for format {fmt}")
    return array


def segment_of(plan: Plan, x: IntArray) -> IntArray:
    """Segment index of every input code (the SegmentSelect primitive)."""
    thresholds = np.asarray(plan.select.thresholds, dtype=np.int64)
    return np.searchsorted(thresholds, x, side="right").astype(np.int64)


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
    """
    x = check_codes(x, plan.in_fmt, "input")
    if (operand is None) != (plan.operand_fmt is None):
        raise ValueError(f"{plan.function} takes {plan.operands} operand(s)")
    if operand is not None:
        operand = check_codes(operand, plan.operand_fmt, "operand")
        x, operand = np.broadcast_arrays(x, operand)

    segment = segment_of(plan, x)
    rows = np.asarray(plan.table.rows, dtype=np.int64)
    coef = rows[segment]  # shape (..., degree + 1)
    for seg, k in plan.table.operand:
        coef[..., k] = np.where(segment == seg, operand, coef[..., k])

    degree = plan.table.degree
    acc = coef[..., degree]
    for step, k in zip(plan.horner, range(degree - 1, -1, -1)):
        acc = shift_round(acc * x, step.shift, step.rounding) + coef[..., k]
    out = plan.output
    return overflow(shift_round(acc, out.shift, out.rounding), plan.out_fmt, out.overflow)

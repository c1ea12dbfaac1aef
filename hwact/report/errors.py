"""The error statistics a report shows, from the measurement core's points (NumPy only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..fixed import IntArray
from ..measure import (
    EXHAUSTIVE_LIMIT_BITS,
    REPORT_LIMIT_BITS,
    TIE_TOLERANCE,
    input_grid,
    reference,
    segment_edges,
)
from ..model import evaluate
from ..plan import Plan

__all__ = ["WORST_COUNT", "ErrorSamples", "samples", "statistics"]

#: How many of the worst inputs a report lists.
WORST_COUNT = 10


@dataclass(frozen=True)
class ErrorSamples:
    """Every measured point of a plan, flattened: what a report's statistics and plots are made of.

    ``y`` and ``f`` are in output LSB units (``f`` the real function saturated or wrapped as in
    :func:`hwact.measure.reference`), ``err = y - f`` (for ``WRAP``, the distance on the circle
    of codes). Two-operand units have one entry per ``(x, operand)`` pair; mirror plans one per
    output (``output`` 0 at ``x``, 1 at ``-x``).
    """

    x: IntArray
    operand: IntArray | None
    output: IntArray
    y: np.ndarray
    f: np.ndarray
    err: np.ndarray
    exhaustive: bool
    monotonic: bool


def samples(plan: Plan, limit_bits: int | None = None) -> ErrorSamples:
    """The points :func:`hwact.measure.report` measures, flattened, with the monotonicity verdict."""
    if limit_bits is None:
        limit_bits = REPORT_LIMIT_BITS if plan.operand_fmt is None else EXHAUSTIVE_LIMIT_BITS
    x, operand, exhaustive = input_grid(plan, limit_bits)
    y = evaluate(plan, x, operand).astype(np.float64)
    f = reference(plan, x, operand)
    real = f if plan.output.overflow != "WRAP" else reference(plan, x, operand, wrap=False)
    output = np.zeros(np.shape(x), dtype=np.int64)
    if plan.mirror:  # outputs on the last axis: at x and at -x
        x = np.stack([x, x], axis=-1)
        operand = None if operand is None else np.stack([operand, operand], axis=-1)
        output = np.stack([output, output + 1], axis=-1)
    err = y - f
    n = plan.out_fmt.n_codes
    if plan.output.overflow == "WRAP":
        err = np.mod(err + n / 2, n) - n / 2
    # Monotonic: adjacent outputs along the input never step against the real function.
    along = (lambda a: np.moveaxis(a, -1, 0)) if plan.mirror else (lambda a: a)
    e, r = along(err), along(real)
    monotonic = bool(np.all(np.diff(r + e, axis=-1) * np.diff(r, axis=-1) >= 0))
    return ErrorSamples(x=np.ravel(x), operand=None if operand is None else np.ravel(operand),
                        output=np.ravel(output), y=np.ravel(y), f=np.ravel(f), err=np.ravel(err),
                        exhaustive=exhaustive, monotonic=monotonic)


def statistics(plan: Plan, points: ErrorSamples, worst: int = WORST_COUNT) -> dict[str, Any]:
    """Max, mean (bias), RMS in LSB and absolute, correctly rounded share, monotonicity, worst inputs."""
    err, lsb = points.err, plan.out_fmt.lsb
    abs_err = np.abs(err)
    max_lsb = float(abs_err.max())
    order = np.argsort(-abs_err, kind="stable")[:worst]
    in_fmt = plan.in_fmt

    def row(i: int) -> dict[str, Any]:
        entry = {"x_code": int(points.x[i]), "x": float(in_fmt.to_real(points.x[i])),
                 "y_code": int(points.y[i]), "y": float(plan.out_fmt.to_real(points.y[i])),
                 "f": float(plan.out_fmt.to_real(points.f[i])),
                 "err_lsb": float(err[i])}
        if points.operand is not None:
            entry["operand_code"] = int(points.operand[i])
        if plan.mirror:
            entry["output"] = int(points.output[i])
        return entry

    over = abs_err > 0.5 + TIE_TOLERANCE
    return {
        "vectors": int(err.size),
        "exhaustive": points.exhaustive,
        "max_lsb": max_lsb,
        "mean_lsb": float(err.mean()),
        "mean_abs_lsb": float(abs_err.mean()),
        "rms_lsb": float(np.sqrt(np.mean(err * err))),
        "max_abs": max_lsb * lsb,
        "mean_abs": float(abs_err.mean()) * lsb,
        "bias_abs": float(err.mean()) * lsb,
        "rms_abs": float(np.sqrt(np.mean(err * err))) * lsb,
        "lsb": lsb,
        "correctly_rounded_fraction": float(np.mean(~over)),
        "faithful_fraction": float(np.mean(abs_err < 1 - TIE_TOLERANCE)),
        "monotonic": points.monotonic,
        "segment_edges": sorted({int(e) for e in segment_edges(plan, limit=4096)
                                    if in_fmt.min_code <= e <= in_fmt.max_code}),
        "worst": [row(int(i)) for i in order],
    }

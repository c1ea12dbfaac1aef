"""The measurement core: a plan's error against the real function, in output LSBs.

Planners, the manifest and ``hwact report`` all measure through this module, which needs only
NumPy (presentation, plots and synthesis live in :mod:`hwact.report`).

``err_lsb(x) = (y_hw(x) - f(x)) / 2**-frac_out`` with ``f`` evaluated in float64 and brought
into the output format's range the way the unit's overflow mode promises: saturated for
``SAT``/``SAT_SYM`` (no unit can do better than the format's limits, so that is the fair
target), and taken modulo ``2**width`` for ``WRAP``.

Planners search with :func:`measure`: every input code when the input space has at most
2**20 points, else a fixed, seeded sample with every segment edge. The figure a plan is
accepted on and that its manifest states comes from :func:`report`, which takes every code
of one-operand inputs up to 24 bits (a sample can miss a segment's worst code).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .fixed import IntArray, unique_codes
from .functions import get
from .model import evaluate
from .plan import BitSlice, Plan

__all__ = ["ErrorStats", "input_grid", "measure", "reference", "report", "segment_edges", "EXHAUSTIVE_LIMIT_BITS",
           "REPORT_LIMIT_BITS", "TIE_TOLERANCE", "OPERAND_SAMPLES"]

#: Input spaces up to this many bits are measured on every code (searches).
EXHAUSTIVE_LIMIT_BITS = 20
#: One-operand inputs up to this many bits are reported on every code (2**24 codes take seconds).
REPORT_LIMIT_BITS = 24
#: Float64 slack when deciding whether an output is within half an LSB of the real value.
TIE_TOLERANCE = 1e-9
#: Operand values sampled for two-operand units whose input space is too large to cover.
OPERAND_SAMPLES = 64


@dataclass(frozen=True)
class ErrorStats:
    """What a report says about a unit's accuracy (all errors in output LSBs)."""

    max_lsb: float
    mean_lsb: float
    rms_lsb: float
    correctly_rounded_fraction: float
    monotonic: bool
    max_abs: float
    vectors: int
    exhaustive: bool

    def to_dict(self) -> dict:
        return asdict(self)


def _sample(fmt, must: IntArray, count: int, seed: int) -> IntArray:
    rng = np.random.default_rng(seed)
    random = rng.integers(fmt.min_code, fmt.max_code, size=count, endpoint=True)
    edges = np.array([fmt.min_code, fmt.min_code + 1, -1, 0, 1, fmt.max_code - 1, fmt.max_code], dtype=np.int64)
    codes = np.concatenate([random, edges, must])
    return unique_codes(np.clip(codes, fmt.min_code, fmt.max_code))


def segment_edges(plan: Plan, limit: int = 1 << 16) -> list[int]:
    """Input codes where a segment starts (both signs when folded; at most ``limit`` of them)."""
    select = plan.select
    if isinstance(select, BitSlice):
        starts = [select.base + (i << select.shift) for i in range(min(select.segments, limit))]
    else:
        starts = list(select.thresholds)
    if plan.clamp is not None:
        starts += [plan.clamp.lo, plan.clamp.hi + 1]
    if plan.fold is not None:
        starts += [-s for s in starts]
    return starts


def input_grid(plan: Plan, limit_bits: int = EXHAUSTIVE_LIMIT_BITS) -> tuple[IntArray, IntArray | None, bool]:
    """Input codes to measure on: ``(x, operand or None, exhaustive)``.

    Every code when the input space has at most ``limit_bits`` bits, else about
    ``2**limit_bits`` seeded random codes plus the extremes and every segment edge.

    For two-operand units ``x`` and ``operand`` are 2-D, one row per operand value, so that
    monotonicity is judged along ``x``.
    """
    near_edges = np.asarray([t + d for t in segment_edges(plan) for d in (-2, -1, 0, 1)], dtype=np.int64)
    in_bits = plan.in_fmt.width
    if plan.operand_fmt is None:
        if in_bits <= limit_bits:
            return plan.in_fmt.all_codes(), None, True
        return _sample(plan.in_fmt, near_edges, 1 << limit_bits, seed=1), None, False
    # Two operands: unless every pair fits, each x is crossed with OPERAND_SAMPLES operands, so x
    # takes every code up to limit_bits - 4 bits and beyond that a sample of 2**(limit_bits - 6)
    # codes (the pairs, and the memory they take, stay bounded).
    total, x_bits = in_bits + plan.operand_fmt.width, limit_bits - 4
    if total <= limit_bits:
        x, a = plan.in_fmt.all_codes(), plan.operand_fmt.all_codes()
    else:
        x = (plan.in_fmt.all_codes() if in_bits <= x_bits
             else _sample(plan.in_fmt, near_edges, 1 << (limit_bits - 6), seed=1))
        a = _sample(plan.operand_fmt, np.zeros(0, dtype=np.int64), OPERAND_SAMPLES, seed=2)
    xx, aa = np.meshgrid(x, a)
    return xx, aa, total <= limit_bits


def reference(plan: Plan, x: IntArray, operand: IntArray | None = None, wrap: bool = True) -> np.ndarray:
    """The real function at the inputs, in output LSB units, saturated to the output range."""
    function = get(plan.function)
    x_real = plan.in_fmt.to_real(x)
    if operand is None:
        f = function.reference(x_real, plan.params)
    else:
        f = function.reference(x_real, plan.params, plan.operand_fmt.to_real(operand))
    out = plan.out_fmt
    scaled = np.asarray(f, dtype=np.float64) / out.lsb
    if plan.output.overflow == "WRAP":  # what wrapping hardware promises: f modulo the range
        if not wrap:
            return scaled
        return np.mod(scaled - out.min_code, out.n_codes) + out.min_code
    low = out.min_code if plan.output.overflow != "SAT_SYM" or not out.signed else -out.max_code
    return np.clip(scaled, low, out.max_code)


def measure(plan: Plan, limit_bits: int = EXHAUSTIVE_LIMIT_BITS) -> ErrorStats:
    """Measure ``plan`` against its real function (see the module docstring).

    ``limit_bits`` below the default gives a quick screening measurement for searches.
    """
    x, operand, exhaustive = input_grid(plan, limit_bits)
    y = evaluate(plan, x, operand).astype(np.float64)
    f = reference(plan, x, operand)
    if plan.mirror:  # one row per output, so differences run along the input codes
        y, f = np.moveaxis(y, -1, 0), np.moveaxis(f, -1, 0)
    err = y - f
    if plan.output.overflow == "WRAP":  # distance on the wrapped circle of codes
        n = plan.out_fmt.n_codes
        err = np.mod(err + n / 2, n) - n / 2
    abs_err = np.abs(err)
    # Adjacent outputs must never step against the real function (for WRAP, both unwrapped).
    real = f if plan.output.overflow != "WRAP" else reference(plan, x, operand, wrap=False)
    if plan.mirror and plan.output.overflow == "WRAP":
        real = np.moveaxis(real, -1, 0)
    steps = np.diff(real + err, axis=-1) * np.diff(real, axis=-1)
    monotonic = bool(np.all(steps >= 0))
    max_lsb = float(abs_err.max())
    return ErrorStats(
        max_lsb=max_lsb,
        mean_lsb=float(err.mean()),
        rms_lsb=float(np.sqrt(np.mean(err * err))),
        correctly_rounded_fraction=float(np.mean(abs_err <= 0.5 + TIE_TOLERANCE)),
        monotonic=monotonic,
        max_abs=max_lsb * plan.out_fmt.lsb,
        vectors=int(x.size),
        exhaustive=exhaustive,
    )


def report(plan: Plan) -> ErrorStats:
    """The measurement a plan is accepted on and reported with (see the module docstring)."""
    return measure(plan, REPORT_LIMIT_BITS if plan.operand_fmt is None else EXHAUSTIVE_LIMIT_BITS)

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

from .fixed import IntArray, overflow, round_real, unique_codes
from .functions import get
from .model import evaluate
from .plan import BitSlice, Plan

__all__ = [
    "ErrorStats",
    "input_grid",
    "measure",
    "mode_target",
    "unit_warnings",
    "reference",
    "report",
    "segment_edges",
    "EXHAUSTIVE_LIMIT_BITS",
    "REPORT_LIMIT_BITS",
    "TIE_TOLERANCE",
    "OPERAND_SAMPLES",
]

#: Input spaces up to this many bits are measured on every code (searches).
EXHAUSTIVE_LIMIT_BITS = 20
#: One-operand inputs up to this many bits are reported on every code (2**24 codes take seconds).
REPORT_LIMIT_BITS = 24
#: Float64 slack when deciding whether an output is within half an LSB of the real value.
TIE_TOLERANCE = 1e-9
#: How close (relative) a float64 reference must be to an integer or a half to count as on it.
SNAP_ULPS = 2.0**-40
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
    #: Share of outputs equal to the unit's own rounding mode applied to the real value
    #: (floor for ``TRN``, half up for ``RND``, ...): 1.0 for every ``exact`` and ``lut`` plan.
    mode_fraction: float = 1.0

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
        x = (
            plan.in_fmt.all_codes()
            if in_bits <= x_bits
            else _sample(plan.in_fmt, near_edges, 1 << (limit_bits - 6), seed=1)
        )
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
    scaled = out.code_units(f)  # an affine output: f / scale + zero_point
    if plan.output.overflow == "WRAP":  # what wrapping hardware promises: f modulo the range
        if not wrap:
            return scaled
        return np.mod(scaled - out.min_code, out.n_codes) + out.min_code
    low = out.min_code if plan.output.overflow != "SAT_SYM" or not out.signed else -out.max_code
    return np.clip(scaled, low, out.max_code)


def snap_ties(scaled: np.ndarray) -> np.ndarray:
    """Real values in code units, with those within float64 noise of an integer or a half made exact.

    A rounding mode decides exactly at integers (directed modes) and halves (nearest modes);
    a reference computed in float64 may land a hair to either side of a value that is exact
    in reals (x/6 + 1/2 at x = 3), so values that close are taken as the exact point.
    """
    scaled = np.asarray(scaled, dtype=np.float64)
    halves = np.round(scaled * 2) / 2
    # A few thousand float64 ulps: far above a reference's rounding noise, far below any real
    # distance from a tie at these magnitudes (GELU(6.75) is 8e-10 LSB below 108, not on it).
    return np.where(np.abs(scaled - halves) <= SNAP_ULPS * np.abs(scaled), halves, scaled)


def mode_target(plan: Plan, x: IntArray, operand: IntArray | None = None) -> IntArray:
    """The output codes that the plan's rounding and overflow modes give when applied to the real value.

    This is what an ``exact`` or ``lut`` unit computes on every code (``TRN`` is the floor of
    the real value, ``RND`` rounds its halves up, ...); approximating plans apply the mode to
    their approximation instead, so they agree with it on most codes.
    """
    exact = snap_ties(reference(plan, x, operand, wrap=False))
    return overflow(round_real(exact, plan.output.rounding).astype(np.int64), plan.out_fmt, plan.output.overflow)


def measure(plan: Plan, limit_bits: int = EXHAUSTIVE_LIMIT_BITS) -> ErrorStats:
    """Measure ``plan`` against its real function (see the module docstring).

    ``limit_bits`` below the default gives a quick screening measurement for searches.
    """
    x, operand, exhaustive = input_grid(plan, limit_bits)
    codes = evaluate(plan, x, operand)
    mode_fraction = float(np.mean(codes == mode_target(plan, x, operand)))
    y = codes.astype(np.float64)
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
        mode_fraction=mode_fraction,
    )


def report(plan: Plan) -> ErrorStats:
    """The measurement a plan is accepted on and reported with (see the module docstring)."""
    return measure(plan, REPORT_LIMIT_BITS if plan.operand_fmt is None else EXHAUSTIVE_LIMIT_BITS)


#: A unit whose outputs saturate on at least this share of its inputs is flagged.
MOSTLY_SATURATED = 0.9
#: ... and when at least this share of inputs has real values outside the output format.
HALF_CLIPPED = 0.5


def unit_warnings(plan: Plan) -> list[str]:
    """What is odd about a unit that is otherwise correct: constant, saturated, range missed.

    Each warning is one sentence a user can act on; ``hwact generate`` prints them and the
    manifest keeps them under ``warnings``.
    """
    x, operand, _ = input_grid(plan)
    y = evaluate(plan, x, operand)
    out = plan.out_fmt
    low = -out.max_code if plan.output.overflow == "SAT_SYM" and out.signed else out.min_code
    real = reference(plan, x, operand, wrap=False)
    warnings = []
    if np.all(y == y.flat[0]):
        value = float(out.to_real(y.flat[0]))
        warnings.append(
            f"every output is {value:g} (code {int(y.flat[0])}): the unit is a constant over "
            f"{plan.in_fmt}; a wider output or another input range would show the function"
        )
    elif plan.output.overflow != "WRAP":
        saturated = float(np.mean((y == out.max_code) & (real >= out.max_code) | (y == low) & (real <= low)))
        if saturated == 1.0:
            warnings.append(
                f"every output saturates {out} (range {out.to_real(low):g} .. "
                f"{out.max_value:g}): the function leaves it over all of {plan.in_fmt}"
            )
        elif saturated >= MOSTLY_SATURATED:
            warnings.append(
                f"{saturated:.0%} of the inputs saturate the output {out}: {plan.in_fmt} mostly "
                f"misses the range where {plan.function} changes"
            )
        else:
            # The function leaves the output format (not merely reaches its end): clipped, not computed.
            fn = get(plan.function)
            x_real = plan.in_fmt.to_real(x)
            # In output codes, through the zero point of an affine output.
            unclipped = out.code_units(np.asarray(fn.reference(x_real, plan.params) if operand is None else
                                                  fn.reference(x_real, plan.params, plan.operand_fmt.to_real(operand))))
            below = float(np.mean(unclipped < low - 0.5))  # in output codes, before saturation
            above = float(np.mean(unclipped > out.max_code + 0.5))
            if below + above >= HALF_CLIPPED:
                side = "below" if below >= above else "above"
                warnings.append(
                    f"{below + above:.0%} of the inputs give {plan.function} values outside what {out} holds "
                    f"({out.to_real(low):g} .. {out.max_value:g}; {below:.0%} below, {above:.0%} above) and "
                    "saturate; "
                    + ("a signed output format would hold them" if side == "below" and not out.signed else
                       "an output format with more integer bits would hold them")
                )
        distinct = np.unique(y).size
        if distinct <= 2 and np.unique(np.round(real, 6)).size > 3:
            warnings.append(
                f"the output takes only {distinct} values over all of {plan.in_fmt}: {out} has "
                f"{out.frac_bits} fraction bits, too few for {plan.function}'s range; give the output "
                "fraction bits (e.g. s1.7 or u0.8 instead of int8)"
            )
    return warnings

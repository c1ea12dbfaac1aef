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

Inputs of up to 20 bits are fitted and searched on every code. Wider inputs (``pwl``/``pwl2``
only) use a *probe set*: about 2**20 evenly spaced codes, every code around each extremum of
the function, and, for the search, every segment edge; saturation boundaries are found on
the probe set and then pinned to the exact code.

This module holds the steps that make the plan (target, clamp, fold, direct table, assembly);
the others live beside it: :mod:`~hwact.approx.fit` (minimax fits), :mod:`~hwact.approx.segments`
(uniform and greedy segmentations), :mod:`~hwact.approx.quantize` (integer coefficients and the
nudge search) and :mod:`~hwact.approx.rounding_split` (segments placed for correct rounding).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..affine import fold_constant, scale_ratio_log2
from ..fixed import Fmt, Overflow, Rounding, overflow, round_real, shift_round, unique_codes
from ..functions import Function
from ..measure import mode_target, segment_edges
from ..model import unfold
from ..plan import (
    BitSlice,
    Clamp,
    CoefTable,
    Fold,
    FoldKind,
    HornerStep,
    Method,
    OutputStage,
    Plan,
    SegmentSelect,
)
from ..widths import MODEL_BITS, model_overflow, signed_bits
from .fit import fit_blocks
from .quantize import column_scales, nudge_search, quantize
from .request import PlanRequest
from .rounding_split import rounding_segments
from .segments import (
    MAX_SEGMENT_BITS,
    MAX_SEGMENT_LENGTH_BITS,
    FitTolerance,
    NotCheaper,
    RoundingSplit,
    Segmentation,
    SegmentsOutOfReach,
    TooManySegments,
    Uniform,
    greedy_segments,
    uniform_segments,
)

__all__ = ["MAX_LUT_INPUT_BITS", "PROBE_BITS", "TableShape", "fold_for", "plan_table"]

#: A direct table has an entry per code: inputs up to this many bits.
MAX_LUT_INPUT_BITS = 20
#: Inputs up to this many bits are fitted and searched on every code; wider ones on a probe set.
PROBE_BITS = 20
#: How far inside its rounding interval (LSBs) the real value must be where a truncating clamp starts.
CLAMP_MARGIN = 0.25


#: Probe sets (codes and the target on them) and saturation clamps of wide inputs, by request:
#: ``auto`` builds dozens of rungs of one function and formats, each on the same probe set.
_PROBES: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
_CLAMPS: dict[tuple, tuple[int, int]] = {}
#: Requests remembered (the oldest is forgotten first); a probe set takes about 16 MB.
_REMEMBERED = 4


def _remember(cache: dict, key: tuple, value) -> None:
    for array in value if isinstance(value, tuple) else ():
        if isinstance(array, np.ndarray):
            array.flags.writeable = False  # shared by every rung: nobody may change it
    while len(cache) >= _REMEMBERED:
        del cache[next(iter(cache))]
    cache[key] = value


def _merged(codes: np.ndarray, more: np.ndarray) -> np.ndarray:
    """``unique_codes`` of both, for sorted distinct ``codes`` and a few ``more``, without sorting ``codes`` again."""
    more = unique_codes(more)
    at = np.searchsorted(codes, more)
    new = (at == codes.size) | (codes[np.minimum(at, codes.size - 1)] != more)
    return np.insert(codes, at[new], more[new])


# -- the clamp ------------------------------------------------------------------------------


def _saturation_clamp(codes: np.ndarray, rounded_of) -> tuple[int, int]:
    """The smallest ``[lo, hi]`` outside which the rounded output is constant.

    ``codes`` is sorted; when it skips codes (a probe set), each boundary found between two
    probes is pinned by rounding every code between them.
    """
    rounded = rounded_of(codes)
    if np.all(rounded == rounded[0]):  # a constant unit: one table entry, every code clamped onto it
        return int(codes[0]), int(codes[0])

    def between(k: int) -> np.ndarray:  # every code from probe k to probe k + 1
        return np.arange(codes[k], codes[k + 1] + 1, dtype=np.int64)

    changes_top = np.nonzero(rounded != rounded[-1])[0]
    if changes_top.size:  # the first code of the final constant run
        span = between(int(changes_top[-1]))
        hi = int(span[np.nonzero(rounded_of(span) != rounded[-1])[0][-1] + 1])
    else:
        hi = int(codes[0])
    changes_bottom = np.nonzero(rounded != rounded[0])[0]
    if changes_bottom.size:  # the last code of the initial constant run
        span = between(int(changes_bottom[0]) - 1)
        lo = int(span[np.nonzero(rounded_of(span) != rounded[0])[0][0] - 1])
    else:
        lo = int(codes[-1])
    return min(lo, hi), max(lo, hi)


def _probe_codes(in_fmt: Fmt, target_of) -> np.ndarray:
    """Sorted input codes standing in for all of them when the input is too wide to enumerate.

    About ``2**PROBE_BITS`` evenly spaced codes, plus every code between the neighbours of a
    probe where the function turns (GELU's and SiLU's minima), where errors concentrate.
    """
    grid = unique_codes(np.linspace(in_fmt.min_code, in_fmt.max_code, 1 << PROBE_BITS).round().astype(np.int64))
    slope = np.sign(np.diff(target_of(grid)))
    moving = np.nonzero(slope)[0]
    turns = moving[1:][slope[moving[1:]] != slope[moving[:-1]]]  # index of the first step after a turn
    around = [np.arange(grid[k - 1], grid[k + 1] + 1, dtype=np.int64) for k in turns]
    return unique_codes(np.concatenate([grid, *around]))


def _cost_floor(shape: TableShape, starts: np.ndarray, comparators: bool, max_error: float) -> int:
    """A lower bound of :func:`~hwact.cost.plan_cost` for any plan on these segments whose
    error stays within ``max_error`` LSB: its comparators and its constant column.

    At a segment's first code ``t = 0``, so the output there is ``c0 >> guard`` rounded (within
    1 LSB of ``c0 / 2**guard`` in every mode); an error within ``max_error`` pins ``c0`` to an
    interval, and the column is at least as wide as the narrowest value of the widest interval.
    """
    request, guard = shape.request, shape.guard
    count = len(starts)
    floor = (count - 1) * request.in_fmt.width if comparators else 0
    lo, hi = shape.read_range
    read = starts[(starts >= lo) & (starts <= hi)]  # codes read directly (not only through a fold)
    if count < 2 or read.size == 0:
        return floor
    real = np.clip(request.target(read), request.low, request.out_fmt.max_code)
    reach = max_error + 1.0 + 1e-6
    c_lo = np.ceil((real - reach) * (1 << guard)).astype(np.int64)
    c_hi = np.floor((real + reach) * (1 << guard)).astype(np.int64)
    if c_lo.max() <= c_hi.min():  # one value might serve every segment: the column need not vary
        return floor
    nearest_zero = np.where(c_lo > 0, c_lo, np.where(c_hi < 0, c_hi, 0))
    return floor + count * max(signed_bits(int(v)) for v in (nearest_zero.min(), nearest_zero.max()))


# -- the plan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableShape:
    """What every segmentation of one table plan shares: the request, the table method, the
    saturation clamp, the fold, the domain the segments cover (after both) and the guard bits."""

    request: PlanRequest
    method: Method
    clamp: Clamp | None
    fold: Fold | None
    domain: tuple[int, int]
    guard: int

    @property
    def degree(self) -> int:
        return self.method.degree

    @property
    def read_range(self) -> tuple[int, int]:
        """The input codes read directly: the clamp's range, or the whole input format."""
        if self.clamp is not None:
            return self.clamp.lo, self.clamp.hi
        return self.request.in_fmt.min_code, self.request.in_fmt.max_code

    def build(self, select: SegmentSelect | BitSlice, rows, scales: list[int]) -> Plan:
        """The plan with these segments and integer ``rows`` at ``scales`` (:func:`~.quantize.column_scales`)."""
        request, degree = self.request, self.degree
        steps = tuple(HornerStep(scales[k + 1] - scales[k], Rounding.TRN) for k in range(degree - 1, -1, -1))
        return Plan(
            function=request.function.name, params=dict(request.params), method=self.method,
            in_fmt=request.in_fmt, out_fmt=request.out_fmt, select=select,
            table=CoefTable(tuple(tuple(int(c) for c in row) for row in rows),
                            tuple(request.out_fmt.frac_bits + s for s in scales)),
            horner=steps, output=OutputStage(scales[0], request.rounding, request.overflow), clamp=self.clamp,
            fold=self.fold,
        )


def fold_for(function: Function, in_fmt: Fmt, out_fmt: Fmt, guard: int) -> Fold | None:
    """The symmetry fold of ``function`` for an accumulator with ``guard`` bits below the output LSB."""
    # Folds act on codes: real -x is code -q only when the input's zero point is 0, and the
    # output's scale and zero point must keep the fold's constant an integer (hwact.affine).
    if function.symmetry is None or not in_fmt.signed or in_fmt.zero_point != 0:
        return None
    if function.symmetry == FoldKind.COMPLEMENT:
        constant = fold_constant(out_fmt)  # 2**frac_bits for binary formats
        return None if constant is None else Fold(FoldKind.COMPLEMENT, constant << guard)
    if function.symmetry == FoldKind.MINUS_X:
        ratio = scale_ratio_log2(in_fmt, out_fmt)  # out.frac_bits - in.frac_bits for binary formats
        return Fold(FoldKind.MINUS_X, ratio + guard) if ratio is not None and ratio + guard >= 0 else None
    return Fold(FoldKind.ODD) if out_fmt.zero_point == 0 else None


def _direct_table(shape: TableShape) -> Plan:
    """A direct table whose outputs are the rounding mode applied to the real value on every code.

    Without a fold each entry is simply the rounded value. With one, an entry serves ``x`` and
    ``-x``, and rounding it first would apply the mode to the folded value: ``1 - floor(s)``
    is a ceiling. So the table may keep one guard bit, rounded away by the output stage after
    the unfold: the entry ``e`` is chosen so that both ``R(e / 2)`` and ``R(unfold(e) / 2)``
    are the mode applied to the real values (``floor(v) + ceil(v)`` for ``TRN``); every
    candidate is checked through the model's own shift and unfold. No guard bit is spent when
    the plain entries already give both sides (``RND_CONV`` with an odd fold, for one).
    """
    request = shape.request
    in_fmt, out_fmt, rounding, overflow_mode = request.in_fmt, request.out_fmt, request.rounding, request.overflow
    d_lo, d_hi = shape.domain
    starts = np.arange(d_lo, d_hi + 1, dtype=np.int64)
    select = BitSlice(d_lo, 0, len(starts))
    real = request.target(starts)
    guards = (0, 1) if shape.fold is not None else (0,)
    for guard in guards:
        folded = fold_for(request.function, in_fmt, out_fmt, guard) if shape.fold is not None else None
        plan = replace(shape, fold=folded).build(select, np.zeros((len(starts), 1), dtype=np.int64), [guard])
        base = round_real(real * (1 << guard), rounding).astype(np.int64)
        if folded is None:
            return replace(shape, fold=None).build(select, base[:, None], [guard])
        # Which input codes read each entry: u itself and -u, where they are in the clamp's range.
        lo, hi = shape.read_range
        has_pos, has_neg = (starts >= lo) & (starts <= hi), (-starts >= lo) & (-starts <= hi) & (starts > 0)
        want_pos = mode_target(plan, np.clip(starts, in_fmt.min_code, in_fmt.max_code))
        want_neg = mode_target(plan, np.clip(-starts, in_fmt.min_code, in_fmt.max_code))
        chosen, found = base.copy(), np.zeros(len(starts), dtype=bool)
        reach = 2 << guard
        for offset in sorted(range(-reach, reach + 1), key=abs):  # the smallest change that serves both sides
            entry = base + offset
            pos = overflow(shift_round(entry, guard, rounding), out_fmt, overflow_mode)
            neg = overflow(shift_round(unfold(folded, entry, starts), guard, rounding), out_fmt, overflow_mode)
            fits = ((pos == want_pos) | ~has_pos) & ((neg == want_neg) | ~has_neg) & ~found
            chosen[fits], found[fits] = entry[fits], True
        if found.all() or guard == guards[-1]:
            return replace(shape, fold=folded).build(select, chosen[:, None], [guard])
    raise AssertionError("unreachable")


def plan_table(request: PlanRequest, segmentation: Segmentation | None = None, *, guard: int = 4,
               search_radius: int = 2, max_cost: float | None = None, max_error: float = 1.0) -> Plan:
    """Plan a table-based unit with ``request.method``: ``lut`` (one entry per code, no
    ``segmentation``), ``pwl`` (degree 1) or ``pwl2`` (degree 2), on segments cut by ``segmentation``.

    Parameters
    ----------
    segmentation
        :class:`~.segments.Uniform` (bit slicing), :class:`~.segments.FitTolerance` (greedy,
        by fit error) or :class:`~.segments.RoundingSplit` (placed for correct rounding).
    guard
        Fraction bits kept below the output LSB in the accumulator.
    search_radius
        How far the nudge search moves each segment's constant (0: no search).
    max_cost, max_error
        Refuse (:class:`NotCheaper`), as soon as the segments are known, a plan that could
        not cost less than ``max_cost`` (:func:`~hwact.cost.plan_cost`) if its error
        were within ``max_error`` LSB: ``auto`` skips what cannot beat its cheapest plan so far.
    """
    in_fmt, out_fmt = request.in_fmt, request.out_fmt
    rounding, overflow_mode, method = request.rounding, request.overflow, request.method
    if method not in (Method.LUT, Method.PWL, Method.PWL2):
        raise ValueError(f"table plans are lut, pwl or pwl2, not {method}")
    if (method == Method.LUT) != (segmentation is None):
        raise ValueError("lut takes no segmentation; pwl and pwl2 need one" if segmentation is not None
                         else f"{method} needs a segmentation (Uniform, FitTolerance or RoundingSplit)")
    wide = in_fmt.width > PROBE_BITS
    if method == Method.LUT and in_fmt.width > MAX_LUT_INPUT_BITS:
        raise ValueError(f"lut has an entry per input code: inputs up to {MAX_LUT_INPUT_BITS} bits, "
                         f"not {in_fmt.width} ({in_fmt}); use pwl or pwl2")
    key = request.key()
    if wide:  # the same for every rung of every ladder: made once (see _PROBES)
        if key not in _PROBES:
            probes = _probe_codes(in_fmt, request.target)
            _remember(_PROBES, key, (probes, request.target(probes)))
        codes, exact = _PROBES[key]
    else:
        codes = in_fmt.all_codes()
        exact = request.target(codes)
    if not np.all(np.isfinite(exact)):
        raise ValueError(f"{request.function.name} is not finite everywhere on {in_fmt}")
    low = request.low

    # Truncating outputs of approximating plans: the clamp starts only where the real value is
    # CLAMP_MARGIN inside its rounding interval. At the very first code of a constant run the
    # real value sits on the interval's edge (tanh just above 4095 under TRN), where any
    # approximation error, or the sign flip of a fold, would round the whole clamped region
    # one code off (the negative half of a folded TRN tanh biased upwards).
    margin = CLAMP_MARGIN if method != Method.LUT and not request.nearest else 0.0

    def rounded_of(c):  # the plan's own rounding decides where the output stops changing (ties count)
        exact = request.target(c)
        if not margin:
            return np.clip(round_real(exact, rounding), low, out_fmt.max_code)
        below, above = (np.clip(round_real(exact + d, rounding), low, out_fmt.max_code) for d in (-margin, margin))
        return (below - low) * (1 << 34) + (above - low)  # constant only where both are

    if overflow_mode == Overflow.WRAP:
        lo, hi = int(codes[0]), int(codes[-1])
    elif wide:
        clamp_key = (*key, rounding, overflow_mode, margin)
        if clamp_key not in _CLAMPS:
            _remember(_CLAMPS, clamp_key, _saturation_clamp(codes, rounded_of))
        lo, hi = _CLAMPS[clamp_key]
    else:
        lo, hi = _saturation_clamp(codes, rounded_of)
    clamp = None if (lo, hi) == (in_fmt.min_code, in_fmt.max_code) else Clamp(lo, hi)

    if method == Method.LUT:
        guard = 0
    fold = fold_for(request.function, in_fmt, out_fmt, guard)
    d_lo, d_hi = (0, max(-lo, hi, 0)) if fold else (lo, hi)
    if fold and (lo > 0 or lo == hi):  # nothing negative to recover (or a constant)
        fold = None
        d_lo, d_hi = lo, hi
    shape = TableShape(request, method, clamp, fold, (d_lo, d_hi), guard)
    degree = shape.degree

    if method == Method.LUT:
        return _direct_table(shape)

    def check_cost(starts: np.ndarray, comparators: bool = True) -> None:
        if max_cost is None or overflow_mode == Overflow.WRAP:
            return
        floor = _cost_floor(shape, starts, comparators, max_error)
        if floor >= max_cost:
            raise NotCheaper(f"{len(starts)} segments cost at least {floor}, not below {max_cost}")

    match segmentation:
        case RoundingSplit():
            starts, coef_t = rounding_segments(shape, segmentation, check_cost)
            select = SegmentSelect(tuple(int(s) for s in starts[1:]), tuple(int(s) for s in starts))
            lengths = np.diff(np.append(starts, d_hi + 1))
            widest = max(int(max(length - 1, 1)).bit_length() for length in lengths)
        case Uniform(shift=shift):
            if (d_hi - d_lo) >> shift >= 1 << MAX_SEGMENT_BITS:
                raise TooManySegments(f"{2 ** shift}-code segments would make over {2 ** MAX_SEGMENT_BITS} of them")
            if 1 << shift <= degree:
                raise SegmentsOutOfReach(f"{2 ** shift}-code segments are too short for degree {degree}; use lut")
            if shift > MAX_SEGMENT_LENGTH_BITS:
                raise SegmentsOutOfReach(f"segments are at most 2**{MAX_SEGMENT_LENGTH_BITS} codes long, "
                                         f"not 2**{shift}")
            starts = uniform_segments(d_lo, d_hi, shift)
            check_cost(starts, comparators=False)
            coef_t, _ = fit_blocks(starts, 1 << shift, d_hi, request.target, degree)
            select = BitSlice(d_lo, shift, len(starts))
            widest = shift
        case FitTolerance(tolerance=tolerance):
            blocks = greedy_segments(d_lo, d_hi, degree, tolerance, request.target, check_cost)
            starts = np.array([start for start, _ in blocks], dtype=np.int64)
            check_cost(starts)
            coef_t = np.concatenate([fit_blocks(starts[i:i + 1], length, start + length - 1, request.target, degree,
                                                 tolerance)[0]
                                     for i, (start, length) in enumerate(blocks)])
            select = SegmentSelect(tuple(int(s) for s in starts[1:]), tuple(int(s) for s in starts))
            widest = max(max(length - 1, 1).bit_length() for _, length in blocks)
        case _:
            raise TypeError(f"segmentation must be Uniform, FitTolerance or RoundingSplit, not {segmentation!r}")

    def built(exact_inner: bool) -> Plan | None:  # None when some intermediate would not fit the int64 model
        scales = column_scales(degree, widest, guard, exact_inner)
        rows = quantize(coef_t, scales)
        if rows is None:
            return None
        plan = shape.build(select, rows, scales)
        return None if model_overflow(plan, traced=False) else plan

    plan = built(True) or built(False)  # long segments (wide inputs): round inside Horner
    if plan is None:
        raise SegmentsOutOfReach(f"{2 ** widest}-code segments of {request.function.name} at {in_fmt} -> {out_fmt} "
                                 f"need products over {MODEL_BITS} bits; use narrower formats")
    # A rounding split already chose its rows on the integer datapath.
    if search_radius and not isinstance(segmentation, RoundingSplit):
        if wide:  # the probe set and every segment edge
            edges = np.asarray([e + d for e in segment_edges(plan) for d in (-2, -1, 0, 1)], dtype=np.int64)
            codes = _merged(codes, np.clip(edges, in_fmt.min_code, in_fmt.max_code))
            exact = request.target(codes)
        plan = nudge_search(plan, codes, np.clip(exact, low, out_fmt.max_code), search_radius)
    return plan

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

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..affine import fold_constant, scale_ratio_log2
from ..fixed import Fmt, overflow, round_real, shift_round, unique_codes
from ..functions import Function
from ..measure import mode_target, segment_edges
from ..model import unfold
from ..plan import (
    BitSlice,
    Clamp,
    CoefTable,
    Fold,
    HornerStep,
    OutputStage,
    Plan,
    SegmentSelect,
)
from ..widths import MODEL_BITS, model_overflow, signed_bits
from .fit import fit_blocks
from .quantize import column_scales, nudge_search, quantize
from .rounding_split import MAX_SPLIT_SEGMENTS, rounding_segments
from .segments import (
    MAX_NONUNIFORM_SEGMENTS,
    MAX_SEGMENT_BITS,
    MAX_SEGMENT_LENGTH_BITS,
    NotCheaper,
    SegmentsOutOfReach,
    TooManySegments,
    greedy_segments,
    uniform_segments,
)

__all__ = [
    "fold_for",
    "MAX_LUT_INPUT_BITS",
    "MAX_NONUNIFORM_SEGMENTS",
    "MAX_SEGMENT_BITS",
    "MAX_SEGMENT_LENGTH_BITS",
    "MAX_SPLIT_SEGMENTS",
    "PROBE_BITS",
    "NotCheaper",
    "SegmentsOutOfReach",
    "TooManySegments",
    "plan_table",
]

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


# -- the target -----------------------------------------------------------------------------


def _target(function: Function, params: Mapping[str, Any], in_fmt: Fmt, out_fmt: Fmt, codes: np.ndarray) -> np.ndarray:
    """The real function at ``codes`` in output code units (unclipped; an affine output's zero point included)."""
    return out_fmt.code_units(function.reference(in_fmt.to_real(codes), params))


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


def _cost_floor(starts: np.ndarray, comparators: bool, in_fmt: Fmt, out_fmt: Fmt, clamp: tuple[int, int], low: int,
                guard: int, max_error: float, target_of) -> int:
    """A lower bound of :func:`~hwact.cost.plan_cost` for any plan on these segments whose
    error stays within ``max_error`` LSB: its comparators and its constant column.

    At a segment's first code ``t = 0``, so the output there is ``c0 >> guard`` rounded (within
    1 LSB of ``c0 / 2**guard`` in every mode); an error within ``max_error`` pins ``c0`` to an
    interval, and the column is at least as wide as the narrowest value of the widest interval.
    """
    count = len(starts)
    floor = (count - 1) * in_fmt.width if comparators else 0
    read = starts[(starts >= clamp[0]) & (starts <= clamp[1])]  # codes read directly (not only through a fold)
    if count < 2 or read.size == 0:
        return floor
    real = np.clip(target_of(read), low, out_fmt.max_code)
    reach = max_error + 1.0 + 1e-6
    c_lo = np.ceil((real - reach) * (1 << guard)).astype(np.int64)
    c_hi = np.floor((real + reach) * (1 << guard)).astype(np.int64)
    if c_lo.max() <= c_hi.min():  # one value might serve every segment: the column need not vary
        return floor
    nearest_zero = np.where(c_lo > 0, c_lo, np.where(c_hi < 0, c_hi, 0))
    return floor + count * max(signed_bits(int(v)) for v in (nearest_zero.min(), nearest_zero.max()))


# -- the plan ----------------------------------------------------------------------------------


def _build(function, params, method, in_fmt, out_fmt, rounding, overflow_mode, clamp, fold,
           select, rows, scales, degree) -> Plan:
    steps = tuple(HornerStep(scales[k + 1] - scales[k], "TRN") for k in range(degree - 1, -1, -1))
    return Plan(
        function=function.name, params=dict(params), method=method, in_fmt=in_fmt, out_fmt=out_fmt,
        select=select, table=CoefTable(tuple(tuple(int(c) for c in row) for row in rows),
                                       tuple(out_fmt.frac_bits + s for s in scales)),
        horner=steps, output=OutputStage(scales[0], rounding, overflow_mode), clamp=clamp, fold=fold,
    )


def fold_for(function: Function, in_fmt: Fmt, out_fmt: Fmt, guard: int) -> Fold | None:
    """The symmetry fold of ``function`` for an accumulator with ``guard`` bits below the output LSB."""
    # Folds act on codes: real -x is code -q only when the input's zero point is 0, and the
    # output's scale and zero point must keep the fold's constant an integer (hwact.affine).
    if function.symmetry is None or not in_fmt.signed or in_fmt.zero_point != 0:
        return None
    if function.symmetry == "complement":
        constant = fold_constant(out_fmt)  # 2**frac_bits for binary formats
        return None if constant is None else Fold("complement", constant << guard)
    if function.symmetry == "minus_x":
        ratio = scale_ratio_log2(in_fmt, out_fmt)  # out.frac_bits - in.frac_bits for binary formats
        return Fold("minus_x", ratio + guard) if ratio is not None and ratio + guard >= 0 else None
    return Fold("odd") if out_fmt.zero_point == 0 else None


def _direct_table(function, params, in_fmt: Fmt, out_fmt: Fmt, rounding: str, overflow_mode: str,
                  clamp: Clamp | None, fold: Fold | None, domain: tuple[int, int], target_of) -> Plan:
    """A direct table whose outputs are the rounding mode applied to the real value on every code.

    Without a fold each entry is simply the rounded value. With one, an entry serves ``x`` and
    ``-x``, and rounding it first would apply the mode to the folded value: ``1 - floor(s)``
    is a ceiling. So the table may keep one guard bit, rounded away by the output stage after
    the unfold: the entry ``e`` is chosen so that both ``R(e / 2)`` and ``R(unfold(e) / 2)``
    are the mode applied to the real values (``floor(v) + ceil(v)`` for ``TRN``); every
    candidate is checked through the model's own shift and unfold. No guard bit is spent when
    the plain entries already give both sides (``RND_CONV`` with an odd fold, for one).
    """
    d_lo, d_hi = domain
    starts = np.arange(d_lo, d_hi + 1, dtype=np.int64)
    select = BitSlice(d_lo, 0, len(starts))
    real = target_of(starts)
    guards = (0, 1) if fold is not None else (0,)
    for guard in guards:
        folded = fold_for(function, in_fmt, out_fmt, guard) if fold is not None else None
        plan = _build(function, params, "lut", in_fmt, out_fmt, rounding, overflow_mode, clamp, folded,
                      select, np.zeros((len(starts), 1), dtype=np.int64), [guard], 0)
        base = round_real(real * (1 << guard), rounding).astype(np.int64)
        if folded is None:
            return _build(function, params, "lut", in_fmt, out_fmt, rounding, overflow_mode, clamp, None,
                          select, base[:, None], [guard], 0)
        # Which input codes read each entry: u itself and -u, where they are in the clamp's range.
        lo, hi = (clamp.lo, clamp.hi) if clamp is not None else (in_fmt.min_code, in_fmt.max_code)
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
            return _build(function, params, "lut", in_fmt, out_fmt, rounding, overflow_mode, clamp, folded,
                          select, chosen[:, None], [guard], 0)
    raise AssertionError("unreachable")


def plan_table(function: Function, params: Mapping[str, Any], in_fmt: Fmt, out_fmt: Fmt, *, method: str,
               rounding: str = "RND", overflow_mode: str = "SAT", shift: int | None = None,
               tolerance: float | None = None, segments: int | None = None, min_share: float = 0.0,
               guard: int = 4, search_radius: int = 2, max_cost: float | None = None,
               max_error: float = 1.0) -> Plan:
    """Plan a table-based unit.

    Parameters
    ----------
    method
        ``"lut"`` (one entry per code), ``"pwl"`` (degree 1) or ``"pwl2"`` (degree 2).
    shift
        Uniform segments of ``2**shift`` codes (bit slicing).
    tolerance
        Non-uniform segments: fit tolerance in output LSBs.
    segments
        Non-uniform segments, this many, placed for the most correctly rounded outputs
        (:mod:`hwact.approx.rounding_split`; domains up to 2**16 codes). Give one of
        ``shift``, ``tolerance`` and ``segments``.
    min_share
        With ``segments``: refuse (:class:`SegmentsOutOfReach`) a split predicted to round
        less than this share of the outputs correctly.
    guard
        Fraction bits kept below the output LSB in the accumulator.
    max_cost, max_error
        Refuse (:class:`NotCheaper`), as soon as the segments are known, a plan that could
        not cost less than ``max_cost`` (:func:`~hwact.cost.plan_cost`) if its error
        were within ``max_error`` LSB: ``auto`` skips what cannot beat its cheapest plan so far.
    """
    def target_of(c):
        return _target(function, params, in_fmt, out_fmt, c)

    wide = in_fmt.width > PROBE_BITS
    if method == "lut" and in_fmt.width > MAX_LUT_INPUT_BITS:
        raise ValueError(f"lut has an entry per input code: inputs up to {MAX_LUT_INPUT_BITS} bits, "
                         f"not {in_fmt.width} ({in_fmt}); use pwl or pwl2")
    key = (function.name, repr(sorted(dict(params).items())), in_fmt, out_fmt)
    if wide:  # the same for every rung of every ladder: made once (see _PROBES)
        if key not in _PROBES:
            probes = _probe_codes(in_fmt, target_of)
            _remember(_PROBES, key, (probes, target_of(probes)))
        codes, exact = _PROBES[key]
    else:
        codes = in_fmt.all_codes()
        exact = target_of(codes)
    if not np.all(np.isfinite(exact)):
        raise ValueError(f"{function.name} is not finite everywhere on {in_fmt}")
    low = out_fmt.min_code if overflow_mode != "SAT_SYM" or not out_fmt.signed else -out_fmt.max_code

    # Truncating outputs of approximating plans: the clamp starts only where the real value is
    # CLAMP_MARGIN inside its rounding interval. At the very first code of a constant run the
    # real value sits on the interval's edge (tanh just above 4095 under TRN), where any
    # approximation error, or the sign flip of a fold, would round the whole clamped region
    # one code off (the negative half of a folded TRN tanh biased upwards).
    margin = CLAMP_MARGIN if method != "lut" and rounding in ("TRN", "TRN_ZERO") else 0.0

    def rounded_of(c):  # the plan's own rounding decides where the output stops changing (ties count)
        exact = target_of(c)
        if not margin:
            return np.clip(round_real(exact, rounding), low, out_fmt.max_code)
        below, above = (np.clip(round_real(exact + d, rounding), low, out_fmt.max_code) for d in (-margin, margin))
        return (below - low) * (1 << 34) + (above - low)  # constant only where both are

    if overflow_mode == "WRAP":
        lo, hi = int(codes[0]), int(codes[-1])
    elif wide:
        clamp_key = (*key, rounding, overflow_mode, margin)
        if clamp_key not in _CLAMPS:
            _remember(_CLAMPS, clamp_key, _saturation_clamp(codes, rounded_of))
        lo, hi = _CLAMPS[clamp_key]
    else:
        lo, hi = _saturation_clamp(codes, rounded_of)
    clamp = None if (lo, hi) == (in_fmt.min_code, in_fmt.max_code) else Clamp(lo, hi)

    if method == "lut":
        degree, guard = 0, 0
        fold = fold_for(function, in_fmt, out_fmt, 0)
    else:
        degree = {"pwl": 1, "pwl2": 2}[method]
        fold = fold_for(function, in_fmt, out_fmt, guard)
    d_lo, d_hi = (0, max(-lo, hi, 0)) if fold else (lo, hi)
    if fold and (lo > 0 or lo == hi):  # nothing negative to recover (or a constant)
        fold = None
        d_lo, d_hi = lo, hi

    if method == "lut":
        return _direct_table(function, params, in_fmt, out_fmt, rounding, overflow_mode, clamp, fold, (d_lo, d_hi),
                             target_of)

    if [shift, tolerance, segments].count(None) != 2:
        raise ValueError("give exactly one of shift (uniform), tolerance or segments (non-uniform)")

    def check_cost(starts: np.ndarray, comparators: bool = True) -> None:
        if max_cost is None or overflow_mode == "WRAP":
            return
        floor = _cost_floor(starts, comparators, in_fmt, out_fmt, (lo, hi), low, guard, max_error, target_of)
        if floor >= max_cost:
            raise NotCheaper(f"{len(starts)} segments cost at least {floor}, not below {max_cost}")

    if segments is not None:
        starts, coef_t = rounding_segments(function, params, in_fmt, out_fmt, rounding, overflow_mode, clamp, fold,
                                           (d_lo, d_hi), degree, guard, segments, target_of, low, min_share,
                                           check_cost)
        select = SegmentSelect(tuple(int(s) for s in starts[1:]), tuple(int(s) for s in starts))
        lengths = np.diff(np.append(starts, d_hi + 1))
        widest = max(int(max(length - 1, 1)).bit_length() for length in lengths)
    elif shift is not None:
        if (d_hi - d_lo) >> shift >= 1 << MAX_SEGMENT_BITS:
            raise TooManySegments(f"{2 ** shift}-code segments would make over {2 ** MAX_SEGMENT_BITS} of them")
        if 1 << shift <= degree:
            raise SegmentsOutOfReach(f"{2 ** shift}-code segments are too short for degree {degree}; use lut")
        if shift > MAX_SEGMENT_LENGTH_BITS:
            raise SegmentsOutOfReach(f"segments are at most 2**{MAX_SEGMENT_LENGTH_BITS} codes long, not 2**{shift}")
        starts = uniform_segments(d_lo, d_hi, shift)
        check_cost(starts, comparators=False)
        coef_t, _ = fit_blocks(starts, 1 << shift, d_hi, target_of, degree)
        select = BitSlice(d_lo, shift, len(starts))
        widest = shift
    else:
        blocks = greedy_segments(d_lo, d_hi, degree, tolerance, target_of, check_cost)
        starts = np.array([start for start, _ in blocks], dtype=np.int64)
        check_cost(starts)
        coef_t = np.concatenate([fit_blocks(starts[i:i + 1], length, start + length - 1, target_of, degree,
                                             tolerance)[0]
                                 for i, (start, length) in enumerate(blocks)])
        select = SegmentSelect(tuple(int(s) for s in starts[1:]), tuple(int(s) for s in starts))
        widest = max(max(length - 1, 1).bit_length() for _, length in blocks)

    def built(exact_inner: bool) -> Plan | None:  # None when some intermediate would not fit the int64 model
        scales = column_scales(degree, widest, guard, exact_inner)
        rows = quantize(coef_t, scales)
        if rows is None:
            return None
        plan = _build(function, params, method, in_fmt, out_fmt, rounding, overflow_mode, clamp, fold,
                      select, rows, scales, degree)
        return None if model_overflow(plan, traced=False) else plan

    plan = built(True) or built(False)  # long segments (wide inputs): round inside Horner
    if plan is None:
        raise SegmentsOutOfReach(f"{2 ** widest}-code segments of {function.name} at {in_fmt} -> {out_fmt} need "
                                 f"products over {MODEL_BITS} bits; use narrower formats")
    if search_radius and segments is None:  # a rounding split already chose its rows on the integer datapath
        if wide:  # the probe set and every segment edge
            edges = np.asarray([e + d for e in segment_edges(plan) for d in (-2, -1, 0, 1)], dtype=np.int64)
            codes = _merged(codes, np.clip(edges, in_fmt.min_code, in_fmt.max_code))
            exact = target_of(codes)
        plan = nudge_search(plan, codes, np.clip(exact, low, out_fmt.max_code), search_radius)
    return plan

"""Correctly rounded plans from rounding intervals and linear programming (method ``cr``).

The idea is RLIBM's (Lim and Nagarakatte): approximate the *correctly rounded result*, not the
real function. For every input code the output stage (shift by the guard bits, the requested
rounding mode, saturation) maps a whole interval of accumulator values onto the correctly
rounded output code; a plan is correctly rounded exactly when its accumulator lands inside
that interval on every code. So, per segment of codes:

1. **Intervals.** For each code ``u`` of the (clamped, folded) domain, the integer interval
   ``[lo(u), hi(u)]`` of accumulators whose output is the mode applied to the real value
   (:func:`hwact.measure.mode_target`); with a fold it is the intersection of the intervals
   of ``u`` and ``-u`` mapped through the unfold (``-acc``, ``C - acc``, ``acc - (u << s)``).
2. **Linear program.** Polynomial coefficients inside every interval of the segment, with the
   largest margin to the interval edges: ``maximize delta`` subject to
   ``lo(u) + delta <= p(u) <= hi(u) - delta`` (SciPy's HiGHS). The problem is solved relative
   to a least-squares fit of the interval midpoints, in output LSBs, so its numbers are small.
3. **Exact realization.** The top coefficients are rounded to integers; the integer Horner
   chain (every rounding shift of the plan, as :mod:`hwact.model` computes it) is then run on
   every code of the segment, and the constant term is chosen *exactly*: the set of constants
   that put every code inside its interval is an intersection of integer intervals. If it is
   empty (rounding the top coefficients lost the margin), neighbouring integers are tried, and
   then the codes that failed get their interval tightened by the amount they missed and the
   LP is solved again (the counterexample loop), a few times.
4. **Segments.** From the left, each segment is as long as the LP (and the realization) stays
   feasible: a galloping search on the length, starting from the previous segment's.

The result is an ordinary :class:`~hwact.plan.Plan` (clamp, fold, comparators with origins,
one coefficient row per segment, Horner steps with stated truncating shifts, output rounding
and saturation), so the model, HDL, C and CFU backends carry it unchanged. The degree
(1, 2 or 3) and the guard bits are chosen by :func:`~hwact.cost.plan_cost` among the
plans built. Each rounding mode has its own intervals, so each mode gets its own plan.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linprog

from ..cache import load_json, store_json
from ..fixed import Fmt, overflow, shift_round
from ..functions import Function
from ..measure import mode_target
from ..plan import Clamp, CoefTable, Fold, HornerStep, OutputStage, Plan, SegmentSelect
from ..widths import model_overflow
from .table import fold_for

__all__ = ["CR_SHAPES", "CROutOfReach", "plan_cr", "cr_candidates"]

#: The cache folder of solved plans (:mod:`hwact.cache`).
CACHE_KIND = "cr-plans"
#: Bumped whenever the planner's answer for a request may change (it keys the plan cache).
CR_VERSION = 3
#: Extra fraction bits of every Horner shift beyond the segment offset's width (default).
CR_EXTRA = 1
#: The shapes ``(degree, guard bits, extra shift bits[, origin alignment[, offset bits]])`` the
#: planner builds, in order; the cheapest plan wins. Measured on sigmoid/tanh/GELU/SiLU s4.12 ->
#: 16 bits (bench/cr_frontier.py): the segment count stops falling at 11 to 13 guard bits (hard
#: cases, codes whose real value lies a hair from a rounding boundary, bound a segment's length
#: more than the degree does: a cubic saves a few segments and costs a third multiplier, a line
#: needs over 150 segments); Horner shifts four bits narrower than the longest offset keep the
#: segments while the c1 and c2 columns lose bits; and origins aligned to 128 codes cost a segment
#: or two but store 4 bits instead of 16 (:func:`hwact.cost.origin_rom`).
CR_SHAPES = ((2, 10, -4, 7), (2, 11, -4, 7), (2, 12, -4, 7), (2, 13, -4, 7))
#: Bound (output LSBs) on the LP's move of each coefficient (in ``t / length``) away from the
#: least-squares fit of the interval midpoints: every interval is one LSB wide, so a feasible
#: polynomial is never far from that fit, and the bound keeps the solver off huge vertices
#: where some intervals are unbounded (saturated outputs).
CR_LP_BOUND = 64.0
#: The most guard bits a shape may ask for.
CR_GUARD_LIMIT = 16
#: Inputs up to this many bits: every code is checked.
CR_MAX_INPUT_BITS = 20
#: A search that takes longer than this (seconds) stops with what it has.
CR_TIME_LIMIT = 900.0
#: Counterexample-loop passes per segment before a length counts as infeasible.
CR_PASSES = 4
#: Longest segment, 2**CR_MAX_LENGTH_BITS codes (bounds the LP size and the product widths).
CR_MAX_LENGTH_BITS = 11
#: At most this many segments per plan (comparators on the input; beyond, the plan is refused).
CR_MAX_SEGMENTS = 256


class CROutOfReach(ValueError):
    """No correctly rounded plan of this shape (degree, guard bits) exists within the limits."""


@dataclass(frozen=True)
class _Domain:
    """What every candidate of one request shares: clamp, the folded domain, the target codes."""

    clamp: Clamp | None
    folded: bool
    lo: int
    hi: int
    want_pos: np.ndarray  # correctly rounded output of +u (for the domain's codes u)
    want_neg: np.ndarray  # ... of -u (meaningful where has_neg)
    has_pos: np.ndarray
    has_neg: np.ndarray


def _skeleton(function: Function, params, in_fmt: Fmt, out_fmt: Fmt, rounding: str, overflow_mode: str,
              clamp: Clamp | None = None, fold: Fold | None = None) -> Plan:
    """A one-row table plan, only to ask :func:`mode_target` for the correctly rounded outputs."""
    return Plan(function=function.name, params=dict(params), method="cr", in_fmt=in_fmt, out_fmt=out_fmt,
                select=SegmentSelect(()), table=CoefTable(((0,),), (out_fmt.frac_bits,)), horner=(),
                output=OutputStage(0, rounding, overflow_mode), clamp=clamp, fold=fold)


def _domain(function: Function, params, in_fmt: Fmt, out_fmt: Fmt, rounding: str, overflow_mode: str) -> _Domain:
    codes = in_fmt.all_codes()
    want = mode_target(_skeleton(function, params, in_fmt, out_fmt, rounding, overflow_mode), codes)
    # The clamp: outside [lo, hi] the correctly rounded output is that of the end code.
    changes = np.nonzero(np.diff(want))[0]
    if changes.size == 0:
        lo = hi = int(codes[0])
    else:
        lo, hi = int(codes[changes[0]]), int(codes[changes[-1] + 1])
    clamp = None if (lo, hi) == (in_fmt.min_code, in_fmt.max_code) else Clamp(lo, hi)
    # A fold where one exists for these formats (affine zero points may rule it out).
    folded = fold_for(function, in_fmt, out_fmt, max(CR_GUARD_LIMIT, 0)) is not None and lo < 0 < hi
    d_lo, d_hi = (0, max(-lo, hi)) if folded else (lo, hi)
    u = np.arange(d_lo, d_hi + 1, dtype=np.int64)
    has_pos = (u >= lo) & (u <= hi)
    has_neg = folded & (-u >= lo) & (-u <= hi) & (u > 0)
    index = np.clip(u, in_fmt.min_code, in_fmt.max_code) - in_fmt.min_code
    want_pos = want[index]
    want_neg = want[np.clip(-u, in_fmt.min_code, in_fmt.max_code) - in_fmt.min_code]
    return _Domain(clamp, bool(folded), d_lo, d_hi, want_pos, want_neg, has_pos, has_neg)


def _output_interval(y: np.ndarray, guard: int, rounding: str, out_fmt: Fmt, overflow_mode: str,
                     big: int) -> tuple[np.ndarray, np.ndarray]:
    """The accumulators ``[lo, hi]`` that the output stage turns into ``y`` (``+-big`` when unbounded).

    The output stage (a rounding shift, then saturation) is monotone in the accumulator, so the
    preimage of a code is an interval; its ends are found by a vectorized binary search that
    runs the model's own arithmetic, which makes this right for every rounding mode.
    """
    def out(acc: np.ndarray) -> np.ndarray:
        return overflow(shift_round(acc, guard, rounding), out_fmt, overflow_mode)

    def first_reaching(level: np.ndarray) -> np.ndarray:  # smallest acc in [-big, big] with out >= level
        lo = np.full(level.shape, -big, dtype=np.int64)
        hi = np.full(level.shape, big, dtype=np.int64)
        while np.any(lo < hi):
            mid = lo + (hi - lo) // 2
            up = out(mid) >= level
            hi, lo = np.where(up, mid, hi), np.where(up, lo, mid + 1)
        return lo

    start = first_reaching(y)
    stop = first_reaching(y + 1) - 1
    stop = np.where(out(np.full(y.shape, big, dtype=np.int64)) <= y, big, stop)  # the top code: unbounded
    start = np.where(out(np.full(y.shape, -big, dtype=np.int64)) >= y, -big, start)
    return start, stop


def _intervals(domain: _Domain, fold: Fold | None, guard: int, rounding: str, out_fmt: Fmt,
               overflow_mode: str, in_fmt: Fmt) -> tuple[np.ndarray, np.ndarray, int]:
    """Per domain code, the accumulator interval that gives the correctly rounded output(s)."""
    big = 1 << (out_fmt.width + guard + 4)
    lo, hi = _output_interval(domain.want_pos, guard, rounding, out_fmt, overflow_mode, big)
    lo, hi = np.where(domain.has_pos, lo, -big), np.where(domain.has_pos, hi, big)
    if fold is not None:
        u = np.arange(domain.lo, domain.hi + 1, dtype=np.int64)
        n_lo, n_hi = _output_interval(domain.want_neg, guard, rounding, out_fmt, overflow_mode, big)
        unbounded_lo, unbounded_hi = n_lo == -big, n_hi == big
        if fold.kind == "odd":  # v = -acc
            a_lo, a_hi = -n_hi, -n_lo
            unbounded_lo, unbounded_hi = unbounded_hi, unbounded_lo
        elif fold.kind == "complement":  # v = C - acc
            a_lo, a_hi = fold.constant - n_hi, fold.constant - n_lo
            unbounded_lo, unbounded_hi = unbounded_hi, unbounded_lo
        else:  # v = acc - (u << s)
            a_lo, a_hi = n_lo + (u << fold.constant), n_hi + (u << fold.constant)
        a_lo = np.where(unbounded_lo, -big, a_lo)
        a_hi = np.where(unbounded_hi, big, a_hi)
        lo = np.where(domain.has_neg, np.maximum(lo, a_lo), lo)
        hi = np.where(domain.has_neg, np.minimum(hi, a_hi), hi)
    return lo, hi, big


@dataclass(frozen=True)
class _Shape:
    """The plan-wide datapath: degree, guard bits, Horner shifts (``shifts[k]`` multiplies by ``t``
    after coefficient ``k + 1``)."""

    degree: int
    guard: int
    length_bits: int
    extra: int = CR_EXTRA
    #: Origins are multiples of ``2**align`` (the segment's start rounded down), so the origin
    #: ROM drops ``align`` low bits (:func:`hwact.cost.stored_bits`); ``t`` then starts at the
    #: start's low bits and stays below ``2**length_bits``.
    align: int = 0

    def origin(self, start: int) -> int:
        return start & ~((1 << self.align) - 1)

    @property
    def shifts(self) -> tuple[int, ...]:
        return tuple(max(self.length_bits + self.extra, 0) for _ in range(self.degree))

    def scale(self, k: int) -> int:
        """Fraction bits of column ``k`` beyond the accumulator's LSB."""
        return sum(self.shifts[:k])


def _partial(shape: _Shape, top: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The integer Horner chain up to (not including) the constant term, as the model runs it.

    ``top`` holds ``c_1 .. c_d``; the model's chain is ``acc = c_d``, then for each lower
    column ``acc = shift_round(acc * t, shift, TRN) + c_k``; the constant is added last.
    """
    acc = np.full(t.shape, int(top[-1]), dtype=np.int64)
    for k in range(shape.degree - 1, -1, -1):
        acc = shift_round(acc * t, shape.shifts[k], "TRN")
        if k:
            acc = acc + int(top[k - 1])
    return acc


def _realize(shape: _Shape, coef: np.ndarray, t: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Integer coefficients whose exact datapath lands in every interval, or the misses of the best try.

    ``coef`` is the real polynomial in accumulator units per power of ``t``. Returns
    ``(row, None)`` or ``(None, (miss_lo, miss_hi))``: how far below ``lo`` / above ``hi``
    each code fell for the nearest rounding with the constant chosen at the middle.
    """
    d = shape.degree
    base = np.array([np.round(coef[k] * 2.0 ** shape.scale(k)) for k in range(1, d + 1)], dtype=np.int64)
    best = None
    for offsets in _NUDGES[d]:
        top = base + offsets
        part = _partial(shape, top, t)
        c_lo, c_hi = int(np.max(lo - part)), int(np.min(hi - part))
        if c_lo <= c_hi:
            # The feasible constant nearest the LP's (not the range's middle: where an output
            # saturates the range is unbounded, and its middle would widen the c0 column).
            return (min(max(int(np.round(coef[0])), c_lo), c_hi), *map(int, top)), None
        if best is None:
            c0 = int(np.round(coef[0]))
            acc = part + c0
            best = (np.maximum(lo - acc, 0), np.maximum(acc - hi, 0))
    return None, best


#: Integer nudges (-1, 0, +1 each) of the top coefficients, smallest first, tried before the LP
#: is asked again.
_NUDGES = {
    degree: [np.array(o, dtype=np.int64) - 1 for o in sorted(np.ndindex(*(3,) * degree),
                                                             key=lambda o: sum(abs(v - 1) for v in o))]
    for degree in (1, 2, 3)
}


class _Segmenter:
    """Fits one segment after another for a fixed :class:`_Shape`."""

    def __init__(self, shape: _Shape, lo: np.ndarray, hi: np.ndarray, big: int, d_lo: int):
        self.shape, self.lo, self.hi, self.big, self.d_lo = shape, lo, hi, big, d_lo
        self.lps = 0
        self.counterexamples = 0  # LPs solved again after the integer datapath missed

    def fit(self, start: int, length: int) -> tuple[int, ...] | None:
        """Integer coefficients ``(c0, .., cd)`` correct on ``[start, start + length)``, or None
        (the polynomial variable is ``t = x - origin``, :meth:`_Shape.origin`)."""
        degree, guard = self.shape.degree, self.shape.guard
        index = slice(start - self.d_lo, start - self.d_lo + length)
        lo, hi = self.lo[index].copy(), self.hi[index].copy()
        first = start - self.shape.origin(start)
        t = np.arange(first, first + length, dtype=np.int64)
        scale = float(max(first + length - 1, 1))
        u = t / scale
        # A segment of n codes takes a polynomial of degree n - 1 at most: with more columns the
        # least-squares base (and the LP's free directions) would spread one value over every
        # power of a t that starts far from 0 (aligned origins), and blow up the columns' widths.
        used = min(degree, length - 1)
        vander = np.vander(u, used + 1, increasing=True)
        for _ in range(CR_PASSES):
            finite_lo, finite_hi = lo > -self.big, hi < self.big
            mid = np.where(finite_lo & finite_hi, (lo.astype(np.float64) + hi) / 2,
                           np.where(finite_lo, lo + 2.0 ** guard, hi - 2.0 ** guard))
            base = np.linalg.lstsq(vander, mid, rcond=None)[0]
            fit = vander @ base
            unit = 2.0 ** guard  # the LP works in output LSBs
            rows, rhs = [], []
            if finite_hi.any():
                rows.append(np.hstack([vander[finite_hi], np.ones((finite_hi.sum(), 1))]))
                rhs.append((hi[finite_hi] - fit[finite_hi]) / unit)
            if finite_lo.any():
                rows.append(np.hstack([-vander[finite_lo], np.ones((finite_lo.sum(), 1))]))
                rhs.append((fit[finite_lo] - lo[finite_lo]) / unit)
            cost = np.zeros(used + 2)
            cost[-1] = -1.0
            self.lps += 1
            result = linprog(cost, A_ub=np.vstack(rows), b_ub=np.concatenate(rhs),
                             bounds=[(-CR_LP_BOUND, CR_LP_BOUND)] * (used + 1) + [(None, 1.0)], method="highs")
            if result.status != 0 or result.x[-1] < 0:
                return None
            coef_u = np.zeros(degree + 1)
            coef_u[:used + 1] = base + result.x[:-1] * unit
            coef_t = coef_u / scale ** np.arange(degree + 1)
            row, misses = _realize(self.shape, coef_t, t, lo, hi)
            if row is not None:
                return row
            miss_lo, miss_hi = misses
            self.counterexamples += 1
            # Counterexamples: a code the integer datapath put below its interval must be met
            # that much higher by the real polynomial (and one above it that much lower).
            lo = lo + miss_lo
            hi = hi - miss_hi
            if np.any(lo > hi):
                return None
        return None

    def segments(self, d_hi: int, deadline: float,
                 most_segments: int = CR_MAX_SEGMENTS) -> list[tuple[int, int, tuple[int, ...]]]:
        """``(start, length, row)`` from the domain's first code to ``d_hi``, greedily longest."""
        out: list[tuple[int, int, tuple[int, ...]]] = []
        start, guess = self.d_lo, 1 << 6
        while start <= d_hi:
            if len(out) >= most_segments:
                raise CROutOfReach(f"over {most_segments} segments")
            if time.monotonic() > deadline:
                raise CROutOfReach("out of planning time")
            cap = (1 << self.shape.length_bits) - (start - self.shape.origin(start))  # t < 2**length_bits
            most = min(cap, d_hi - start + 1)
            good, good_row, bad = 0, None, most + 1
            trial = min(guess, most)
            # Gallop from the previous segment's length, then bisect.
            while True:
                row = self.fit(start, trial)
                if row is not None:
                    good, good_row = trial, row
                    if trial == most:
                        break
                    trial = min(trial * 2, most)
                    if trial >= bad:
                        trial = (good + bad) // 2
                else:
                    bad = trial
                    if good:
                        break
                    if trial == 1:
                        raise CROutOfReach(f"code {start} has no accumulator that rounds correctly")
                    trial = max(trial // 2, 1)
                if bad - good <= 1:
                    break
            while bad - good > 1:
                mid = (good + bad) // 2
                row = self.fit(start, mid)
                if row is not None:
                    good, good_row = mid, row
                else:
                    bad = mid
            out.append((start, good, good_row))
            start += good
            guess = good
        return out


def _build(function: Function, params, in_fmt: Fmt, out_fmt: Fmt, rounding: str, overflow_mode: str,
           domain: _Domain, fold: Fold | None, shape: _Shape, segments) -> Plan:
    starts = tuple(start for start, _, _ in segments)
    origins = tuple(shape.origin(start) for start in starts)
    steps = tuple(HornerStep(shape.shifts[k], "TRN") for k in range(shape.degree - 1, -1, -1))
    frac = tuple(out_fmt.frac_bits + shape.guard + shape.scale(k) for k in range(shape.degree + 1))
    return Plan(function=function.name, params=dict(params), method="cr", in_fmt=in_fmt, out_fmt=out_fmt,
                select=SegmentSelect(starts[1:], origins), table=CoefTable(tuple(row for _, _, row in segments), frac),
                horner=steps, output=OutputStage(shape.guard, rounding, overflow_mode), clamp=domain.clamp,
                fold=fold)


def cr_candidates(function: Function, params: Mapping[str, Any], in_fmt: Fmt, out_fmt: Fmt, *,
                  cost: Callable[[Plan], float], rounding: str = "RND", overflow_mode: str = "SAT",
                  shapes=CR_SHAPES, time_limit: float = CR_TIME_LIMIT) -> list[tuple[Plan, dict[str, Any]]]:
    """Every correctly rounded plan built from ``shapes`` (``(degree, guard, extra)``), cheapest first.

    Each comes with what its search took: ``{"degree", "guard", "extra", "lps", "counterexample_passes",
    "seconds"}``.
    The shapes are tried in order, every one of them (so the answer does not depend on the
    machine's speed); ``time_limit`` only stops a search that has gone badly wrong. ``cost``
    ranks the plans (``auto`` passes :func:`hwact.cost.plan_cost`).
    """
    if overflow_mode == "WRAP":
        raise CROutOfReach("cr needs a saturating output (SAT or SAT_SYM): WRAP has no rounding intervals")
    if in_fmt.width > CR_MAX_INPUT_BITS:
        raise CROutOfReach(f"cr checks every input code: inputs up to {CR_MAX_INPUT_BITS} bits, "
                           f"not {in_fmt.width} ({in_fmt})")
    deadline = time.monotonic() + time_limit
    domain = _domain(function, params, in_fmt, out_fmt, rounding, overflow_mode)
    length_bits = min(CR_MAX_LENGTH_BITS, max(domain.hi - domain.lo, 1).bit_length())
    found = []
    for degree, guard, extra, *more in shapes:
        align = more[0] if more else 0
        bits = more[1] if len(more) > 1 else length_bits
        began = time.monotonic()
        fold = fold_for(function, in_fmt, out_fmt, guard) if domain.folded else None
        if domain.folded and fold is None:
            continue
        lo, hi, big = _intervals(domain, fold, guard, rounding, out_fmt, overflow_mode, in_fmt)
        if np.any(lo > hi):  # too few guard bits to serve both signs of some code
            continue
        shape = _Shape(degree, guard, bits, extra, align)
        segmenter = _Segmenter(shape, lo, hi, big, domain.lo)
        # A shape needing over twice the rows of the cheapest plan so far cannot beat it
        # (rows dominate the cost); stopping it early is what keeps degree 1 affordable.
        most = min([CR_MAX_SEGMENTS, *(2 * entry[2].select.segments for entry in found)])
        try:
            segments = segmenter.segments(domain.hi, deadline, most)
        except CROutOfReach:
            continue
        plan = _build(function, params, in_fmt, out_fmt, rounding, overflow_mode, domain, fold, shape, segments)
        if model_overflow(plan, traced=False):
            continue
        info = {"degree": degree, "guard": guard, "extra": extra, "align": align, "length_bits": bits,
                "lps": segmenter.lps,
                "counterexample_passes": segmenter.counterexamples,
                "seconds": round(time.monotonic() - began, 2)}
        found.append((cost(plan), len(found), plan, info))
    found.sort(key=lambda entry: entry[:2])
    return [(plan, info) for _, _, plan, info in found]


def plan_cr(function: Function, params: Mapping[str, Any], in_fmt: Fmt, out_fmt: Fmt, *,
            cost: Callable[[Plan], float], rounding: str = "RND", overflow_mode: str = "SAT", shapes=CR_SHAPES,
            cache: bool = True) -> Plan:
    """The cheapest correctly rounded plan found (every code checked exactly on the integer datapath).

    Solved plans are kept under the hwact cache (:mod:`hwact.cache`, folder ``cr-plans``),
    keyed by a hash of the request and the planner's version: a 16-bit request takes tens of
    seconds to solve, and its answer never changes. Raises :class:`CROutOfReach` when no shape gives a plan.
    """
    key = hashlib.sha256(json.dumps([CR_VERSION, function.name, sorted((k, repr(v)) for k, v in params.items()),
                                     str(in_fmt), str(out_fmt), rounding, overflow_mode,
                                     [list(s) for s in shapes]]).encode()).hexdigest()[:24]
    entry = load_json(CACHE_KIND, key) if cache else None
    if entry is not None:
        try:
            return Plan.from_dict(entry)
        except (ValueError, KeyError, TypeError):
            pass  # a damaged entry is solved again and rewritten
    found = cr_candidates(function, params, in_fmt, out_fmt, rounding=rounding, overflow_mode=overflow_mode,
                          shapes=shapes, cost=cost)
    if not found:
        raise CROutOfReach(f"no correctly rounded {function.name} plan for {in_fmt} -> {out_fmt} "
                           f"within {CR_MAX_SEGMENTS} segments")
    plan = found[0][0]
    if cache:
        store_json(CACHE_KIND, key, plan.to_dict())  # atomic (worktrees share the cache); skipped if read-only
    return plan

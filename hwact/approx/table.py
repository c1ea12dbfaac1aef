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
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from ..fixed import Fmt, overflow, round_real, shift_round, unique_codes
from ..functions import Function
from ..model import evaluate, row_of, unfold
from ..plan import BitSlice, Clamp, CoefTable, Fold, HornerStep, OutputStage, Plan, SegmentSelect
from ..measure import mode_target, segment_edges
from .rounding_split import MAX_SPLIT_DOMAIN_BITS, SplitSearch, constant_scores, search_splits, windows

__all__ = ["plan_table", "SegmentsOutOfReach", "TooManySegments", "MAX_LUT_INPUT_BITS", "MAX_NONUNIFORM_SEGMENTS",
           "MAX_SEGMENT_BITS", "PROBE_BITS"]

#: A direct table has an entry per code: inputs up to this many bits.
MAX_LUT_INPUT_BITS = 20
#: Inputs up to this many bits are fitted and searched on every code; wider ones on a probe set.
PROBE_BITS = 20
#: At most ``2**MAX_SEGMENT_BITS`` uniform segments (the fit holds segments x points in memory).
MAX_SEGMENT_BITS = 14
#: Int64 headroom the model's Horner products must stay within (sign bit and one spare).
MODEL_BITS = 62
#: Longest segment, ``2**MAX_SEGMENT_LENGTH_BITS`` codes, so that its products fit ``MODEL_BITS``.
MAX_SEGMENT_LENGTH_BITS = 26
#: Most non-uniform segments: each costs a comparator on the input, and past this many a
#: bit-sliced (uniform) table is the cheaper hardware; it also bounds the planner's time.
MAX_NONUNIFORM_SEGMENTS = 1 << 10
#: How far inside its rounding interval (LSBs) the real value must be where a truncating clamp starts.
CLAMP_MARGIN = 0.25
#: Points per segment used for fitting (all codes when the segment is shorter).
FIT_POINTS = 1024
LAWSON_ITERATIONS = 30


class SegmentsOutOfReach(ValueError):
    """This segmentation cannot be built (too many segments, or products too wide); others may be."""


class TooManySegments(SegmentsOutOfReach):
    """This segmentation needs more segments than allowed; finer ones need even more."""


# -- the target -----------------------------------------------------------------------------


def _target(function: Function, params: Mapping[str, Any], in_fmt: Fmt, out_fmt: Fmt, codes: np.ndarray) -> np.ndarray:
    """The real function at ``codes`` in output LSB units (unclipped)."""
    return np.asarray(function.reference(in_fmt.to_real(codes), params), dtype=np.float64) / out_fmt.lsb


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
        gram += 1e-13 * np.eye(degree + 1)  # segments with at most `degree` codes: interpolate, not fail
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
        if len(segments) == MAX_NONUNIFORM_SEGMENTS:
            raise TooManySegments(f"a fit within {tolerance:.3g} LSB needs over {MAX_NONUNIFORM_SEGMENTS} "
                                  f"non-uniform segments")
        # length 1 always fits (a constant); bad is the first failing length
        good, bad = 1, min(hi - start + 2, (1 << MAX_SEGMENT_LENGTH_BITS) + 1)
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
    if _product_bits(coef_t[0], max(length - 1, 1).bit_length()) > MODEL_BITS - 2:
        return float("inf")  # too long for the model's int64, however well it fits
    if degree >= 2 and length > 2:
        ends = np.array([0.0, length - 1.0])
        slope = coef_t[0, 1] + 2 * coef_t[0, 2] * ends  # p'(t) at both ends (linear for a quadratic)
        rise = np.diff(target_of(np.array([start, start + length // 2, start + length - 1])))
        if np.all(rise >= 0) and slope.min() < 0 or np.all(rise <= 0) and slope.max() > 0:
            return float("inf")
    return float(err[0])


#: Split searches by request: ``auto`` tries several segment counts of one search.
_SPLIT_CACHE: dict[str, SplitSearch] = {}
#: The most segments a split search considers.
MAX_SPLIT_SEGMENTS = 48
#: Each segment's t terms are tilted by up to this much (LSBs at its last code), in this many steps.
TILT_LSB, TILT_STEPS = 0.3, 9


def _rounding_segments(function, params, in_fmt, out_fmt, rounding, overflow_mode, clamp, fold, domain, degree,
                       guard, segments, target_of, low, min_share) -> tuple[np.ndarray, np.ndarray]:
    """Starts and coefficients (LSB units, powers of t) of the best-rounding split into ``segments``."""
    d_lo, d_hi = domain
    if d_hi - d_lo + 1 > 1 << MAX_SPLIT_DOMAIN_BITS:
        raise SegmentsOutOfReach(f"segments placed for rounding need a domain of at most 2**{MAX_SPLIT_DOMAIN_BITS} "
                                 f"codes, not {d_hi - d_lo + 1}")
    if not 1 <= segments <= MAX_SPLIT_SEGMENTS:
        raise SegmentsOutOfReach(f"segments placed for rounding: 1 to {MAX_SPLIT_SEGMENTS}, not {segments}")
    key = repr((function.name, sorted(params.items()), str(in_fmt), str(out_fmt), rounding, overflow_mode, degree,
                guard))
    if key not in _SPLIT_CACHE:
        if len(_SPLIT_CACHE) >= 64:  # a long-lived process planning many units
            _SPLIT_CACHE.clear()
        codes = in_fmt.all_codes()
        read = codes if clamp is None else np.clip(codes, clamp.lo, clamp.hi)
        read = np.abs(read) if fold is not None else read
        weight = np.bincount(read - d_lo, minlength=d_hi - d_lo + 1)[: d_hi - d_lo + 1].astype(np.float64)
        positions = np.arange(d_lo, d_hi + 1, dtype=np.int64)
        target = np.clip(target_of(positions), low, out_fmt.max_code)
        _SPLIT_CACHE[key] = search_splits(target, weight, degree, guard, MAX_SPLIT_SEGMENTS)
    found = _SPLIT_CACHE[key]
    if segments not in found.starts:
        raise SegmentsOutOfReach(f"no faithful split of {function.name} into {segments} segments of degree {degree}")
    if found.score[segments] < min_share:
        raise SegmentsOutOfReach(f"{segments} segments are predicted to round {found.score[segments]:.1%} correctly")
    starts, coef_t = found.starts[segments], found.coefficients[segments].copy()
    return starts + d_lo, _rounding_constants(starts, coef_t, found.target, found.weight, (d_lo, d_hi), degree,
                                              guard, fold, clamp, in_fmt, out_fmt, rounding, overflow_mode, target_of,
                                              low)


def _rounding_constants(starts, coef_t, target, weight, domain, degree, guard, fold, clamp, in_fmt, out_fmt,
                        rounding, overflow_mode, target_of, low) -> np.ndarray:
    """Quantize the ``t`` terms as the plan will, then choose every segment's terms and constant.

    The search scored unquantized terms; here each segment's quantized terms may be tilted
    (``TILT_LSB``), every faithful constant is scored through the integer datapath, and a
    Viterbi pass picks one (tilt, constant) per segment: the most correctly rounded codes in
    all, using only boundaries where the output does not step against the function, on
    either side of a fold (unless no pair at some boundary manages that).
    """
    d_lo, d_hi = domain
    ends = np.append(starts[1:], d_hi - d_lo + 1)
    widest = max(int(max(end - start - 1, 1)).bit_length() for start, end in zip(starts, ends))
    scales = _scales(degree, widest, guard)
    terms = np.round(coef_t[:, 1:] * np.exp2(scales[1:])).astype(np.int64)
    coef_t[:, 1:] = terms / np.exp2(scales[1:])
    grid = 1 << guard
    window = windows(target, weight, 1 / grid)
    lo_code, hi_code = (clamp.lo, clamp.hi) if clamp is not None else (in_fmt.min_code, in_fmt.max_code)

    def outputs(acc: np.ndarray, code: int) -> dict[int, tuple[int, np.ndarray]]:
        """Per side (+1, and -1 under a fold): the input code reading table position ``code``, and its outputs."""
        found = {}
        if lo_code <= code <= hi_code:
            found[1] = (code, overflow(shift_round(acc, guard, rounding), out_fmt, overflow_mode))
        if fold is not None and code > 0 and lo_code <= -code <= hi_code:
            mirrored = unfold(fold, acc, np.full_like(acc, code))
            found[-1] = (-code, overflow(shift_round(mirrored, guard, rounding), out_fmt, overflow_mode))
        return found

    # Viterbi over the segments: a state is a tilt of the segment's t terms and a constant.
    tilts = np.linspace(-TILT_LSB, TILT_LSB, TILT_STEPS)
    chosen_terms, chosen_constants, total, back = [], [], None, []
    for segment, (start, end) in enumerate(zip(starts, ends)):
        t = np.arange(end - start, dtype=np.int64)
        span = max(int(end - start) - 1, 1)
        variants, constants, counts, lasts = [], [], [], []
        for tilt in np.array(np.meshgrid(tilts, tilts)).reshape(2, -1).T if degree > 1 else tilts[:, None]:
            # tilt[k - 1]: how far c_k moves the segment's last output, in LSBs
            change = np.zeros(degree)
            change[:tilt.size] = tilt[:degree]
            varied = terms[segment] + np.round(change / span ** np.arange(1, degree + 1)
                                               * np.exp2(scales[1:])).astype(np.int64)
            acc = np.full_like(t, varied[-1])
            for k in range(degree - 2, -1, -1):  # the exact inner Horner steps, then the one truncation
                acc = acc * t + varied[k]
            p = (acc * t) >> (scales[1] - scales[0])
            scores = constant_scores(p / grid, tuple(w[start:end] for w in window), weight[start:end], grid)
            if scores is None:
                continue
            first, count = scores
            variants += [varied] * count.size
            constants.append(first + np.arange(count.size, dtype=np.int64))
            counts.append(count)
            lasts.append(first + np.arange(count.size, dtype=np.int64) + int(p[-1]))
        if not counts:
            raise SegmentsOutOfReach("a segment placed for rounding is not faithful once quantized")
        constants, counts, lasts = np.concatenate(constants), np.concatenate(counts), np.concatenate(lasts)
        if total is None:
            total, link = counts, np.zeros(counts.size, dtype=np.int64)
        else:  # allowed[i, j]: previous state i, this state j, no step against the function
            code = d_lo + int(start)
            allowed = np.ones((previous_last.size, constants.size), dtype=bool)
            new, old = outputs(constants, code), outputs(previous_last, code - 1)
            for (x_new, y_new), (x_old, y_old) in ((new[side], old[side]) for side in new.keys() & old.keys()):
                rise = np.diff(np.clip(target_of(np.array(sorted((x_old, x_new)))), low, out_fmt.max_code))[0]
                step = (y_new[None, :] - y_old[:, None]) * (1 if x_new > x_old else -1)
                allowed &= step * rise >= 0
            if not allowed.any():
                allowed[:] = True  # no monotone boundary here: the best roundings then
            reach = np.where(allowed, total[:, None], -np.inf)
            link = np.argmax(reach, axis=0)
            total = reach[link, np.arange(constants.size)] + counts
        chosen_terms.append(variants)
        chosen_constants.append(constants)
        back.append(link)
        previous_last = lasts
    pick = int(np.argmax(total))
    for segment in range(len(starts) - 1, -1, -1):
        coef_t[segment, 0] = chosen_constants[segment][pick] / grid
        coef_t[segment, 1:] = chosen_terms[segment][pick] / np.exp2(scales[1:])
        pick = int(back[segment][pick])
    return coef_t


# -- quantization and the plan ----------------------------------------------------------------


def _quantize(coef_t: np.ndarray, scales: list[int]) -> np.ndarray | None:
    """Integer coefficients, or None when one would not fit the model's int64."""
    scaled = np.round(coef_t * np.exp2(scales))
    return scaled.astype(np.int64) if np.all(np.abs(scaled) < 2.0 ** MODEL_BITS) else None


def _scales(degree: int, shift_bits: int, guard: int, exact_inner: bool = True) -> list[int]:
    """Fraction bits (beyond the output LSB) of each coefficient column, constant term first.

    The top term ``c_d * t**d`` with ``t < 2**shift_bits`` must carry ``guard`` bits below the
    output LSB, so ``c_d`` needs ``d * shift_bits`` more. The lower coefficients get as many,
    so every Horner step but the last is exact: one truncation of a polynomial that is
    monotone on its segment keeps the outputs monotone (truncating inside the Horner chain
    would let the accumulator jitter by a unit and flip roundings backwards).

    Without ``exact_inner``, ``c_k`` carries ``k * shift_bits`` more and every step drops
    ``shift_bits``: narrower products, for segments too long for the exact scheme.
    """
    if not exact_inner:
        return [guard + k * shift_bits for k in range(degree + 1)]
    return [guard] + [guard + degree * shift_bits] * degree


def _product_bits(coef_t: np.ndarray, shift_bits: int, guard: int = 8) -> float:
    """Estimated widest Horner product of one segment under the rounded-inner scheme (float, quick)."""
    degree = len(coef_t) - 1
    magnitude = np.abs(coef_t) * np.exp2(guard + shift_bits * np.arange(degree + 1))
    acc, widest = magnitude[-1], 0.0
    for k in range(degree - 1, -1, -1):
        widest = max(widest, np.log2(acc + 1) + shift_bits)
        acc = acc + magnitude[k]
    return widest


def _fits_model(rows: np.ndarray, scales: list[int], shift_bits: int) -> bool:
    """Whether every Horner product stays within :data:`MODEL_BITS` (the model computes in int64)."""
    magnitude = [max(abs(int(v)) for v in column) for column in rows.T]
    acc = magnitude[-1]
    for k in range(len(scales) - 2, -1, -1):
        product = acc << shift_bits  # t < 2**shift_bits
        if product.bit_length() > MODEL_BITS:
            return False
        acc = (product >> (scales[k + 1] - scales[k])) + magnitude[k]
    return acc.bit_length() <= MODEL_BITS


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
    segment = row_of(plan, target_codes)
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
        folded = _fold_for(function, in_fmt, out_fmt, guard) if fold is not None else None
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
               guard: int = 4, search_radius: int = 2) -> Plan:
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
    """
    def target_of(c):
        return _target(function, params, in_fmt, out_fmt, c)

    wide = in_fmt.width > PROBE_BITS
    if method == "lut" and in_fmt.width > MAX_LUT_INPUT_BITS:
        raise ValueError(f"lut has an entry per input code: inputs up to {MAX_LUT_INPUT_BITS} bits, "
                         f"not {in_fmt.width} ({in_fmt}); use pwl or pwl2")
    codes = _probe_codes(in_fmt, target_of) if wide else in_fmt.all_codes()
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

    lo, hi = _saturation_clamp(codes, rounded_of) if overflow_mode != "WRAP" else (int(codes[0]), int(codes[-1]))
    clamp = None if (lo, hi) == (in_fmt.min_code, in_fmt.max_code) else Clamp(lo, hi)

    if method == "lut":
        degree, guard = 0, 0
        fold = _fold_for(function, in_fmt, out_fmt, 0)
    else:
        degree = {"pwl": 1, "pwl2": 2}[method]
        fold = _fold_for(function, in_fmt, out_fmt, guard)
    d_lo, d_hi = (0, max(-lo, hi, 0)) if fold else (lo, hi)
    if fold and (lo > 0 or lo == hi):  # nothing negative to recover (or a constant)
        fold = None
        d_lo, d_hi = lo, hi

    if method == "lut":
        return _direct_table(function, params, in_fmt, out_fmt, rounding, overflow_mode, clamp, fold, (d_lo, d_hi),
                             target_of)

    if [shift, tolerance, segments].count(None) != 2:
        raise ValueError("give exactly one of shift (uniform), tolerance or segments (non-uniform)")
    if segments is not None:
        starts, coef_t = _rounding_segments(function, params, in_fmt, out_fmt, rounding, overflow_mode, clamp, fold,
                                            (d_lo, d_hi), degree, guard, segments, target_of, low, min_share)
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
    if rows is None or not _fits_model(rows, scales, widest):  # long segments (wide inputs): round inside Horner
        scales = _scales(degree, widest, guard, exact_inner=False)
        rows = _quantize(coef_t, scales)
        if rows is None or not _fits_model(rows, scales, widest):
            raise SegmentsOutOfReach(f"{2 ** widest}-code segments of {function.name} at {in_fmt} -> {out_fmt} need "
                             f"products over {MODEL_BITS} bits; use narrower formats")
    plan = _build(function, params, method, in_fmt, out_fmt, rounding, overflow_mode, clamp, fold,
                  select, rows, scales, degree)
    if search_radius and segments is None:  # a rounding split already chose its rows on the integer datapath
        if wide:  # the probe set and every segment edge
            edges = np.asarray([e + d for e in segment_edges(plan) for d in (-2, -1, 0, 1)], dtype=np.int64)
            codes = unique_codes(np.concatenate([codes, np.clip(edges, in_fmt.min_code, in_fmt.max_code)]))
            exact = target_of(codes)
        plan = _search(plan, codes, np.clip(exact, low, out_fmt.max_code), search_radius)
    return plan

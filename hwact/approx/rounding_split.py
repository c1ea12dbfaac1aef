"""Non-uniform segments placed for the most correctly rounded outputs (round-to-nearest units).

The tolerance ladder splits a function into segments of equal fit error. That is the fewest
segments for a *maximum* error, but not for a share of correctly rounded outputs: an output
rounds correctly when the polynomial lands within half an LSB of the same integer as the real
value, so what counts is how many codes a segment's polynomial keeps on the right side of
their rounding boundaries. A long, nearly polynomial stretch at a small error can be worth
more than two segments of equal error (SiLU at s4.12: 12 segments at 91 % correctly rounded,
where the equal-error split needs 14).

The split is found by dynamic programming over a grid of cell boundaries. A candidate segment
is scored as follows: a least-squares polynomial gives the ``t`` terms, then every constant
term on the accumulator's grid (``2**-guard`` LSB) is tried at once (a difference array over
the constants each code accepts), keeping the one with the most correctly rounded codes among
those that keep every code faithful. Codes are weighted by how many input codes read them
(both signs under a fold, every code beyond a clamp), and a code read from beyond a clamp must
round correctly: the codes it stands for share its output.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..fixed import overflow, shift_round
from ..model import unfold
from .quantize import column_scales
from .segments import RoundingSplit, SegmentsOutOfReach

if TYPE_CHECKING:
    from .request import PlanRequest
    from .table import TableShape

__all__ = [
    "MAX_SPLIT_DOMAIN_BITS",
    "MAX_SPLIT_SEGMENTS",
    "SPLIT_CELLS",
    "SPLIT_MAX_CELLS",
    "SplitSearch",
    "constant_scores",
    "rounding_segments",
    "search_splits",
    "windows",
]

#: The domain is cut on a grid of about this many cells.
SPLIT_CELLS = 256
#: The longest segment considered, in cells.
SPLIT_MAX_CELLS = 64
#: Domains (after the clamp and the fold) up to this many bits are searched (every code is scored).
MAX_SPLIT_DOMAIN_BITS = 16
#: Points of each least-squares fit.
FIT_POINTS = 256
#: Candidate segments are first checked for a faithful constant on about this many codes.
SCREEN_POINTS = 64
#: Codes scored per batch of candidate segments (rows x length), to stay in cache.
BATCH_CODES = 1 << 16
#: The most segments a split search considers.
MAX_SPLIT_SEGMENTS = 48
#: Each segment's t terms are tilted by up to this much (LSBs at its last code), in this many steps.
TILT_LSB, TILT_STEPS = 0.3, 9
#: Split searches by request: ``auto`` tries several segment counts of one search.
_SPLIT_CACHE: dict[tuple, SplitSearch] = {}


@dataclass(frozen=True)
class SplitSearch:
    """Best splits per segment count: ``starts[m]`` (segment start codes) and ``score[m]``.

    ``score[m]`` is the predicted share of input codes correctly rounded (before quantizing
    the ``t`` coefficients); ``-inf`` when no faithful split into ``m`` segments was found.
    ``coefficients[m]`` holds, per segment, the constant and the ``t`` coefficients in LSB units.
    """

    starts: dict[int, np.ndarray]
    score: dict[int, float]
    coefficients: dict[int, np.ndarray]
    target: np.ndarray
    weight: np.ndarray

    def counts(self, min_score: float) -> list[int]:
        """Segment counts whose predicted correctly rounded share reaches ``min_score``, fewest first."""
        return sorted(m for m, s in self.score.items() if s >= min_score)


def windows(target: np.ndarray, weight: np.ndarray, margin: float = 0.0) -> tuple[np.ndarray, ...]:
    """Per code, the accumulator ranges (in LSBs) that round correctly and that stay faithful.

    Round half up: an accumulator ``v`` gives ``floor(v + 1/2)``, so the output ``R`` needs
    ``v`` in ``[R - 1/2, R + 1/2)``; faithful outputs are ``floor(f)`` and ``ceil(f)``. The
    faithful range starts ``margin`` higher (one step of the accumulator's grid).
    """
    nearest = np.floor(target + 0.5)
    cr_lo, cr_hi = nearest - 0.5, nearest + 0.5
    f_lo, f_hi = np.floor(target) - 0.5, np.ceil(target) + 0.5
    # A code read far more often than most stands for codes beyond a clamp, which share its output.
    shared = weight > np.median(weight[weight > 0]) if np.any(weight > 0) else np.zeros_like(weight, bool)
    f_lo, f_hi = np.where(shared, cr_lo, f_lo), np.where(shared, cr_hi, f_hi)
    # A fold that negates the accumulator turns [lo, hi) into (-hi, -lo]: keep off the low edge.
    return cr_lo, cr_hi, f_lo + margin, f_hi


def constant_scores(p: np.ndarray, window, weight: np.ndarray, grid: int) -> tuple[int, np.ndarray] | None:
    """For the polynomial part ``p`` (LSBs, per code), every faithful constant ``c / grid``.

    Returns ``(first c, weighted correctly rounded count per c from it)``, or None when no
    constant keeps every code faithful. ``window`` is :func:`windows` of the codes.
    """
    cr_lo, cr_hi, f_lo, f_hi = window
    # v = c / grid + p lies in [lo, hi)  <=>  c in [ceil(grid (lo - p)), ceil(grid (hi - p)))
    low = int(np.ceil(grid * (f_lo - p)).max())
    high = int(np.ceil(grid * (f_hi - p)).min()) - 1
    if high < low:
        return None
    span = high - low + 2
    first = np.clip(np.ceil(grid * (cr_lo - p)).astype(np.int64), low, high + 1) - low
    last = np.clip(np.ceil(grid * (cr_hi - p)).astype(np.int64), low, high + 1) - low
    return low, np.cumsum(np.bincount(first, weight, span) - np.bincount(last, weight, span))[:span - 1]


def _segment_scores(target: np.ndarray, window, weight: np.ndarray, starts: np.ndarray, length: int, degree: int,
                    grid: int) -> tuple[np.ndarray, np.ndarray]:
    """Score segments ``[start, start + length)`` for every start at once (see :func:`constant_scores`).

    Per segment: a least-squares polynomial on up to ``FIT_POINTS`` codes gives the ``t`` terms,
    and the faithful constant with the most (weighted) correct roundings is taken. Returns the
    best count per segment (``-inf`` when no constant is faithful) and ``[constant, t terms]``.
    """
    sample = np.unique(np.linspace(0, length - 1, min(length, FIT_POINTS)).round().astype(np.int64))
    scale = max(length - 1, 1)
    vander = np.vander(sample / scale, degree + 1, increasing=True)
    # One pseudo-inverse serves every segment of this length (the same least-squares problem).
    coef_u = target[starts[:, None] + sample[None, :]] @ np.linalg.pinv(vander).T
    coef_t = coef_u / scale ** np.arange(degree + 1)
    best = np.full(starts.size, -np.inf)
    coefficients = np.zeros((starts.size, degree + 1))
    # Screen on every few codes first: a segment no constant keeps faithful there is not
    # faithful on all its codes either (more codes only narrow the faithful constants).
    screen = np.unique(np.append(np.arange(0, length, max(length // SCREEN_POINTS, 1)), length - 1))
    if screen.size < length:
        live = np.nonzero(_faithful_range(coef_t, screen, starts, window, grid, None)[2])[0]
    else:
        live = np.arange(starts.size)
    t = np.arange(length, dtype=np.int64)
    rows_per_batch = max(BATCH_CODES // length, 1)  # keep the working set in cache
    for part in range(0, live.size, rows_per_batch):
        rows = live[part:part + rows_per_batch]
        low, high, ok, p, codes = _faithful_range(coef_t[rows], t, starts[rows], window, grid, weight)
        rows, low, high, p, codes = rows[ok], low[ok], high[ok], p[ok], codes[ok]
        if rows.size == 0:
            continue
        cr_lo, cr_hi = window[0][codes], window[1][codes]
        w = weight[codes]
        span = int((high - low).max()) + 2
        first = np.clip(np.ceil(grid * (cr_lo - p)).astype(np.int64), low[:, None], high[:, None] + 1) - low[:, None]
        last = np.clip(np.ceil(grid * (cr_hi - p)).astype(np.int64), low[:, None], high[:, None] + 1) - low[:, None]
        # A difference array per segment: +w where a code starts rounding correctly, -w past its end.
        offset = np.arange(rows.size, dtype=np.int64)[:, None] * span
        size = rows.size * span
        diff = (np.bincount((first + offset).ravel(), w.ravel(), size)
                - np.bincount((last + offset).ravel(), w.ravel(), size)).reshape(rows.size, span)
        counts = np.cumsum(diff, axis=1)
        counts[np.arange(span)[None, :] > (high - low)[:, None]] = -np.inf  # past each row's last faithful constant
        pick = np.argmax(counts, axis=1)
        best[rows] = counts[np.arange(rows.size), pick]
        coefficients[rows, 0] = (low + pick) / grid
        coefficients[rows, 1:] = coef_t[rows, 1:]
    return best, coefficients


def _faithful_range(coef_t: np.ndarray, t: np.ndarray, starts: np.ndarray, window, grid: int, weight):
    """The faithful constants ``low..high`` (grid units) of each row's polynomial at offsets ``t``.

    Returns ``(low, high, any faithful, p, codes)``; ``p`` is the polynomial without its
    constant, evaluated as ``polyval`` does (Horner), at ``codes = start + t``.
    """
    tf = t.astype(np.float64)
    degree = coef_t.shape[1] - 1
    p = np.zeros((starts.size, t.size)) + coef_t[:, -1:]
    for k in range(degree - 1, -1, -1):
        p = p * tf + (coef_t[:, k:k + 1] if k else 0.0)
    codes = starts[:, None] + t[None, :]
    # v = c / grid + p lies in [lo, hi)  <=>  c in [ceil(grid (lo - p)), ceil(grid (hi - p)))
    low = np.ceil(grid * (window[2][codes] - p)).max(axis=1).astype(np.int64)
    high = np.ceil(grid * (window[3][codes] - p)).min(axis=1).astype(np.int64) - 1
    return low, high, high >= low, p, codes


def search_splits(target: np.ndarray, weight: np.ndarray, degree: int, guard: int, max_segments: int) -> SplitSearch:
    """Search splits of the domain ``target`` covers (one entry per code, in output LSBs).

    ``weight[k]`` is how many input codes read code ``k``; ``max_segments`` bounds the counts.
    """
    n = target.size
    cell = -(-n // SPLIT_CELLS)
    cells = -(-n // cell)
    grid = 1 << guard
    window = windows(target, weight, 1 / grid)
    score = np.full((cells + 1, cells + 1), -np.inf)
    coefficients: dict[tuple[int, int], np.ndarray] = {}
    # Every candidate segment of the same length is scored in one batch: one fit matrix, one
    # NumPy pass (a segment ending at the domain's end may be shorter, and gets its own batch).
    for cells_long in range(1, min(cells, SPLIT_MAX_CELLS) + 1):
        first_cells = np.arange(cells - cells_long + 1, dtype=np.int64)
        lengths = np.minimum((first_cells + cells_long) * cell, n) - first_cells * cell
        for length in np.unique(lengths):
            if length <= degree:
                continue
            rows = first_cells[lengths == length]
            best, coef = _segment_scores(target, window, weight, rows * cell, int(length), degree, grid)
            for i, row_score, row_coef in zip(rows.tolist(), best.tolist(), coef):
                if row_score != -np.inf:
                    score[i, i + cells_long] = row_score
                    coefficients[(i, i + cells_long)] = row_coef
    # best[m, j]: the most correct roundings of codes [0, j * cell) in m segments; `came` the cut.
    best = np.full((max_segments + 1, cells + 1), -np.inf)
    came = np.zeros((max_segments + 1, cells + 1), dtype=np.int64)
    best[0, 0] = 0.0
    for m in range(1, max_segments + 1):
        total = best[m - 1][:, None] + score
        came[m] = np.argmax(total, axis=0)
        best[m] = total[came[m], np.arange(cells + 1)]
    starts, shares, coefs = {}, {}, {}
    total_weight = float(weight.sum())
    for m in range(1, max_segments + 1):
        if not np.isfinite(best[m, cells]):
            continue
        cuts, j = [cells], cells
        for k in range(m, 0, -1):
            j = int(came[k, j])
            cuts.append(j)
        cuts.reverse()
        starts[m] = np.array([c * cell for c in cuts[:-1]], dtype=np.int64)
        shares[m] = best[m, cells] / total_weight
        coefs[m] = np.array([coefficients[(i, j)] for i, j in itertools.pairwise(cuts)])
    return SplitSearch(starts, shares, coefs, target, weight)


def rounding_segments(shape: TableShape, split: RoundingSplit,
                      check_starts: Callable[[np.ndarray], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Starts and coefficients (LSB units, powers of t) of the best-rounding split of ``shape``'s domain.

    ``check_starts(starts)`` (input codes) may refuse the split before its constants are chosen.
    """
    request, degree, guard, segments = shape.request, shape.degree, shape.guard, split.segments
    d_lo, d_hi = shape.domain
    if d_hi - d_lo + 1 > 1 << MAX_SPLIT_DOMAIN_BITS:
        raise SegmentsOutOfReach(f"segments placed for rounding need a domain of at most 2**{MAX_SPLIT_DOMAIN_BITS} "
                                 f"codes, not {d_hi - d_lo + 1}")
    if not 1 <= segments <= MAX_SPLIT_SEGMENTS:
        raise SegmentsOutOfReach(f"segments placed for rounding: 1 to {MAX_SPLIT_SEGMENTS}, not {segments}")
    key = (*request.key(), request.rounding, request.overflow, degree, guard)
    if key not in _SPLIT_CACHE:
        if len(_SPLIT_CACHE) >= 64:  # a long-lived process planning many units
            _SPLIT_CACHE.clear()
        codes = request.in_fmt.all_codes()
        read = codes if shape.clamp is None else np.clip(codes, shape.clamp.lo, shape.clamp.hi)
        read = np.abs(read) if shape.fold is not None else read
        weight = np.bincount(read - d_lo, minlength=d_hi - d_lo + 1)[: d_hi - d_lo + 1].astype(np.float64)
        positions = np.arange(d_lo, d_hi + 1, dtype=np.int64)
        target = np.clip(request.target(positions), request.low, request.out_fmt.max_code)
        _SPLIT_CACHE[key] = search_splits(target, weight, degree, guard, MAX_SPLIT_SEGMENTS)
    found = _SPLIT_CACHE[key]
    if segments not in found.starts:
        raise SegmentsOutOfReach(f"no faithful split of {request.function.name} into {segments} segments of "
                                 f"degree {degree}")
    if found.score[segments] < split.min_share:
        raise SegmentsOutOfReach(f"{segments} segments are predicted to round {found.score[segments]:.1%} correctly")
    starts, coef_t = found.starts[segments], found.coefficients[segments].copy()
    if check_starts is not None:
        check_starts(starts + d_lo)
    return starts + d_lo, _rounding_constants(shape, starts, coef_t, found)


def _rounding_constants(shape: TableShape, starts: np.ndarray, coef_t: np.ndarray, search: SplitSearch) -> np.ndarray:
    """Quantize the ``t`` terms as the plan will, then choose every segment's terms and constant.

    The search scored unquantized terms; here each segment's quantized terms may be tilted
    (``TILT_LSB``), every faithful constant is scored through the integer datapath, and a
    Viterbi pass picks one (tilt, constant) per segment: the most correctly rounded codes in
    all, using only boundaries where the output does not step against the function, on
    either side of a fold (unless no pair at some boundary manages that).
    """
    request, degree, guard, fold = shape.request, shape.degree, shape.guard, shape.fold
    out_fmt, rounding, overflow_mode = request.out_fmt, request.rounding, request.overflow
    target, weight = search.target, search.weight
    d_lo, d_hi = shape.domain
    ends = np.append(starts[1:], d_hi - d_lo + 1)
    widest = max(int(max(end - start - 1, 1)).bit_length() for start, end in zip(starts, ends))
    scales = column_scales(degree, widest, guard)
    terms = np.round(coef_t[:, 1:] * np.exp2(scales[1:])).astype(np.int64)
    coef_t[:, 1:] = terms / np.exp2(scales[1:])
    grid = 1 << guard
    window = windows(target, weight, 1 / grid)
    lo_code, hi_code = shape.read_range

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
    previous_last = np.zeros(0, dtype=np.int64)  # the last outputs' accumulators of the previous segment
    for segment, (start, end) in enumerate(zip(starts, ends)):
        t = np.arange(end - start, dtype=np.int64)
        span = max(int(end - start) - 1, 1)
        variants, constants, counts, lasts = [], [], [], []
        tilt = np.array(np.meshgrid(tilts, tilts)).reshape(2, -1).T if degree > 1 else tilts[:, None]
        # tilt[:, k - 1]: how far c_k moves the segment's last output, in LSBs (every tilt at once)
        change = np.zeros((tilt.shape[0], degree))
        change[:, :tilt.shape[1]] = tilt[:, :degree]
        varied = terms[segment] + np.round(change / span ** np.arange(1, degree + 1)
                                           * np.exp2(scales[1:])).astype(np.int64)
        acc = np.broadcast_to(varied[:, -1:], (varied.shape[0], t.size))
        for k in range(degree - 2, -1, -1):  # the exact inner Horner steps, then the one truncation
            acc = acc * t + varied[:, k:k + 1]
        p = (acc * t) >> (scales[1] - scales[0])
        scored = _constant_scores_rows(p / grid, tuple(w[start:end] for w in window), weight[start:end], grid)
        for row, scores in enumerate(scored):
            if scores is None:
                continue
            first, count = scores
            variants += [varied[row]] * count.size
            constants.append(first + np.arange(count.size, dtype=np.int64))
            counts.append(count)
            lasts.append(first + np.arange(count.size, dtype=np.int64) + int(p[row, -1]))
        if not counts:
            raise SegmentsOutOfReach("a segment placed for rounding is not faithful once quantized")
        constants, counts, lasts = np.concatenate(constants), np.concatenate(counts), np.concatenate(lasts)
        if total is None:
            total, link = counts, np.zeros(counts.size, dtype=np.int64)
        else:
            link, total = _viterbi_step(total, previous_last, constants, counts, d_lo + int(start), outputs, request)
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


def _viterbi_step(total: np.ndarray, previous_last: np.ndarray, constants: np.ndarray, counts: np.ndarray,
                  code: int, outputs, request: PlanRequest) -> tuple[np.ndarray, np.ndarray]:
    """One boundary of the Viterbi pass: for each state of the new segment, its best predecessor.

    A pair of states is allowed when the output does not step against the function across the
    boundary (on each side of a fold). That depends on a previous state only through its
    outputs at the boundary, so previous states are grouped by those outputs (a handful of
    groups, not a states x states matrix); within the best allowed groups the first state wins,
    as ``argmax`` over every previous state would choose. With no allowed pair at all, any is.
    """
    new, old = outputs(constants, code), outputs(previous_last, code - 1)
    sides = sorted(new.keys() & old.keys())
    keys = np.stack([old[side][1] for side in sides], axis=1) if sides else np.zeros((total.size, 0), np.int64)
    groups, group_of = np.unique(keys, axis=0, return_inverse=True)
    group_of = group_of.reshape(-1)
    best = np.full(len(groups), -np.inf)
    np.maximum.at(best, group_of, total)
    first = np.full(len(groups), total.size)
    np.minimum.at(first, group_of, np.where(total == best[group_of], np.arange(total.size), total.size))
    allowed = np.ones((len(groups), constants.size), dtype=bool)
    for column, side in enumerate(sides):
        (x_new, y_new), (x_old, _) = new[side], old[side]
        rise = np.diff(np.clip(request.target(np.array(sorted((x_old, x_new)))), request.low,
                               request.out_fmt.max_code))[0]
        step = (y_new[None, :] - groups[:, column][:, None]) * (1 if x_new > x_old else -1)
        allowed &= step * rise >= 0
    if not allowed.any():
        allowed[:] = True  # no monotone boundary here: the best roundings then
    reach = np.where(allowed, best[:, None], -np.inf)
    top = reach.max(axis=0)
    link = np.where(reach == top[None, :], first[:, None], total.size).min(axis=0)
    link = np.where(np.isfinite(top), link, 0)  # as argmax over an all -inf column
    return link, top + counts


def _constant_scores_rows(p: np.ndarray, window, weight: np.ndarray, grid: int) -> list[tuple[int, np.ndarray] | None]:
    """:func:`constant_scores` of every row of ``p`` (one polynomial per row, same codes), at once."""
    cr_lo, cr_hi, f_lo, f_hi = window
    low = np.ceil(grid * (f_lo - p)).max(axis=1).astype(np.int64)
    high = np.ceil(grid * (f_hi - p)).min(axis=1).astype(np.int64) - 1
    found: list[tuple[int, np.ndarray] | None] = [None] * p.shape[0]
    live = np.nonzero(high >= low)[0]
    if live.size == 0:
        return found
    lo, hi, q = low[live, None], high[live, None], p[live]
    span = int((high[live] - low[live]).max()) + 2
    first = np.clip(np.ceil(grid * (cr_lo - q)).astype(np.int64), lo, hi + 1) - lo
    last = np.clip(np.ceil(grid * (cr_hi - q)).astype(np.int64), lo, hi + 1) - lo
    offset = np.arange(live.size, dtype=np.int64)[:, None] * span
    weights = np.broadcast_to(weight, q.shape).ravel()
    size = live.size * span
    counts = np.cumsum((np.bincount((first + offset).ravel(), weights, size)
                        - np.bincount((last + offset).ravel(), weights, size)).reshape(live.size, span), axis=1)
    for index, row in enumerate(live):
        found[row] = int(low[row]), counts[index, :high[row] - low[row] + 1]
    return found

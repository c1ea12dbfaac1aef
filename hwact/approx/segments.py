"""Segmentations of a table's domain: uniform (bit-sliced) and non-uniform (greedy, by fit error).

The rounding-driven split lives in :mod:`hwact.approx.rounding_split`; all three give segment
starts that :mod:`hwact.approx.table` fits, quantizes and builds into a plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..widths import MODEL_BITS
from .fit import fit_blocks, fit_lengths
from .quantize import product_bits

__all__ = [
    "FitTolerance",
    "NotCheaper",
    "RoundingSplit",
    "Segmentation",
    "Uniform",
    "MAX_NONUNIFORM_SEGMENTS",
    "MAX_SEGMENT_BITS",
    "MAX_SEGMENT_LENGTH_BITS",
    "SegmentsOutOfReach",
    "TooManySegments",
    "fit_error",
    "fit_errors",
    "greedy_segments",
    "uniform_segments",
]

#: At most ``2**MAX_SEGMENT_BITS`` uniform segments (the fit holds segments x points in memory).
MAX_SEGMENT_BITS = 14
#: Longest segment, ``2**MAX_SEGMENT_LENGTH_BITS`` codes, so that its products fit the int64 model.
MAX_SEGMENT_LENGTH_BITS = 26
#: Most non-uniform segments: each costs a comparator on the input, and past this many a
#: bit-sliced (uniform) table is the cheaper hardware; it also bounds the planner's time.
MAX_NONUNIFORM_SEGMENTS = 1 << 10
#: The greedy segmentation lets its caller check the segments found so far every this many.
CHECK_EVERY = 8
#: The greedy search's quick fits: points and Lawson iterations.
QUICK_POINTS, QUICK_ITERATIONS = 256, 12
#: Levels of the binary search over segment lengths fitted per batch (2**depth - 1 lengths).
SEARCH_DEPTH = 3


@dataclass(frozen=True)
class Uniform:
    """``2**shift``-code segments, selected by bit slicing."""

    shift: int


@dataclass(frozen=True)
class FitTolerance:
    """Non-uniform segments from left to right, each as long as its fit stays within ``tolerance``
    output LSBs (:func:`greedy_segments`), selected by comparators."""

    tolerance: float


@dataclass(frozen=True)
class RoundingSplit:
    """``segments`` non-uniform segments placed for the most correctly rounded outputs
    (:mod:`hwact.approx.rounding_split`; domains up to 2**16 codes).

    A split predicted to round less than ``min_share`` of the outputs correctly is refused
    (:class:`SegmentsOutOfReach`).
    """

    segments: int
    min_share: float = 0.0


#: How a table plan's domain is cut into segments.
Segmentation = Uniform | FitTolerance | RoundingSplit


class SegmentsOutOfReach(ValueError):
    """This segmentation cannot be built (too many segments, or products too wide); others may be."""


class NotCheaper(SegmentsOutOfReach):
    """This segmentation cannot give a plan cheaper than one already found (see ``max_cost``)."""


class TooManySegments(SegmentsOutOfReach):
    """This segmentation needs more segments than allowed; finer ones need even more."""


def uniform_segments(lo: int, hi: int, shift: int) -> np.ndarray:
    """Starts of the ``2**shift``-code segments covering ``[lo, hi]``."""
    return np.arange(lo, hi + 1, 1 << shift, dtype=np.int64)


def greedy_segments(lo: int, hi: int, degree: int, tolerance: float, target_of,
                    check_starts=None) -> list[tuple[int, int]]:
    """Segments ``(start, length)`` left to right, each as long as its fit stays within ``tolerance``.

    The fit error grows with the segment's length, so the longest acceptable length is found
    by binary search; nearly polynomial stretches (GELU's tails) become one segment. The search
    is speculative: the next ``SEARCH_DEPTH`` levels of its tree are fitted in one batch.
    ``check_starts`` sees the starts found so far every ``CHECK_EVERY`` segments and may stop
    the segmentation by raising.
    """
    segments: list[tuple[int, int]] = []
    start = lo
    while start <= hi:
        if len(segments) == MAX_NONUNIFORM_SEGMENTS:
            raise TooManySegments(f"a fit within {tolerance:.3g} LSB needs over {MAX_NONUNIFORM_SEGMENTS} "
                                  f"non-uniform segments")
        # length 1 always fits (a constant); bad is the first failing length
        good, bad = 1, min(hi - start + 2, (1 << MAX_SEGMENT_LENGTH_BITS) + 1)
        known: dict[int, bool] = {}
        tried = [bad - 1, *_search_tree(good, bad, SEARCH_DEPTH)]
        known.update(zip(tried, fit_errors(start, tried, target_of, degree) <= tolerance))
        if known[bad - 1]:
            good = bad - 1
        while bad - good > 1:
            mid = (good + bad) // 2
            if mid not in known:
                tried = _search_tree(good, bad, SEARCH_DEPTH)
                known.update(zip(tried, fit_errors(start, tried, target_of, degree) <= tolerance))
            if known[mid]:
                good = mid
            else:
                bad = mid
        segments.append((start, good))
        start += good
        if check_starts is not None and len(segments) % CHECK_EVERY == 0:
            # A prefix costs no more than the whole: a refusal here (NotCheaper) saves the rest.
            check_starts(np.array([first for first, _ in segments], dtype=np.int64))
    return segments


def _search_tree(good: int, bad: int, depth: int) -> list[int]:
    """The lengths a binary search between ``good`` and ``bad`` may try in its next ``depth`` steps."""
    if depth == 0 or bad - good <= 1:
        return []
    mid = (good + bad) // 2
    return [mid, *_search_tree(good, mid, depth - 1), *_search_tree(mid, bad, depth - 1)]


def fit_errors(start: int, lengths: list[int], target_of, degree: int) -> np.ndarray:
    """:func:`fit_error` of segments from ``start`` of several lengths, in one batch."""
    coef_t, err = fit_lengths(start, lengths, target_of, degree, QUICK_POINTS, QUICK_ITERATIONS)
    return np.array([_judge(start, int(length), coef, e, target_of, degree)
                     for length, coef, e in zip(lengths, coef_t, err)])


def fit_error(start: int, length: int, target_of, degree: int) -> float:
    """Max error of a quick fit (fewer points and iterations than the final one).

    A fit that turns back where the function does not (a parabola with its vertex inside a
    nearly flat stretch) counts as failing: its outputs would step against the function.
    """
    coef_t, err = fit_blocks(np.array([start], dtype=np.int64), length, start + length - 1, target_of, degree,
                             points=QUICK_POINTS, iterations=QUICK_ITERATIONS)
    return _judge(start, length, coef_t[0], err[0], target_of, degree)


def _judge(start: int, length: int, coef_t: np.ndarray, err: float, target_of, degree: int) -> float:
    """A quick fit's error, or infinity when it is too wide for the model or turns back."""
    # A quick float estimate of the widest Horner product (magnitude bits, so + 1 for the sign),
    # with two bits to spare: too long for the model's int64, however well it fits. The plan
    # built on the segments is then checked exactly (hwact.widths.model_overflow).
    if product_bits(coef_t, max(length - 1, 1).bit_length()) + 1 > MODEL_BITS - 2:
        return float("inf")
    if degree >= 2 and length > 2:
        ends = np.array([0.0, length - 1.0])
        slope = coef_t[1] + 2 * coef_t[2] * ends  # p'(t) at both ends (linear for a quadratic)
        rise = np.diff(target_of(np.array([start, start + length // 2, start + length - 1])))
        if (np.all(rise >= 0) and slope.min() < 0) or (np.all(rise <= 0) and slope.max() > 0):
            return float("inf")
    return float(err)

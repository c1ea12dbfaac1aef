"""Segmentations of a table's domain: uniform (bit-sliced) and non-uniform (greedy, by fit error).

The rounding-driven split lives in :mod:`hwact.approx.rounding_split`; all three give segment
starts that :mod:`hwact.approx.table` fits, quantizes and builds into a plan.
"""

from __future__ import annotations

import numpy as np

from .fit import fit_blocks
from .quantize import MODEL_BITS, product_bits

__all__ = [
    "MAX_NONUNIFORM_SEGMENTS",
    "MAX_SEGMENT_BITS",
    "MAX_SEGMENT_LENGTH_BITS",
    "SegmentsOutOfReach",
    "TooManySegments",
    "fit_error",
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


class SegmentsOutOfReach(ValueError):
    """This segmentation cannot be built (too many segments, or products too wide); others may be."""


class TooManySegments(SegmentsOutOfReach):
    """This segmentation needs more segments than allowed; finer ones need even more."""


def uniform_segments(lo: int, hi: int, shift: int) -> np.ndarray:
    """Starts of the ``2**shift``-code segments covering ``[lo, hi]``."""
    return np.arange(lo, hi + 1, 1 << shift, dtype=np.int64)


def greedy_segments(lo: int, hi: int, degree: int, tolerance: float, target_of) -> list[tuple[int, int]]:
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
        if fit_error(start, bad - 1, target_of, degree) <= tolerance:
            good = bad - 1
        else:
            while bad - good > 1:
                mid = (good + bad) // 2
                if fit_error(start, mid, target_of, degree) <= tolerance:
                    good = mid
                else:
                    bad = mid
        segments.append((start, good))
        start += good
    return segments


def fit_error(start: int, length: int, target_of, degree: int) -> float:
    """Max error of a quick fit (fewer points and iterations than the final one).

    A fit that turns back where the function does not (a parabola with its vertex inside a
    nearly flat stretch) counts as failing: its outputs would step against the function.
    """
    coef_t, err = fit_blocks(np.array([start], dtype=np.int64), length, start + length - 1, target_of, degree,
                              points=256, iterations=12)
    if product_bits(coef_t[0], max(length - 1, 1).bit_length()) > MODEL_BITS - 2:
        return float("inf")  # too long for the model's int64, however well it fits
    if degree >= 2 and length > 2:
        ends = np.array([0.0, length - 1.0])
        slope = coef_t[0, 1] + 2 * coef_t[0, 2] * ends  # p'(t) at both ends (linear for a quadratic)
        rise = np.diff(target_of(np.array([start, start + length // 2, start + length - 1])))
        if np.all(rise >= 0) and slope.min() < 0 or np.all(rise <= 0) and slope.max() > 0:
            return float("inf")
    return float(err[0])

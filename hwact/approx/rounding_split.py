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

from dataclasses import dataclass

import numpy as np

__all__ = ["SplitSearch", "search_splits", "windows", "constant_scores", "SPLIT_CELLS", "SPLIT_MAX_CELLS", "MAX_SPLIT_DOMAIN_BITS"]

#: The domain is cut on a grid of about this many cells.
SPLIT_CELLS = 256
#: The longest segment considered, in cells.
SPLIT_MAX_CELLS = 64
#: Domains (after the clamp and the fold) up to this many bits are searched (every code is scored).
MAX_SPLIT_DOMAIN_BITS = 16
#: Points of each least-squares fit.
FIT_POINTS = 256


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
    for i in range(cells):
        for j in range(i + 1, min(cells, i + SPLIT_MAX_CELLS) + 1):
            a, b = i * cell, min(j * cell, n)
            length = b - a
            if length <= degree:
                continue
            sample = np.unique(np.linspace(0, length - 1, min(length, FIT_POINTS)).round().astype(np.int64))
            scale = max(length - 1, 1)
            vander = np.vander(sample / scale, degree + 1, increasing=True)
            coef_u = np.linalg.lstsq(vander, target[a + sample], rcond=None)[0]
            coef_t = coef_u / scale ** np.arange(degree + 1)
            t = np.arange(length, dtype=np.float64)
            p = np.polynomial.polynomial.polyval(t, np.concatenate([[0.0], coef_t[1:]]))
            scores = constant_scores(p, tuple(w[a:b] for w in window), weight[a:b], grid)
            if scores is None:
                continue
            low, counts = scores
            score[i, j] = counts.max()
            coefficients[(i, j)] = np.concatenate([[(low + np.argmax(counts)) / grid], coef_t[1:]])
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
        coefs[m] = np.array([coefficients[(i, j)] for i, j in zip(cuts[:-1], cuts[1:])])
    return SplitSearch(starts, shares, coefs, target, weight)

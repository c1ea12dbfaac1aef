"""Polynomial fitting: minimax fits of many segments at once (Lawson's algorithm).

Every fit here is vectorized over segments of equal length, so a ladder rung or a batch of
candidate lengths costs one NumPy pass, not one call per segment.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FIT_POINTS", "LAWSON_ITERATIONS", "fit_blocks", "fit_lengths", "minimax"]

#: Points per segment used for fitting (all codes when the segment is shorter).
FIT_POINTS = 1024
LAWSON_ITERATIONS = 30


def minimax(u: np.ndarray, values: np.ndarray, degree: int, tolerance: float | None = None,
             iterations: int = LAWSON_ITERATIONS) -> tuple[np.ndarray, np.ndarray]:
    """Polynomials fitted to rows of ``values`` sampled at ``u`` in [0, 1], by Lawson's algorithm.

    Iteratively reweighted least squares: the first iterate is the least-squares fit, and
    weights grow where the error is large, converging to the equioscillating (minimax) fit on
    the point set. Without ``tolerance`` the iterate with the smallest maximum error is kept;
    with it, the iterate with the smallest *mean* error among those within the tolerance (so
    more outputs round correctly), falling back to the smallest maximum.
    Returns ``(coefficients in powers of u, max error)`` per row. ``u`` is shared by every
    row (shape ``(P,)``) or given per row (``(rows, P)``: segments of different lengths).
    """
    if u.ndim == 2:
        return _minimax_rows(u, values, degree, iterations)
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


def _minimax_rows(u: np.ndarray, values: np.ndarray, degree: int, iterations: int,
                  mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`minimax` without a tolerance, each row on its own points ``u[row]``.

    ``mask`` marks the points that count (rows padded to a common length have weight 0
    elsewhere, and Lawson's multiplicative update keeps it 0). The normal equations come from
    the ``2 * degree + 1`` weighted moments of ``u``: batched matrix products, no einsum.
    """
    powers = u[..., None] ** np.arange(2 * degree + 1)  # (S, P, 2d + 1)
    vander = powers[..., :degree + 1]
    weights = np.ones(values.shape) if mask is None else mask.astype(np.float64)
    weights /= weights.sum(axis=1, keepdims=True)
    index = np.add.outer(np.arange(degree + 1), np.arange(degree + 1))
    best_coef = np.zeros((values.shape[0], degree + 1))
    best_max = np.full(values.shape[0], np.inf)
    for _ in range(iterations):
        moments = (weights[:, None, :] @ powers)[:, 0, :]  # sum_p w u^k
        gram = moments[:, index] + 1e-13 * np.eye(degree + 1)
        rhs = ((weights * values)[:, None, :] @ vander)[:, 0, :]
        coef = np.linalg.solve(gram, rhs[..., None])[..., 0]
        err = np.abs((vander @ coef[..., None])[..., 0] - values)
        if mask is not None:
            err *= mask
        worst = err.max(axis=1)
        better = worst < best_max
        best_coef[better], best_max[better] = coef[better], worst[better]
        weights = weights * (err + 1e-12 * (worst[:, None] + 1e-30))
        weights /= weights.sum(axis=1, keepdims=True)
    return best_coef, best_max


def fit_lengths(start: int, lengths: np.ndarray, target_of, degree: int, points: int = FIT_POINTS,
                iterations: int = LAWSON_ITERATIONS) -> tuple[np.ndarray, np.ndarray]:
    """Fit segments ``[start, start + length)`` for several lengths at once.

    Each is sampled as :func:`fit_blocks` samples it (``points`` evenly spread codes, or every
    code of a shorter segment); coefficients in powers of ``t``, and max errors.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    grid = np.linspace(0.0, 1.0, points)
    offsets = np.round(grid[None, :] * (lengths[:, None] - 1)).astype(np.int64)  # as fit_blocks' linspace
    short = lengths < points  # every code: 0 .. length - 1, padded with the last one at weight 0
    position = np.arange(points)[None, :]
    offsets[short] = np.minimum(position, lengths[short, None] - 1)
    mask = ~short[:, None] | (position < lengths[:, None])
    scale = np.maximum(lengths - 1, 1).astype(np.float64)
    coef_u, err = _minimax_rows(offsets / scale[:, None], target_of(start + offsets), degree, iterations, mask)
    return coef_u / scale[:, None] ** np.arange(degree + 1), err


def fit_blocks(starts: np.ndarray, length: int, domain_hi: int, target_of, degree: int,
                tolerance: float | None = None, points: int = FIT_POINTS, iterations: int = LAWSON_ITERATIONS):
    """Fit segments ``[start, start + length)`` (clipped to the domain); coefficients per code offset."""
    offsets = np.unique(np.linspace(0, length - 1, min(length, points)).round().astype(np.int64))
    codes = np.minimum(starts[:, None] + offsets[None, :], domain_hi)
    values = target_of(codes)
    scale = max(length - 1, 1)
    coef_u, err = minimax(offsets / scale, values, degree, tolerance, iterations)
    coef_t = coef_u / scale ** np.arange(degree + 1)  # powers of u = t / scale -> powers of t
    return coef_t, err

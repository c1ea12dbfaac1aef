"""Polynomial fitting: minimax fits of many segments at once (Lawson's algorithm).

Every fit here is vectorized over segments of equal length, so a ladder rung or a batch of
candidate lengths costs one NumPy pass, not one call per segment.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FIT_POINTS", "LAWSON_ITERATIONS", "fit_blocks", "minimax"]

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

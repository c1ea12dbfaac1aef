"""The report's figures (matplotlib, Agg backend, PNG bytes). Imported only when a report is made."""

from __future__ import annotations

import io

import numpy as np

from ..plan import Plan
from .errors import ErrorSamples

__all__ = ["ENVELOPE_BINS", "MAX_POINTS", "error_figure", "error_plot", "histogram_plot", "output_plot", "pareto_plot"]

#: Above this many points a curve is drawn as a per-bin envelope (min..max) instead of points.
MAX_POINTS = 4096
#: Envelope bins: fewer than the error plot's axis is wide in pixels (about 600 at 110 dpi), so
#: every bin, a one-code spike included, gets at least a pixel column of its own.
ENVELOPE_BINS = 500


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    # Fixed metadata so the same report gives the same bytes.
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    _pyplot().close(fig)
    return buffer.getvalue()


def _envelope(x: np.ndarray, v: np.ndarray, bins: int = ENVELOPE_BINS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-bin centre, minimum and maximum of ``v`` over sorted ``x`` (bins of equal width in x)."""
    edges = np.linspace(x.min(), x.max(), bins + 1)
    index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
    lo = np.full(bins, np.inf)
    hi = np.full(bins, -np.inf)
    np.minimum.at(lo, index, v)
    np.maximum.at(hi, index, v)
    keep = np.isfinite(lo)
    centre = (edges[:-1] + edges[1:]) / 2
    return centre[keep], lo[keep], hi[keep]


def _title(plan: Plan) -> str:
    return f"{plan.function} {plan.in_fmt} -> {plan.out_fmt} ({plan.method})"


def output_plot(plan: Plan, points: ErrorSamples) -> bytes:
    """The unit's output codes over the real function, both in real units."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    main = points.output == 0
    if points.operand is not None:  # two operands: the row with the largest operand sampled
        main &= points.operand == points.operand.max()
    x = plan.in_fmt.to_real(points.x[main])
    order = np.argsort(x, kind="stable")
    # Output codes (and the real function in code units) as real values: affine outputs have a zero point.
    to_real = plan.out_fmt.to_real
    x, y, f = x[order], to_real(points.y[main][order]), to_real(points.f[main][order])
    if x.size > MAX_POINTS:
        step = max(x.size // MAX_POINTS, 1)
        x, y, f = x[::step], y[::step], f[::step]
    ax.plot(x, f, color="black", linewidth=1.0, label="real function (float64)")
    ax.step(x, y, where="mid", color="tab:blue", linewidth=0.8, label="unit output")
    ax.set_xlabel(f"input ({plan.in_fmt})")
    ax.set_ylabel(f"output ({plan.out_fmt})")
    extra = "" if points.operand is None else f", operand code {int(points.operand.max())}"
    ax.set_title(_title(plan) + extra)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return _png(fig)


def error_plot(plan: Plan, points: ErrorSamples, edges: list[int]) -> bytes:
    """Error in output LSBs against the input, with the segment edges as vertical lines and the
    largest error marked (a one-code spike stays visible however many codes share a pixel)."""
    return _png(error_figure(plan, points, edges))


def error_figure(plan: Plan, points: ErrorSamples, edges: list[int]):
    """The Matplotlib figure of :func:`error_plot`."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    x = plan.in_fmt.to_real(points.x)
    err = points.err
    if x.size > MAX_POINTS:
        centre, lo, hi = _envelope(x, err)
        ax.fill_between(centre, lo, hi, color="tab:blue", alpha=0.6, linewidth=0, step="mid",
                        label="error (min..max per bin)")
    else:
        ax.plot(x, err, ".", markersize=2, color="tab:blue", label="error")
    # A direct table has a segment per code: its edges would only paint the plot orange.
    for i, edge in enumerate(edges if len(edges) <= 128 else []):
        ax.axvline(plan.in_fmt.to_real(edge), color="tab:orange", linewidth=0.5, alpha=0.6,
                   label="segment edge" if i == 0 else None)
    for level in (0.5, -0.5):
        ax.axhline(level, color="tab:green", linestyle="--", linewidth=0.8,
                   label="correctly rounded (±0.5 LSB)" if level > 0 else None)
    if err.size:
        worst = int(np.argmax(np.abs(err)))
        ax.plot([x[worst]], [err[worst]], "v" if err[worst] < 0 else "^", color="tab:red", markersize=7,
                label=f"largest: {abs(err[worst]):.3g} LSB at {x[worst]:g}")
    ax.set_xlabel(f"input ({plan.in_fmt})")
    ax.set_ylabel("error (output LSB)")
    ax.set_title("error: unit - real function")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return fig


def histogram_plot(plan: Plan, points: ErrorSamples) -> bytes:
    """Histogram of the error in output LSBs over every measured input."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    limit = max(float(np.abs(points.err).max()), 0.5)
    ax.hist(points.err, bins=np.linspace(-limit, limit, 101), color="tab:blue")
    ax.axvline(0, color="black", linewidth=0.6)
    ax.axvline(float(points.err.mean()), color="tab:red", linewidth=1, label=f"mean {points.err.mean():+.4f} LSB")
    ax.set_xlabel("error (output LSB)")
    ax.set_ylabel("inputs")
    ax.set_yscale("log")
    ax.set_title(f"error histogram over {points.err.size:,} inputs")
    ax.legend(fontsize=8)
    return _png(fig)


def pareto_plot(rows: list[dict], title: str, cost_key: str = "lc") -> bytes:
    """Max error (LSB) against cost for a sweep; the Pareto front joined, each point labelled."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    points = [(r[cost_key], r["max_lsb"], r) for r in rows if r.get(cost_key) is not None]
    methods = sorted({r["method"] for _, _, r in points})
    for method in methods:
        mine = [(c, e) for c, e, r in points if r["method"] == method]
        ax.scatter([c for c, _ in mine], [e for _, e in mine], label=method, s=18)
    front = pareto_front([(c, e) for c, e, _ in points])
    if front:
        ax.plot([c for c, _ in front], [e for _, e in front], color="black", linewidth=0.8, label="Pareto front")
    ax.set_xlabel({"lut4": "LUT4 (synthesized, unit alone)", "cost": "plan cost (table + multiplier bits)"}
                  .get(cost_key, cost_key))
    ax.set_ylabel("max error (output LSB)")
    # Exact plans measure 0 LSB, which a log scale cannot show: all of them exact, the axis stays
    # linear; some of them, it is linear near zero (symlog).
    errors = [e for _, e, _ in points]
    if errors and min(errors) > 0:
        ax.set_yscale("log")
    elif any(e > 0 for e in errors):
        ax.set_yscale("symlog", linthresh=min(e for e in errors if e > 0))
    ax.axhline(1.0, color="tab:green", linestyle="--", linewidth=0.8)
    ax.axhline(0.5, color="tab:green", linestyle=":", linewidth=0.8)
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _png(fig)


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats on both cost and error, by increasing cost."""
    front, best = [], float("inf")
    for cost, error in sorted(points):
        if error < best:
            front.append((cost, error))
            best = error
    return front

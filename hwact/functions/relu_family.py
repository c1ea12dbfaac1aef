"""The exact piecewise family: ReLU and its relatives, hard-tanh, hard-sigmoid, hard-swish.

Each function is described twice on purpose: ``pieces`` (the polynomial pieces the ``exact``
planner turns into a datapath) and ``reference`` (the float64 formula as PyTorch writes it).
The two are independent, so a mistake in either shows up as error in the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from . import OPERAND, Family, Function, Param, ParamKind, Piece, register

NEG_INF = -np.inf

_HARDSIGMOID = {  # variant -> (slope, half-width of the linear region)
    "torch": (1 / 6, 3.0),
    "keras": (0.2, 2.5),
    "linear": (0.25, 2.0),
}


def _relu(x, p):
    return np.maximum(x, 0.0)


def _leaky(x, slope):
    return np.where(x >= 0, x, slope * x)


register(Function(
    name="relu", family=Family.EXACT, summary="max(0, x)", reference=_relu,
    pieces=lambda p: [Piece(NEG_INF, (0.0,)), Piece(0.0, (0.0, 1.0))],
))

register(Function(
    name="relu6", family=Family.EXACT, summary="min(max(0, x), 6)",
    reference=lambda x, p: np.minimum(np.maximum(x, 0.0), 6.0),
    pieces=lambda p: [Piece(NEG_INF, (0.0,)), Piece(0.0, (0.0, 1.0)), Piece(6.0, (6.0,))],
))

register(Function(
    name="clipped_relu", family=Family.EXACT, summary="min(max(0, x), ceiling)",
    params=(Param("ceiling", 6.0, doc="the clip level tau, >= 0"),),
    reference=lambda x, p: np.minimum(np.maximum(x, 0.0), p["ceiling"]),
    pieces=lambda p: [Piece(NEG_INF, (0.0,)), Piece(0.0, (0.0, 1.0)), Piece(p["ceiling"], (p["ceiling"],))],
    check=lambda p: f"ceiling must be >= 0, not {p['ceiling']:g}" if p["ceiling"] < 0 else None,
))

register(Function(
    name="leaky_relu", family=Family.EXACT, summary="x if x >= 0 else negative_slope * x",
    params=(Param("negative_slope", 0.01),),
    reference=lambda x, p: _leaky(x, p["negative_slope"]),
    pieces=lambda p: [Piece(NEG_INF, (0.0, p["negative_slope"])), Piece(0.0, (0.0, 1.0))],
))


def _rrelu_slope(p: Mapping[str, Any]) -> float:
    return (p["lower"] + p["upper"]) / 2


register(
    Function(
        name="rrelu",
        family=Family.EXACT,
        summary="inference form: leaky ReLU with slope (lower + upper) / 2",
        params=(Param("lower", 1 / 8), Param("upper", 1 / 3)),
        reference=lambda x, p: _leaky(x, _rrelu_slope(p)),
        pieces=lambda p: [Piece(NEG_INF, (0.0, _rrelu_slope(p))), Piece(0.0, (0.0, 1.0))],
        check=lambda p: (
            f"lower ({p['lower']:g}) must not exceed upper ({p['upper']:g})" if p["lower"] > p["upper"] else None
        ),
        notes="RReLU randomizes the slope only while training; at inference PyTorch uses the mean "
        "slope (lower + upper) / 2, which is what the hardware computes.",
    )
)

register(
    Function(
        name="prelu",
        family=Family.EXACT,
        summary="x if x >= 0 else a * x, slope a supplied at run time",
        params=(
            Param(
                "slope_format",
                None,
                kind=ParamKind.FORMAT,
                doc="format of the run-time slope; default: signed, as wide as the input, s1.(w-1)",
            ),
        ),
        reference=lambda x, p, a: np.where(x >= 0, x, a * x),
        pieces=lambda p: [Piece(NEG_INF, (0.0, OPERAND)), Piece(0.0, (0.0, 1.0))],
        operands=2,
    )
)

register(
    Function(
        name="hardtanh",
        family=Family.EXACT,
        summary="min(max(x, min_val), max_val)",
        params=(Param("min_val", -1.0), Param("max_val", 1.0)),
        reference=lambda x, p: np.clip(x, p["min_val"], p["max_val"]),
        pieces=lambda p: [
            Piece(NEG_INF, (p["min_val"],)),
            Piece(p["min_val"], (0.0, 1.0)),
            Piece(p["max_val"], (p["max_val"],)),
        ],
        check=lambda p: (
            f"min_val ({p['min_val']:g}) must be below max_val ({p['max_val']:g})"
            if p["min_val"] >= p["max_val"]
            else None
        ),
    )
)


def _hardsigmoid_pieces(p: Mapping[str, Any]) -> list[Piece]:
    slope, half_width = _HARDSIGMOID[p["variant"]]
    return [Piece(NEG_INF, (0.0,)), Piece(-half_width, (0.5, slope)), Piece(half_width, (1.0,))]


def _hardsigmoid(x, p):
    if p["variant"] == "torch":
        return np.clip(x + 3.0, 0.0, 6.0) / 6.0  # relu6(x + 3) / 6, as PyTorch defines it
    if p["variant"] == "keras":
        return np.clip(0.2 * x + 0.5, 0.0, 1.0)
    return np.clip(0.25 * x + 0.5, 0.0, 1.0)


register(
    Function(
        name="hardsigmoid",
        family=Family.EXACT,
        summary="clip(slope * x + 1/2, 0, 1); slope 1/6, 0.2 or 1/4",
        params=(
            Param(
                "variant",
                "torch",
                kind=ParamKind.CHOICE,
                choices=tuple(_HARDSIGMOID),
                doc="torch: x/6 + 1/2, keras: 0.2x + 1/2, linear: x/4 + 1/2",
            ),
        ),
        reference=_hardsigmoid,
        pieces=_hardsigmoid_pieces,
    )
)

register(
    Function(
        name="hardswish",
        family=Family.EXACT,
        summary="x * relu6(x + 3) / 6",
        reference=lambda x, p: x * np.clip(x + 3.0, 0.0, 6.0) / 6.0,
        pieces=lambda p: [Piece(NEG_INF, (0.0,)), Piece(-3.0, (0.0, 0.5, 1 / 6)), Piece(3.0, (0.0, 1.0))],
    )
)

register(
    Function(
        name="step",
        family=Family.EXACT,
        summary="Heaviside step: 0 below zero, 1 above, value at zero",
        params=(Param("value", 1.0, doc="the output at x = 0 (torch.heaviside's `values`)"),),
        reference=lambda x, p: np.heaviside(x, p["value"]),
        pieces=lambda p: [Piece(NEG_INF, (0.0,)), Piece(0.0, (p["value"],)), Piece(0.0, (1.0,), closed=False)],
    )
)

register(
    Function(
        name="identity",
        family=Family.EXACT,
        summary="x (a pass-through that still rounds and saturates)",
        reference=lambda x, p: np.asarray(x, dtype=np.float64),
        pieces=lambda p: [Piece(NEG_INF, (0.0, 1.0))],
    )
)

register(
    Function(
        name="maxout",
        family=Family.EXACT,
        summary="max(x, a): 2-way maxout over operands (chain it for k-way)",
        reference=lambda x, p, a: np.maximum(x, a),
        operands=2,
        maximum=True,
        pieces=lambda p: [Piece(NEG_INF, (0.0, 1.0))],
        notes="The operand a is in the output format. A k-way maxout over the lanes of a register is "
        "log2(k) of these with the lanes shuffled, or k - 1 in a chain.",
    )
)

register(
    Function(
        name="crelu",
        family=Family.EXACT,
        summary="[relu(x), relu(-x)]: two outputs per input",
        reference=lambda x, p: np.stack([np.maximum(x, 0.0), np.maximum(-x, 0.0)], axis=-1),
        mirror=True,
        pieces=lambda p: [Piece(NEG_INF, (0.0,)), Piece(0.0, (0.0, 1.0))],
        notes="Output lane 2i is relu(x_i) and lane 2i + 1 is relu(-x_i); -x saturates into the input "
        "format first (the most negative code maps to the largest).",
    )
)

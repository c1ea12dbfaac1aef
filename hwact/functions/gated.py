"""Gated units: two operands, ``factor(a) * gate(b)`` (GLU and its relatives).

``a`` arrives in the low lanes of a transfer (``rs1``) and ``b`` in the high lanes (``rs2``),
as ``torch.nn.functional.glu`` splits its input into ``a`` (first half) and ``b`` (second).
Parameters are those of the gate (``approximate`` for GEGLU, ``beta`` for SwiGLU).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from . import Family, Function, Param, ParamKind, register
from .smooth import gelu_reference

register(Function(
    name="glu", family=Family.GATED, summary="a * sigmoid(b)", operands=2, gate="sigmoid",
    reference=lambda x, p, a: a * special.expit(x),
))
register(Function(
    name="geglu", family=Family.GATED, summary="a * gelu(b)", operands=2, gate="gelu",
    params=(Param("approximate", "none", kind=ParamKind.CHOICE, choices=("none", "tanh", "sigmoid")),),
    reference=lambda x, p, a: a * gelu_reference(x, p),
))
register(Function(
    name="swiglu", family=Family.GATED, summary="a * silu(b) = a * b * sigmoid(beta * b)", operands=2, gate="silu",
    params=(Param("beta", 1.0),),
    reference=lambda x, p, a: a * x * special.expit(p["beta"] * x),
    check=lambda p: f"beta must be > 0, not {p['beta']:g}" if p["beta"] <= 0 else None,
))
register(Function(
    name="gtu", family=Family.GATED, summary="tanh(a) * sigmoid(b)", operands=2, gate="sigmoid", factor="tanh",
    reference=lambda x, p, a: np.tanh(a) * special.expit(x),
))

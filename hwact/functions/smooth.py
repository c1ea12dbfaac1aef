"""Smooth activations, built from tables: sigmoid, tanh, GELU, SiLU, ELU, softplus, Mish, ...

References are float64 NumPy/SciPy formulas written for accuracy over the whole real line
(``logaddexp`` instead of ``log(1 + exp(x))``, ``expm1`` for ELU), relative error ~1e-16,
far below any output LSB hwact supports (2**-31); ``tests/test_functions.py`` checks them
against mpmath at 50 digits.

``symmetry`` names a fold the planner may use to tabulate only ``x >= 0``:

* ``"odd"``: f(-x) = -f(x) (tanh, softsign)
* ``"complement"``: f(-x) = 1 - f(x) (sigmoid)
* ``"minus_x"``: f(-x) = f(x) - x (GELU, SiLU, whose difference from ReLU is even)
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ..plan import FoldKind
from . import Family, Function, Param, ParamKind, register

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _positive(name: str):
    return lambda p: f"{name} must be > 0, not {p[name]:g}" if p[name] <= 0 else None


def gelu_reference(x, p):
    """GELU in float64 in the form ``p["approximate"]`` names (none = erf, tanh, sigmoid)."""
    mode = p["approximate"]
    if mode == "none":
        return 0.5 * x * special.erfc(-x / np.sqrt(2.0))  # erfc keeps precision for x << 0
    if mode == "tanh":
        return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))
    return x * special.expit(1.702 * x)


def _elu(x, alpha):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


register(Function(
    name="sigmoid", family=Family.SMOOTH, summary="1 / (1 + exp(-x))",
    reference=lambda x, p: special.expit(x), symmetry=FoldKind.COMPLEMENT,
))
register(Function(
    name="tanh", family=Family.SMOOTH, summary="tanh(x)",
    reference=lambda x, p: np.tanh(x), symmetry=FoldKind.ODD,
))
register(Function(
    name="gelu", family=Family.SMOOTH, summary="x * Phi(x); approximate=tanh or sigmoid (x * sigmoid(1.702x))",
    params=(Param("approximate", "none", kind=ParamKind.CHOICE, choices=("none", "tanh", "sigmoid"),
                  doc="none: exact erf form; tanh: PyTorch's tanh form; sigmoid: x * sigmoid(1.702 x)"),),
    reference=gelu_reference, symmetry=FoldKind.MINUS_X,
))
register(Function(
    name="silu", family=Family.SMOOTH, summary="x * sigmoid(beta * x) (swish)",
    params=(Param("beta", 1.0, doc="slope inside the sigmoid, > 0"),),
    reference=lambda x, p: x * special.expit(p["beta"] * x), symmetry=FoldKind.MINUS_X,
    check=_positive("beta"), aliases=("swish",),
))
register(Function(
    name="elu", family=Family.SMOOTH, summary="x if x > 0 else alpha * (exp(x) - 1)",
    params=(Param("alpha", 1.0),),
    reference=lambda x, p: _elu(x, p["alpha"]),
    check=lambda p: f"alpha must be >= 0, not {p['alpha']:g}" if p["alpha"] < 0 else None,
))
register(Function(
    name="selu", family=Family.SMOOTH, summary="scale * elu(x, alpha) with the self-normalizing constants",
    reference=lambda x, p: _SELU_SCALE * _elu(x, _SELU_ALPHA),
))
register(Function(
    name="celu", family=Family.SMOOTH, summary="max(0, x) + min(0, alpha * (exp(x / alpha) - 1))",
    params=(Param("alpha", 1.0),),
    reference=lambda x, p: np.maximum(x, 0.0) + np.minimum(0.0, p["alpha"] * np.expm1(np.minimum(x, 0.0) / p["alpha"])),
    check=_positive("alpha"),
))
register(Function(
    name="softplus", family=Family.SMOOTH, summary="log(1 + exp(beta * x)) / beta",
    params=(Param("beta", 1.0),),
    reference=lambda x, p: np.logaddexp(0.0, p["beta"] * x) / p["beta"],
    check=_positive("beta"),
    notes="PyTorch's threshold (linear above beta*x > 20) is not applied: the table follows the exact "
          "function, which differs from x there by less than 2e-9.",
))
register(Function(
    name="mish", family=Family.SMOOTH, summary="x * tanh(softplus(x))",
    reference=lambda x, p: x * np.tanh(np.logaddexp(0.0, x)),
))
register(Function(
    name="squareplus", family=Family.SMOOTH, summary="(x + sqrt(x^2 + b)) / 2",
    params=(Param("b", 4.0, doc="smoothness, >= 0"),),
    reference=lambda x, p: 0.5 * (x + np.sqrt(x * x + p["b"])),
    check=lambda p: f"b must be >= 0, not {p['b']:g}" if p["b"] < 0 else None,
))
register(Function(
    name="softsign", family=Family.SMOOTH, summary="x / (1 + |x|)",
    reference=lambda x, p: x / (1.0 + np.abs(x)), symmetry=FoldKind.ODD,
))
register(Function(
    name="exp", family=Family.SMOOTH, summary="exp(x), for softmax (inputs are usually <= 0)",
    reference=lambda x, p: np.exp(x),
))
register(Function(
    name="exp2", family=Family.SMOOTH, summary="2**x, for softmax with a log2(e) pre-scale",
    reference=lambda x, p: np.exp2(x),
))

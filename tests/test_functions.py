"""Tier 1: the float64 references of the smooth functions, checked against mpmath at 50 digits."""

import mpmath
import numpy as np
import pytest

from hwact.functions import FUNCTIONS, ParamError, get, resolve_params

pytestmark = pytest.mark.model

mpmath.mp.dps = 50

# The functions again, in mpmath, from their textbook definitions.
MP = {
    "sigmoid": lambda x, p: 1 / (1 + mpmath.exp(-x)),
    "tanh": lambda x, p: mpmath.tanh(x),
    "gelu": lambda x, p: x * (1 + mpmath.erf(x / mpmath.sqrt(2))) / 2,
    "silu": lambda x, p: x / (1 + mpmath.exp(-p["beta"] * x)),
    "elu": lambda x, p: x if x > 0 else p["alpha"] * (mpmath.exp(x) - 1),
    "selu": lambda x, p: mpmath.mpf("1.0507009873554804934193349852946") * (
        x if x > 0 else mpmath.mpf("1.6732632423543772848170429916717") * (mpmath.exp(x) - 1)),
    "celu": lambda x, p: max(0, x) + min(0, p["alpha"] * (mpmath.exp(x / p["alpha"]) - 1)),
    "softplus": lambda x, p: mpmath.log(1 + mpmath.exp(p["beta"] * x)) / p["beta"],
    "mish": lambda x, p: x * mpmath.tanh(mpmath.log(1 + mpmath.exp(x))),
    "squareplus": lambda x, p: (x + mpmath.sqrt(x * x + p["b"])) / 2,
    "softsign": lambda x, p: x / (1 + abs(x)),
    "exp": lambda x, p: mpmath.exp(x),
    "exp2": lambda x, p: mpmath.power(2, x),
}
SMOOTH = sorted({f.name for f in FUNCTIONS.values() if f.family == "smooth"})
POINTS = np.concatenate([np.linspace(-8, 8, 257), [-7.99, -1e-3, 1e-3, 0.5, 3.3]])


def test_every_smooth_function_has_an_mpmath_check():
    assert set(SMOOTH) == set(MP)


@pytest.mark.parametrize("name", SMOOTH)
def test_float64_reference_is_accurate(name):
    fn = get(name)
    params = resolve_params(fn)
    ours = fn.reference(POINTS, params)
    exact = np.array([float(MP[name](mpmath.mpf(float(x)), params)) for x in POINTS])
    # Relative to the value, with an absolute floor far below 2**-31, the finest output LSB.
    assert np.all(np.abs(ours - exact) <= 1e-14 * np.abs(exact) + 1e-15)


def test_gelu_approximations_follow_their_formulas():
    fn = get("gelu")
    x = POINTS
    tanh_form = fn.reference(x, resolve_params(fn, {"approximate": "tanh"}))
    assert np.allclose(
        tanh_form, 0.5 * x * (1 + np.tanh(0.7978845608028654 * (x + 0.044715 * x**3))), rtol=1e-15, atol=1e-15
    )
    sigmoid_form = fn.reference(x, resolve_params(fn, {"approximate": "sigmoid"}))
    assert np.allclose(sigmoid_form, x / (1 + np.exp(-1.702 * x)), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", [n for n in SMOOTH if get(n).symmetry])
def test_declared_symmetries_hold(name):
    fn = get(name)
    params = resolve_params(fn)
    x = np.linspace(0, 8, 101)
    positive, negative = fn.reference(x, params), fn.reference(-x, params)
    expected = {"odd": -positive, "complement": 1 - positive, "minus_x": positive - x}[fn.symmetry]
    assert np.allclose(negative, expected, atol=1e-14)


@pytest.mark.parametrize(
    "name, params, words",
    [
        ("silu", {"beta": 0}, "beta must be > 0"),
        ("softplus", {"beta": -1}, "beta must be > 0"),
        ("celu", {"alpha": 0}, "alpha must be > 0"),
        ("elu", {"alpha": -1}, "alpha must be >= 0"),
        ("squareplus", {"b": -1}, "b must be >= 0"),
        ("gelu", {"approximate": "erf"}, "none, tanh, sigmoid"),
    ],
)
def test_parameter_ranges(name, params, words):
    with pytest.raises(ParamError, match=words):
        resolve_params(get(name), params)


def test_swish_is_silu():
    assert get("swish") is get("silu")

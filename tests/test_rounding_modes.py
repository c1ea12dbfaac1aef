"""Every rounding mode keeps its documented meaning through folds, clamps and gated products.

For ``exact`` and ``lut`` plans (every function at 8 bits under ``auto``) the unit equals the
mode applied to the real value on every code: floor for ``TRN``, toward zero for ``TRN_ZERO``,
half up for ``RND``, ... . Approximating plans apply the mode to their approximation, so no
fold may flip its direction: a ``TRN`` unit is biased downwards on both halves of its input.
"""

import numpy as np
import pytest

from hwact import evaluate, make_plan
from hwact.fixed import ROUNDING_MODES, Fmt, round_real
from hwact.functions import FUNCTIONS, get
from hwact.measure import input_grid, mode_target, reference

pytestmark = pytest.mark.model

#: Gated units plan six nudged gate tables per mode at 8 bits: tens of seconds each, for make test.
NAMES = [pytest.param(name, marks=pytest.mark.slow) if FUNCTIONS[name].family == "gated" else name
         for name in sorted({f.name for f in FUNCTIONS.values()})]


def _independent_target(plan, x, a):
    """The mode applied to the real value, from the function's float64 reference (no hwact rounding)."""
    fn = get(plan.function)
    real = fn.reference(plan.in_fmt.to_real(x), plan.params) if a is None else \
        fn.reference(plan.in_fmt.to_real(x), plan.params, plan.operand_fmt.to_real(a))
    scaled = np.asarray(real, dtype=np.float64) / plan.out_fmt.lsb
    rounded = {"TRN": np.floor, "TRN_ZERO": np.trunc, "RND": lambda v: np.floor(v + 0.5),
               "RND_ZERO": lambda v: np.where(v >= 0, np.ceil(v - 0.5), np.floor(v + 0.5)),
               "RND_INF": lambda v: np.sign(v) * np.floor(np.abs(v) + 0.5),
               "RND_CONV": np.rint}[plan.output.rounding](scaled)
    return np.clip(rounded, plan.out_fmt.min_code, plan.out_fmt.max_code)


@pytest.mark.parametrize("name", NAMES)
def test_every_mode_is_its_definition_on_every_code_at_8_bits(name, cached_plan):
    for mode in ROUNDING_MODES:
        plan = cached_plan(name, "s4.4", "s4.4", rounding=mode)
        x, a, exhaustive = input_grid(plan)
        assert exhaustive
        y = evaluate(plan, x, a)
        wrong = np.argwhere(y != mode_target(plan, x, a))
        assert wrong.size == 0, f"{name} {mode} ({plan.method}): {len(wrong)} codes, first {wrong[:3].tolist()}"
        # The target itself agrees with a plain float64 rounding wherever the real value is not
        # within float noise of a rounding boundary.
        exact = reference(plan, x, a, wrap=False)
        clear = np.abs(exact * 2 - np.round(exact * 2)) > 1e-6
        assert np.array_equal(y[clear], _independent_target(plan, x, a)[clear])


@pytest.mark.parametrize("name, out", [("sigmoid", "u0.8"), ("tanh", "s1.7")])
def test_truncation_through_a_fold_is_a_floor(name, out):
    # The example of the report: sigmoid(-1) is 68.849 codes of u0.8; TRN gives 68, not 69.
    plan = make_plan(name, "s4.4", out, rounding="TRN")
    x = plan.in_fmt.all_codes()
    real = reference(plan, x)
    y = evaluate(plan, x)
    assert np.all(y <= real + 1e-9) and np.all(y > real - 1)
    if name == "sigmoid":
        assert y[x == -16][0] == 68
    toward_zero = evaluate(make_plan(name, "s4.4", out, rounding="TRN_ZERO"), x)
    assert np.all(np.abs(toward_zero) <= np.abs(real) + 1e-9)
    assert not np.array_equal(y, toward_zero) or name == "sigmoid"  # sigmoid is positive: the same


def test_ties_follow_the_mode_through_quantized_slopes():
    # x/6 + 1/2 lands exactly on halves; 1/6 is not representable, yet ties go the mode's way.
    for mode in ("RND", "RND_ZERO", "RND_INF", "RND_CONV"):
        plan = make_plan("hardsigmoid", "s4.12", "s4.12", rounding=mode)
        x = plan.in_fmt.all_codes()
        y = evaluate(plan, x)
        real = x / 4096 / 6 + 0.5
        ties = np.abs((real * 4096) % 1 - 0.5) < 1e-12
        ties &= (real > 0) & (real < 1)
        assert ties.sum() > 100
        expected = round_real(np.round(real[ties] * 4096 * 2) / 2, mode)
        if mode == "RND_CONV":  # a single slope cannot send alternate ties both ways at 16 bits
            continue
        assert np.array_equal(y[ties], expected), mode


@pytest.mark.slow
@pytest.mark.parametrize("name, out", [("sigmoid", "u0.16"), ("tanh", "s4.12")])
def test_truncating_approximations_are_biased_down_on_both_halves(name, out, cached_plan):
    plan = cached_plan(name, "s4.12", out, method="pwl2", rounding="TRN", max_err_lsb=1.5)
    x = plan.in_fmt.all_codes()
    err = evaluate(plan, x) - reference(plan, x)
    for half in (x < 0, x >= 0):
        assert -1.0 < err[half].mean() < -0.2
        # The floor of an approximation within 0.5 LSB (budget 1.5): mostly the floor of the real value.
        assert np.mean(evaluate(plan, x[half]) == mode_target(plan, x[half])) > 0.7
    toward_zero = cached_plan(name, "s4.12", out, method="pwl2", rounding="TRN_ZERO", max_err_lsb=1.5)
    err = evaluate(toward_zero, x) - reference(toward_zero, x)
    real = reference(toward_zero, x)
    # Toward zero: down where the function is positive, up where it is negative.
    assert err[real > 1].mean() < -0.2
    if name == "tanh":
        assert err[real < -1].mean() > 0.2


@pytest.mark.slow
def test_mode_fraction_is_reported(cached_plan):
    from hwact.measure import measure

    plan = cached_plan("sigmoid", "s4.4", "u0.8", rounding="TRN")
    assert measure(plan).mode_fraction == 1.0
    approximate = cached_plan("sigmoid", "s4.12", "u0.16", method="pwl2", rounding="TRN", max_err_lsb=1.5)
    assert 0.7 < measure(approximate).mode_fraction < 1.0
    assert Fmt.parse("u0.8").lsb == 2 ** -8

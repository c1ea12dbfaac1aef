"""Tier 1: planner and golden model, measured against references written independently here."""

import json

import numpy as np
import pytest

from hwact import Fmt, Plan, PlanError, evaluate, make_plan
from hwact.fixed import ROUNDING_MODES, quantize
from hwact.functions import FUNCTIONS, ParamError
from hwact.measure import measure

# The real functions as PyTorch documents them, written again here so that neither the
# planner's pieces nor the package's own references are trusted.
TORCH = {
    "relu": lambda x, p: np.where(x > 0, x, 0.0),
    "relu6": lambda x, p: np.minimum(np.where(x > 0, x, 0.0), 6.0),
    "clipped_relu": lambda x, p: np.minimum(np.where(x > 0, x, 0.0), p.get("ceiling", 6.0)),
    "leaky_relu": lambda x, p: np.where(x > 0, x, x * p.get("negative_slope", 0.01)),
    "rrelu": lambda x, p: np.where(x > 0, x, x * (p.get("lower", 0.125) + p.get("upper", 1 / 3)) / 2),
    "hardtanh": lambda x, p: np.maximum(np.minimum(x, p.get("max_val", 1.0)), p.get("min_val", -1.0)),
    "hardsigmoid": lambda x, p: {"torch": np.maximum(np.minimum(x / 6 + 0.5, 1.0), 0.0),
                                 "keras": np.maximum(np.minimum(0.2 * x + 0.5, 1.0), 0.0),
                                 "linear": np.maximum(np.minimum(0.25 * x + 0.5, 1.0), 0.0)}[p.get("variant", "torch")],
    "hardswish": lambda x, p: np.where(x <= -3, 0.0, np.where(x >= 3, x, x * (x + 3) / 6)),
    "step": lambda x, p: np.where(x > 0, 1.0, np.where(x < 0, 0.0, p.get("value", 1.0))),
    "identity": lambda x, p: x,
}
PRELU = lambda x, a: np.where(x > 0, x, a * x)  # noqa: E731

CASES = [(name, {}) for name in TORCH] + [
    ("clipped_relu", {"ceiling": 2.3}), ("leaky_relu", {"negative_slope": 0.2}),
    ("rrelu", {"lower": 0.1, "upper": 0.3}),
    ("hardtanh", {"min_val": -0.3, "max_val": 2.7}), ("hardsigmoid", {"variant": "keras"}),
    ("hardsigmoid", {"variant": "linear"}), ("step", {"value": 0.5}),
]
FORMATS = [("s4.12", "s4.12"), ("s4.4", "s4.4"), ("s4.12", "u0.16"), ("s3.5", "s2.10")]

pytestmark = pytest.mark.model


def independent_error(plan, name, params):
    """Max and mean error in output LSBs over every input code, from the TORCH formulas."""
    x = plan.in_fmt.all_codes()
    real = TORCH[name](plan.in_fmt.to_real(x), params)
    target = np.clip(real, plan.out_fmt.min_value, plan.out_fmt.max_value) / plan.out_fmt.lsb
    err = evaluate(plan, x) - target
    return np.abs(err).max(), err.mean()


def test_the_exact_family_is_registered():
    assert set(TORCH) | {"prelu"} <= set(FUNCTIONS)


@pytest.mark.parametrize("formats", FORMATS, ids=lambda f: f"{f[0]}->{f[1]}")
@pytest.mark.parametrize("name, params", CASES, ids=lambda c: str(c))
def test_exact_plans_are_correctly_rounded_and_claims_match(name, params, formats):
    plan = make_plan(name, *formats, params=params)
    worst, bias = independent_error(plan, name, params)
    assert worst <= 0.5 + 1e-9  # correctly rounded: the physical limit
    claimed = measure(plan)
    assert claimed.exhaustive and claimed.vectors == plan.in_fmt.n_codes
    assert claimed.max_lsb == pytest.approx(worst, abs=1e-9)
    assert claimed.mean_lsb == pytest.approx(bias, abs=1e-9)
    assert claimed.correctly_rounded_fraction == 1.0


@pytest.mark.parametrize("fmt", ["s4.12", "s4.4"])
def test_prelu_is_correctly_rounded_for_every_slope(fmt, cached_plan):
    plan = cached_plan("prelu", fmt, fmt)
    assert plan.operand_fmt == Fmt(1, Fmt.parse(fmt).width - 1)
    x = plan.in_fmt.all_codes()
    a = np.unique(np.concatenate([np.arange(-128, 128) << (plan.operand_fmt.width - 8), [plan.operand_fmt.max_code]]))
    xx, aa = np.meshgrid(x, a)
    real = PRELU(plan.in_fmt.to_real(xx), plan.operand_fmt.to_real(aa))
    target = np.clip(real, plan.out_fmt.min_value, plan.out_fmt.max_value) / plan.out_fmt.lsb
    assert np.abs(evaluate(plan, xx, aa) - target).max() <= 0.5 + 1e-9


def test_unrepresentable_constants_are_recorded_requested_and_quantized():
    plan = make_plan("leaky_relu", "s4.12", "s4.12")
    (slope,) = [c for c in plan.quantized["coefficients"] if c["segment"] == 0 and c["power"] == 1]
    assert slope["requested"] == 0.01
    assert slope["quantized"] != 0.01 and abs(slope["quantized"] - 0.01) < 2.0 ** -15
    assert slope["quantized"] == slope["code"] * 2.0 ** -int(slope["format"].split(".")[1])
    breaks = make_plan("hardtanh", "s4.4", "s4.4", params={"min_val": -0.3}).quantized["breakpoints"]
    assert breaks[0]["requested"] == -0.3 and breaks[0]["code"] == -4  # first code >= -0.3 is -0.25


def test_coefficient_search_uses_the_fewest_bits():
    # A quarter slope needs 2 fraction bits; nothing more is spent on it.
    plan = make_plan("hardsigmoid", "s4.4", "s4.4", params={"variant": "linear"})
    assert plan.table.frac_bits[-1] == 2


@pytest.mark.parametrize("mode", ROUNDING_MODES)
def test_output_rounding_modes_match_quantize(mode):
    plan = make_plan("identity", "s4.12", "s4.4", rounding=mode)
    x = plan.in_fmt.all_codes()
    assert np.array_equal(evaluate(plan, x), quantize(plan.in_fmt.to_real(x), plan.out_fmt, mode, "SAT"))


def test_overflow_modes_reach_the_output():
    x = Fmt(4, 4).all_codes()
    for mode in ("SAT", "SAT_SYM", "WRAP"):
        plan = make_plan("identity", "s4.4", "s2.4", overflow=mode)
        assert np.array_equal(evaluate(plan, x), quantize(Fmt(4, 4).to_real(x), Fmt(2, 4), "RND", mode))


def test_plan_json_round_trip_is_lossless():
    for name in ("hardswish", "prelu", "step"):
        plan = make_plan(name, "s4.4", "s4.4")
        again = Plan.from_json(plan.to_json())
        assert again == plan and json.loads(again.to_json()) == json.loads(plan.to_json())


def test_modes_are_enums_with_their_json_spellings():
    from dataclasses import replace

    from hwact.functions import Family, ParamKind, get
    from hwact.plan import Fold, FoldKind, Method

    plan = make_plan("sigmoid", "s4.4", "u0.8", method="lut")
    assert plan.method is Method.LUT and plan.fold.kind is FoldKind.COMPLEMENT
    text = plan.to_json()
    assert '"method": "lut"' in text and '"kind": "complement"' in text
    again = Plan.from_json(text)
    assert again.method is Method.LUT and again.fold.kind is FoldKind.COMPLEMENT and again.to_json() == text
    assert get("gelu").family is Family.SMOOTH and get("gelu").params[0].kind is ParamKind.CHOICE
    assert get("tanh").symmetry is FoldKind.ODD
    with pytest.raises(ValueError, match=r"a plan's method is the one that made it .*, not 'auto'"):
        replace(plan, method="auto")
    with pytest.raises(ValueError, match="fold must be one of odd, complement, minus_x, not 'even'"):
        Fold("even")


def test_a_table_plan_takes_the_segmentation_its_method_needs():
    from dataclasses import replace

    from hwact.approx import PlanRequest, plan
    from hwact.approx.segments import Uniform
    from hwact.approx.table import plan_table
    from hwact.plan import BitSlice, Method

    request = PlanRequest.parse("tanh", "s4.4", "s4.4", method="pwl")
    assert plan(request) == make_plan("tanh", "s4.4", "s4.4", method="pwl")
    with pytest.raises(ValueError, match="pwl needs a segmentation"):
        plan_table(request)
    with pytest.raises(ValueError, match="lut takes no segmentation"):
        plan_table(replace(request, method=Method.LUT), Uniform(2))
    with pytest.raises(TypeError, match="segmentation must be Uniform, FitTolerance or RoundingSplit"):
        plan_table(request, 2)
    uniform = plan_table(request, Uniform(2))
    assert isinstance(uniform.select, BitSlice) and uniform.select.shift == 2 and uniform.method is Method.PWL


def test_model_rejects_codes_outside_the_format():
    plan = make_plan("relu", "s4.4", "s4.4")
    with pytest.raises(ValueError, match=r"-128\.\.127"):
        evaluate(plan, np.array([200]))


@pytest.mark.slow
def test_wide_inputs_are_measured_on_a_sample(cached_plan):
    plan = cached_plan("leaky_relu", "s12.12", "s12.12")
    stats = measure(plan)
    assert not stats.exhaustive and stats.vectors > 1 << 19
    assert stats.max_lsb <= 0.5 + 1e-9


def test_bad_requests_say_what_is_wrong():
    with pytest.raises(ParamError, match="unknown function 'nope'"):
        make_plan("nope", "s4.4", "s4.4")
    with pytest.raises(ParamError, match=r"min_val .* must be below max_val"):
        make_plan("hardtanh", "s4.4", "s4.4", params={"min_val": 2})
    with pytest.raises(ParamError, match="ceiling must be >= 0"):
        make_plan("clipped_relu", "s4.4", "s4.4", params={"ceiling": -1})
    with pytest.raises(ParamError, match="must be one of torch, keras, linear"):
        make_plan("hardsigmoid", "s4.4", "s4.4", params={"variant": "tf"})
    with pytest.raises(ParamError, match="must be a real number"):
        make_plan("leaky_relu", "s4.4", "s4.4", params={"negative_slope": "steep"})
    with pytest.raises(PlanError, match=r"best reachable is 0\.5"):
        make_plan("leaky_relu", "s4.4", "s4.4", max_err_lsb=0.25)
    with pytest.raises(PlanError, match="does not apply"):
        make_plan("relu", "s4.4", "s4.4", method="pwl")


@pytest.mark.slow
def test_wide_left_shifts_saturate_without_int64_overflow(cached_plan):
    plan = cached_plan("identity", "u32.0", "u0.32")
    assert evaluate(plan, np.array([1, 2**31, 2**32 - 1])).tolist() == [2**32 - 1] * 3


def test_wrapping_units_are_judged_on_the_wrapped_circle():
    stats = measure(make_plan("identity", "s4.4", "s2.2", overflow="WRAP"))
    assert stats.max_lsb == 0.5 and stats.correctly_rounded_fraction == 1.0 and stats.monotonic


def test_maxout_and_crelu():
    fmt = Fmt(4, 4)
    x = fmt.all_codes()
    maxout = make_plan("maxout", "s4.4", "s4.4")
    xx, aa = np.meshgrid(x, x)
    assert maxout.operand_fmt == fmt and np.array_equal(evaluate(maxout, xx, aa), np.maximum(xx, aa))
    crelu = make_plan("crelu", "s4.4", "s4.4")
    both = evaluate(crelu, x)
    assert both.shape == (256, 2) and crelu.outputs == 2
    assert np.array_equal(both[:, 0], np.maximum(x, 0))
    assert np.array_equal(both[:, 1], np.minimum(np.maximum(-x, 0), 127))  # -(-128) saturates
    assert measure(crelu).max_lsb == 0 and measure(crelu).monotonic
    assert Plan.from_json(crelu.to_json()) == crelu and Plan.from_json(maxout.to_json()) == maxout

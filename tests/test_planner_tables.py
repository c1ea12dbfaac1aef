"""Tier 1: table planners (lut, pwl, pwl2, auto) measured against independent references."""

import numpy as np
import pytest
from scipy import special, stats

from hwact import Fmt, Plan, PlanError, evaluate, make_plan
from hwact.cost import plan_cost
from hwact.functions import FUNCTIONS
from hwact.measure import input_grid, measure, reference, report

# Written differently from hwact's own references on purpose.
INDEPENDENT = {
    "sigmoid": lambda x: 0.5 * (1 + np.tanh(x / 2)),
    "tanh": lambda x: 2 * special.expit(2 * x) - 1,
    "gelu": lambda x: x * stats.norm.cdf(x),
    "silu": lambda x: x / (1 + np.exp(-x)),
    "elu": lambda x: np.where(x > 0, x, np.exp(np.minimum(x, 0)) - 1),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(np.minimum(x, 0)) - 1)),
    "celu": lambda x: np.where(x > 0, x, np.exp(np.minimum(x, 0)) - 1),
    "softplus": lambda x: np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x))),
    "mish": lambda x: x * np.tanh(np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))),
    "squareplus": lambda x: (x + np.hypot(x, 2.0)) / 2,
    "softsign": lambda x: np.sign(x) * np.abs(x) / (1 + np.abs(x)),
    "exp": lambda x: np.power(np.e, x),
    "exp2": lambda x: np.power(2.0, x),
}
SMOOTH = sorted({f.name for f in FUNCTIONS.values() if f.family == "smooth"})

pytestmark = pytest.mark.model


def independent_stats(plan, name):
    x = plan.in_fmt.all_codes()
    target = np.clip(INDEPENDENT[name](plan.in_fmt.to_real(x)), plan.out_fmt.min_value, plan.out_fmt.max_value)
    err = np.abs(evaluate(plan, x) - target / plan.out_fmt.lsb)
    return err.max(), np.mean(err <= 0.5 + 1e-9)


def test_every_smooth_function_has_an_independent_reference():
    assert set(SMOOTH) == set(INDEPENDENT)


@pytest.mark.slow
@pytest.mark.parametrize("name", SMOOTH)
def test_auto_at_16_bits_is_faithful_and_mostly_correctly_rounded(name, cached_plan):
    plan = cached_plan(name, "s4.12", "s4.12")
    worst, share = independent_stats(plan, name)
    assert worst < 1.0 and share >= 0.9
    claimed = measure(plan)
    assert claimed.exhaustive
    assert claimed.max_lsb == pytest.approx(worst, abs=1e-9)
    assert claimed.correctly_rounded_fraction == pytest.approx(share, abs=1e-9)


@pytest.mark.parametrize("name, fmt_in, fmt_out", [(n, "s4.4", "s4.4") for n in SMOOTH] + [
    ("sigmoid", "s4.4", "u0.8"), ("tanh", "s4.4", "s1.7"), ("gelu", "s3.7", "s3.7"), ("sigmoid", "u4.6", "u0.10")])
def test_inputs_up_to_10_bits_are_correctly_rounded(name, fmt_in, fmt_out):
    plan = make_plan(name, fmt_in, fmt_out)
    assert plan.method == "lut"
    worst, share = independent_stats(plan, name)
    assert worst <= 0.5 + 1e-9 and share == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("fmt_out", ["u0.16", "s1.15"])
def test_sigmoid_and_tanh_at_their_natural_output_formats(fmt_out, cached_plan):
    name = "sigmoid" if fmt_out == "u0.16" else "tanh"
    worst, share = independent_stats(cached_plan(name, "s4.12", fmt_out), name)
    assert worst < 1.0 and share >= 0.9


@pytest.mark.slow
def test_far_better_than_pulp_rnn_tables_at_q3_12(cached_plan):
    """PULP's pl.sig / pl.tanh (Q3.12, 16 segments per side) err by up to 0.018 / 0.0039."""
    sigmoid = measure(cached_plan("sigmoid", "Q3.12", "Q3.12"))
    tanh = measure(cached_plan("tanh", "Q3.12", "Q3.12"))
    assert sigmoid.max_abs * 70 <= 0.018
    assert tanh.max_abs * 16 <= 0.0039


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gelu", "silu"])
def test_non_uniform_segments_beat_uniform(name, cached_plan):
    auto = cached_plan(name, "s4.12", "s4.12")
    reached = measure(auto).max_lsb
    assert auto.method in ("pwl", "pwl2") and hasattr(auto.select, "thresholds")
    # The fewest uniform (bit-sliced) segments of the same degree that reach the same error.
    from hwact.approx import PlanRequest
    from hwact.approx.segments import Uniform
    from hwact.approx.table import plan_table

    request = PlanRequest.parse(name, "s4.12", "s4.12", method=auto.method)
    for shift in range(12, 0, -1):
        uniform = plan_table(request, Uniform(shift))
        if measure(uniform).max_lsb <= reached:
            break
    assert uniform.select.segments >= 2.5 * auto.select.segments


def test_segments_placed_for_rounding_round_more_outputs_than_equal_error_segments():
    from hwact.approx import PlanRequest
    from hwact.approx.segments import FitTolerance, RoundingSplit
    from hwact.approx.table import plan_table

    request = PlanRequest.parse("silu", "s4.12", "s4.12", method="pwl2")
    placed = plan_table(request, RoundingSplit(12))
    worst, rounded = independent_stats(placed, "silu")
    assert placed.select.segments == 12 and worst < 1.0 and rounded >= 0.9
    assert measure(placed).monotonic  # the segment boundaries were chosen not to step backwards
    equal_error = [plan_table(request, FitTolerance(t)) for t in (0.4, 0.3, 0.2)]
    at_most_12 = [plan for plan in equal_error if plan.select.segments <= 12]
    assert at_most_12 and all(independent_stats(plan, "silu")[1] < 0.9 for plan in at_most_12)


def test_segments_placed_for_rounding_refuse_what_they_cannot_do():
    from hwact.approx import PlanRequest
    from hwact.approx.segments import RoundingSplit, SegmentsOutOfReach
    from hwact.approx.table import plan_table

    request = PlanRequest.parse("silu", "s4.12", "s4.12", method="pwl2")
    with pytest.raises(SegmentsOutOfReach, match="no faithful split of silu into 3 segments"):
        plan_table(request, RoundingSplit(3))
    with pytest.raises(SegmentsOutOfReach, match="predicted to round"):
        plan_table(request, RoundingSplit(12, min_share=0.99))
    with pytest.raises(SegmentsOutOfReach, match="domain of at most 2\\*\\*16 codes"):
        plan_table(PlanRequest.parse("silu", "s6.12", "s6.12", method="pwl2"), RoundingSplit(12))


@pytest.mark.parametrize("method", ["lut", "pwl", "pwl2"])
def test_forced_methods_meet_the_budget(method, cached_plan):
    plan = cached_plan("tanh", "s4.12", "s4.12", method=method)
    assert plan.method == method
    assert measure(plan).max_lsb < 1.0
    if method == "lut":
        assert measure(plan).max_lsb <= 0.5 + 1e-9


def test_folds_and_clamps_shrink_the_table(cached_plan):
    plan = cached_plan("sigmoid", "s4.12", "s4.12", method="lut")
    assert plan.fold.kind == "complement" and plan.clamp is not None
    assert plan.select.segments < 32768  # at most half the codes, by the fold (and saturation)
    assert plan_cost(plan).table_bits > 0


@pytest.mark.slow
def test_a_looser_budget_never_costs_more(cached_plan):
    tight = cached_plan("tanh", "s4.12", "s4.12")
    loose = cached_plan("tanh", "s4.12", "s4.12", max_err_lsb=4)
    assert plan_cost(loose).cost <= plan_cost(tight).cost
    assert measure(loose).max_lsb < 4 and measure(loose).monotonic


@pytest.mark.slow
@pytest.mark.parametrize("name", SMOOTH)
def test_auto_plans_at_16_bits_are_monotonic(name, cached_plan):
    assert measure(cached_plan(name, "s4.12", "s4.12")).monotonic


def test_an_unmeetable_budget_names_the_best_reachable():
    with pytest.raises(PlanError, match=r"no sigmoid plan for s4.4 -> u0.8 with error at most 0.2 LSB; "
                                        r".* best reachable is 0.49\d* LSB"):
        make_plan("sigmoid", "s4.4", "u0.8", max_err_lsb=0.2)


def test_rounding_and_overflow_modes_carry_through():
    for mode in ("TRN", "RND_CONV"):
        plan = make_plan("softsign", "s4.4", "s4.4", rounding=mode)
        assert measure(plan).max_lsb <= (1.0 if mode == "TRN" else 0.5) + 1e-9  # floor: within 1 LSB
    assert measure(make_plan("exp", "s4.4", "s4.4", overflow="SAT_SYM")).max_lsb <= 0.5 + 1e-9


# -- gated units: factor(a) * gate(b) ----------------------------------------------------------

GATED = {
    "glu": lambda a, b: a / (1 + np.exp(-b)),
    "geglu": lambda a, b: a * b * stats.norm.cdf(b),
    "swiglu": lambda a, b: a * b / (1 + np.exp(-b)),
    "gtu": lambda a, b: np.tanh(a) / (1 + np.exp(-b)),
}


@pytest.mark.parametrize("fmt", ["s4.4", pytest.param("s4.12", marks=pytest.mark.slow)])
@pytest.mark.parametrize("name", GATED)
def test_gated_units_are_faithful(name, fmt, cached_plan):
    plan = cached_plan(name, fmt, fmt)
    assert plan.operands == 2 and plan.product is not None
    fmt_ = plan.in_fmt
    b = fmt_.all_codes()
    a = np.unique(np.concatenate([[fmt_.min_code, fmt_.max_code, 0, 1, -1],
                                  np.random.default_rng(5).integers(fmt_.min_code, fmt_.max_code, 12)]))
    if fmt == "s4.4":
        a = fmt_.all_codes()
    bb, aa = np.meshgrid(b, a)
    real = GATED[name](fmt_.to_real(aa), fmt_.to_real(bb))
    target = np.clip(real, plan.out_fmt.min_value, plan.out_fmt.max_value) / plan.out_fmt.lsb
    err = np.abs(evaluate(plan, bb, aa) - target)
    assert err.max() < 1.0 and np.mean(err <= 0.5 + 1e-9) >= 0.9
    claimed = measure(plan)
    assert claimed.max_lsb < 1.0 and claimed.exhaustive == (fmt == "s4.4")
    if fmt == "s4.4":  # 8-bit operands: every product correctly rounded, as for one-operand units
        assert err.max() <= 0.5 + 1e-9
        assert claimed.max_lsb == pytest.approx(err.max(), abs=1e-9) and claimed.correctly_rounded_fraction == 1.0


@pytest.mark.parametrize("name, extra", [("glu", 8), ("geglu", 8), ("swiglu", 8), ("gtu", 10)])
def test_nudged_gate_tables_reach_correct_rounding_with_fewer_bits(name, extra):
    from hwact.approx import PlanRequest
    from hwact.approx.gated import plan_gated

    def plan(nudge):
        return plan_gated(PlanRequest.parse(name, "s4.4", "s4.4"), extra, make_plan, nudge_radius=nudge)

    plain, nudged = measure(plan(0)), measure(plan(4))
    assert nudged.monotonic and nudged.correctly_rounded_fraction == 1.0
    assert plain.correctly_rounded_fraction < 1.0


@pytest.mark.parametrize("name, fmt_in, fmt_out", [("glu", "s4.4", "s4.4"), ("swiglu", "s4.4", "s4.4"),
                                                   ("glu", "s3.5", "s2.6"), ("geglu", "s3.5", "s3.5")])
def test_truncating_gated_units_are_the_floor_of_the_real_product(name, fmt_in, fmt_out):
    # The nudge aims at the output's own mode: for TRN the floor of a * gate(b), on every pair.
    plan = make_plan(name, fmt_in, fmt_out, rounding="TRN", max_err_lsb=2)
    x, a, exhaustive = input_grid(plan)
    stats = measure(plan)
    assert exhaustive and stats.monotonic and stats.mode_fraction == 1.0
    real = reference(plan, x, a)
    y = evaluate(plan, x, a)
    assert np.all(y <= real + 1e-9) and np.all(y > real - 1)


@pytest.mark.parametrize("extra", [2, 3, 4, 6])
@pytest.mark.parametrize("name", GATED)
def test_a_nudged_gate_is_never_worse_than_the_plain_one(name, extra):
    from hwact.approx import PlanRequest
    from hwact.approx.gated import plan_gated

    request = PlanRequest.parse(name, "s4.4", "s4.4")
    plain, nudged = (measure(plan_gated(request, extra, make_plan, nudge_radius=radius)) for radius in (0, 4))
    assert nudged.monotonic or not plain.monotonic
    assert nudged.max_lsb <= max(plain.max_lsb, 0.5) + 1e-9


@pytest.mark.slow
def test_a_gated_product_wider_than_the_model_is_refused(monkeypatch):
    import hwact.approx.gated as gated

    monkeypatch.setattr(gated, "MODEL_BITS", 30)  # as if the operands were far wider
    # The width is the product's exact range (hwact.widths), here 38 bits for the first gate tried.
    with pytest.raises(PlanError, match=r"glu at s4.12 -> s4.12: the gate x factor product would need 38 bits "
                                        r"\(over 30, the int64 model's limit\)"):
        make_plan("glu", "s4.12", "s4.12")


def test_make_plan_checks_the_widths_of_the_plan_it_returns(monkeypatch, cached_plan):
    import hwact.approx as approx
    from hwact.widths import analyze

    widest = analyze(cached_plan("hardswish", "s4.12", "s4.12")).widest
    monkeypatch.setattr(approx, "MODEL_BITS", widest - 1)  # as if the model were narrower
    with pytest.raises(PlanError, match=rf"hardswish at s4.12 -> s4.12: the \w+ step would need {widest} bits "
                                        rf"\(over {widest - 1}, the int64 model's limit\)"):
        make_plan("hardswish", "s4.12", "s4.12")


def test_the_planners_int64_screen_is_never_narrower_than_the_exact_widths(cached_plan):
    from hwact.widths import analyze, model_overflow

    for spec in [("tanh", "s4.4", "s4.4"), ("leaky_relu", "s12.12", "s12.12"), ("prelu", "s4.4", "s4.4"),
                 ("hardswish", "s4.12", "s4.12"), ("gelu", "s6.10", "s6.10")]:
        plan = cached_plan(*spec)
        widths = analyze(plan)
        chain = [r.bits for name, r in widths.steps().items() if name.startswith(("product", "sum"))]
        for limit in sorted(set(chain)):  # the bound flags a step whenever the exact width exceeds the limit
            assert model_overflow(plan, traced=False, limit=limit - 1) is not None
        assert model_overflow(plan) is None


@pytest.mark.slow
def test_gtu_nests_its_tanh_plan(cached_plan):
    plan = cached_plan("gtu", "s4.12", "s4.12")
    assert plan.product.factor_plan.function == "tanh"
    assert Plan.from_json(plan.to_json()) == plan
    assert len(plan_cost(plan).multipliers) > len(plan_cost(plan.product.factor_plan).multipliers)


# -- inputs wider than 20 bits ------------------------------------------------------------------


@pytest.mark.slow
def test_a_24_bit_input_is_planned_on_a_probe_set_and_holds_on_codes_it_never_saw(cached_plan):
    plan = cached_plan("sigmoid", "s8.16", "u0.16")
    fmt, out = plan.in_fmt, plan.out_fmt
    searched, claimed = measure(plan), report(plan)  # the planner's sample; every code, as the manifest says
    assert not searched.exhaustive and searched.vectors > 1_000_000
    assert claimed.exhaustive and claimed.vectors == 1 << 24 and claimed.max_lsb >= searched.max_lsb
    assert claimed.max_lsb < 1.0 and claimed.correctly_rounded_fraction >= 0.9 and claimed.monotonic
    rng = np.random.default_rng(2026)
    edges = [t + d for t in plan.select.thresholds for d in (-1, 0)]
    random = rng.integers(fmt.min_code, fmt.max_code, 300_000, endpoint=True)
    x = np.sort(np.concatenate([random, edges, -np.array(edges)]))
    target = np.clip(INDEPENDENT["sigmoid"](fmt.to_real(x)), out.min_value, out.max_value) / out.lsb
    y = evaluate(plan, x)
    assert np.abs(y - target).max() < 1.0
    assert np.all(np.diff(y) >= 0)
    # The clamp sits on the exact code where the rounded output stops changing.
    ends = fmt.to_real(np.array([plan.clamp.hi - 1, plan.clamp.hi]))
    cr = np.clip(np.floor(INDEPENDENT["sigmoid"](ends) / out.lsb + 0.5), 0, out.max_code)
    assert cr[1] == out.max_code and cr[0] < out.max_code


@pytest.mark.slow
def test_a_32_bit_input_keeps_the_model_inside_int64():
    from hwact.approx import PlanRequest
    from hwact.approx.segments import FitTolerance
    from hwact.approx.table import plan_table

    fmt = Fmt(16, 16)
    plan = plan_table(PlanRequest.parse("gelu", fmt, fmt, method="pwl2"), FitTolerance(0.3))
    ends = np.array([t + d for t in plan.select.thresholds for d in (-1, 0)] + [fmt.max_code, fmt.min_code])
    x = np.concatenate([ends, -ends[:-2], np.random.default_rng(7).integers(fmt.min_code, fmt.max_code, 200_000)])
    x = np.clip(x, fmt.min_code, fmt.max_code)
    target = np.clip(INDEPENDENT["gelu"](fmt.to_real(x)), fmt.min_value, fmt.max_value) / fmt.lsb
    assert np.abs(evaluate(plan, x) - target).max() < 1.0  # an int64 overflow would be off by far more


def test_a_direct_table_refuses_wide_inputs():
    with pytest.raises(PlanError, match="lut has an entry per input code"):
        make_plan("sigmoid", "s8.16", "u0.16", method="lut")


@pytest.mark.slow
def test_auto_with_a_half_lsb_budget_skips_the_direct_table_when_inputs_are_too_wide(monkeypatch):
    # As if 12 bits were past the direct table's limit (the real one, 20 bits, takes minutes to plan past).
    import hwact.approx as approx
    import hwact.approx.table as table

    monkeypatch.setattr(table, "MAX_LUT_INPUT_BITS", 10)
    monkeypatch.setattr(approx, "MAX_LUT_INPUT_BITS", 10)
    with pytest.raises(PlanError, match="lut has an entry per input code"):
        make_plan("sigmoid", "s4.8", "u0.8", method="lut")
    try:
        plan = make_plan("sigmoid", "s4.8", "u0.8", max_err_lsb=0.5)
    except PlanError as error:
        assert str(error).startswith("no sigmoid plan for s4.8 -> u0.8 with error at most 0.5 LSB")
    else:
        assert plan.method in ("pwl", "pwl2", "cr") and report(plan).max_lsb <= 0.5 + 1e-9


@pytest.mark.slow
def test_a_fit_needing_too_many_non_uniform_segments_stops_early():
    from hwact.approx import PlanRequest
    from hwact.approx.segments import MAX_NONUNIFORM_SEGMENTS, FitTolerance, TooManySegments
    from hwact.approx.table import plan_table

    with pytest.raises(TooManySegments, match=f"over {MAX_NONUNIFORM_SEGMENTS} non-uniform segments"):
        plan_table(PlanRequest.parse("sigmoid", "s4.12", "u0.16", method="pwl"), FitTolerance(0.001))


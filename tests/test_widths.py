"""hwact.widths: every stated range contains, and is reached by, the values the model computes."""

import numpy as np
import pytest

import hwact.widths as widths_module
from hwact.fixed import Fmt
from hwact.model import evaluate
from hwact.plan import CoefTable, HornerStep, OutputStage, Plan, SegmentSelect
from hwact.widths import Range, analyze, signed_bits, trace

pytestmark = pytest.mark.model


@pytest.fixture
def plan_for(cached_plan):
    """Plans made once per source state (tests/conftest.py)."""
    return lambda function, fmt, out=None, method="auto": cached_plan(function, fmt, out or fmt, method=method)


def _every_input(plan):
    """Every input code (crossed with every operand code when there is one)."""
    x = plan.in_fmt.all_codes()
    if plan.operand_fmt is None:
        return x, None
    xx, aa = np.meshgrid(x, plan.operand_fmt.all_codes())
    return xx.ravel(), aa.ravel()


def _assert_tight(plan, stated, x, a, reached=True):
    traced = trace(plan, x, a)
    np.testing.assert_array_equal(
        traced["output"], evaluate(plan, x, a) if not plan.mirror else evaluate(plan, x, a)[..., 0]
    )
    for name, r in stated.steps().items():
        values = traced[name]
        assert r.lo <= values.min() and values.max() <= r.hi, f"{name}: {values.min()}..{values.max()} outside {r}"
        if reached and r.exact:
            assert (values.min(), values.max()) == (r.lo, r.hi), (
                f"{name}: {r} not reached ({values.min()}..{values.max()})"
            )


@pytest.mark.parametrize(
    ("function", "fmt", "out", "method"),
    [
        ("relu", "s4.4", None, "auto"),
        ("hardswish", "s4.12", None, "auto"),
        ("leaky_relu", "s4.12", None, "auto"),
        ("prelu", "s4.4", None, "auto"),
        ("maxout", "s4.4", None, "auto"),
        ("crelu", "s4.4", None, "auto"),
        ("glu", "s4.4", None, "auto"),
        ("gtu", "s4.4", None, "auto"),
        ("sigmoid", "s4.8", "u0.12", "pwl2"),
        ("gelu", "s4.8", None, "pwl2"),
        ("tanh", "s4.8", "s1.11", "pwl"),
        ("silu", "s4.8", None, "lut"),
        ("softplus", "s4.8", "u4.8", "pwl"),
    ],
)
def test_ranges_are_exact_on_every_code(plan_for, function, fmt, out, method):
    plan = plan_for(function, fmt, out, method)
    stated = analyze(plan)
    assert stated.exact
    _assert_tight(plan, stated, *_every_input(plan))


@pytest.mark.parametrize(
    ("function", "fmt", "out", "method"),
    [
        ("tanh", "s5.7", None, "pwl2"),
        ("sigmoid", "s5.7", "u0.12", "pwl"),
        ("hardswish", "s6.8", None, "auto"),
        ("relu6", "s6.10", None, "auto"),
    ],
)
def test_segment_analysis_of_wide_domains_contains_every_value(plan_for, function, fmt, out, method, monkeypatch):
    """Past EXHAUSTIVE_BITS only segment ends are traced (plus interval bounds for degree >= 2)."""
    plan = plan_for(function, fmt, out, method)
    monkeypatch.setattr(widths_module, "EXHAUSTIVE_BITS", 4)
    stated = analyze(plan)
    if plan.table.degree <= 1:
        assert stated.exact  # monotone within a segment: the ends reach the extremes
    _assert_tight(plan, stated, plan.in_fmt.all_codes(), None)
    monkeypatch.undo()
    full = analyze(plan)
    for name, r in stated.steps().items():  # a bound may be looser, never tighter
        assert r.lo <= full.steps()[name].lo and full.steps()[name].hi <= r.hi


def test_widest_step_and_bits(plan_for):
    stated = analyze(plan_for("hardswish", "s4.12"))
    assert stated.widest == max(r.bits for r in stated.steps().values()) > 32  # x**2 / 6 with fine coefficients
    assert analyze(plan_for("relu", "s4.4")).widest <= 16
    assert [signed_bits(v) for v in (0, 1, -1, 127, -128, 128)] == [1, 2, 1, 8, 8, 9]
    assert Range(-128, 127).bits == 8 and Range(0, 255).bits == 9 and str(Range(-1, 0)) == "-1..0 (1 bits)"
    with pytest.raises(ValueError, match="empty"):
        Range(1, 0)
    with pytest.raises(TypeError, match=r"hwact\.plan\.Plan"):
        analyze("relu")


def test_wide_32_bit_input_is_analyzed_without_enumerating():
    """A leaky ReLU on s16.16 codes, built by hand (the planners' 32-bit search is slow): 62-bit products."""
    fmt = Fmt(16, 16)
    plan = Plan(
        function="leaky_relu",
        params={},
        method="exact",
        in_fmt=fmt,
        out_fmt=Fmt(8, 16),
        select=SegmentSelect((0,)),
        table=CoefTable(((0, round(0.01 * 2**30)), (0, 1 << 30)), (46, 30)),
        horner=(HornerStep(0),),
        output=OutputStage(30, "RND_CONV", "SAT_SYM"),
    )
    stated = analyze(plan)
    assert stated.exact and stated.input == Range(fmt.min_code, fmt.max_code)
    assert stated.products[0] == Range(-(1 << 31) * round(0.01 * 2**30), ((1 << 31) - 1) << 30)
    assert stated.widest == 62
    x = np.concatenate([np.arange(-1000, 1000), [fmt.min_code, fmt.max_code]])
    _assert_tight(plan, stated, x, None, reached=False)

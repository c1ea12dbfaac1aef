"""The correctly rounded planner (method ``cr``): rounding intervals, plans, and the auto choices.

Fast tier: the interval construction against the model's output stage in every rounding mode,
small correctly rounded plans in every mode, the committed 16-bit plans measured on every
code, and ``auto``/forced-method choices that once went wrong (issue 20, item 3.3). The
16-bit plans' Verilog and C proofs, and the check that the planner still makes them, are the
``cr`` tier (``make test-cr``, tests/test_cr_proofs.py).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest

from hwact import PlanError, make_plan
from hwact.approx.cr import _domain, _intervals, _output_interval, plan_cr
from hwact.approx.table import fold_for
from hwact.cost import plan_cost
from hwact.fixed import ROUNDING_MODES, Fmt, overflow, shift_round
from hwact.functions import get, resolve_params
from hwact.measure import TIE_TOLERANCE, mode_target, report
from hwact.model import evaluate, unfold
from hwact.plan import Plan

pytestmark = pytest.mark.model

PLANS = Path(__file__).resolve().parent / "data" / "cr_plans"
#: One quick shape (quadratic, 8 guard bits) for the small plans: the test is about correctness.
QUICK = ((2, 8, -2),)


def cost_of(plan):  # the ranking auto uses
    return plan_cost(plan).cost


@pytest.mark.parametrize("rounding", ROUNDING_MODES)
def test_output_intervals_are_exactly_the_preimages(rounding):
    """Every accumulator inside gives the code; the neighbours outside do not (or the range is unbounded)."""
    fmt, guard, big = Fmt.parse("s1.7"), 5, 1 << 20
    y = fmt.all_codes()
    lo, hi = _output_interval(y, guard, rounding, fmt, "SAT", big)

    def out(acc):
        return overflow(shift_round(acc, guard, rounding), fmt, "SAT")

    assert np.all(out(lo) == y) and np.all(out(hi) == y)
    assert np.all((lo == -big) | (out(lo - 1) < y)) and np.all((hi == big) | (out(hi + 1) > y))
    assert (lo == -big).sum() == 1 and (hi == big).sum() == 1  # only the saturated ends are unbounded
    middle = (lo + hi) // 2
    assert np.all(out(middle) == y)


@pytest.mark.parametrize("name, fmt_in, fmt_out", [("sigmoid", "s4.6", "u0.8"), ("tanh", "s3.7", "s1.7"),
                                                   ("gelu", "s4.6", "s4.6")])
def test_folded_intervals_serve_both_signs(name, fmt_in, fmt_out):
    """With a fold, an accumulator in a code's interval rounds correctly at +u and, unfolded, at -u."""
    fn, fin, fout = get(name), Fmt.parse(fmt_in), Fmt.parse(fmt_out)
    domain = _domain(fn, resolve_params(fn, {}), fin, fout, "RND", "SAT")
    assert domain.folded
    fold = fold_for(fn, fin, fout, 6)
    lo, hi, big = _intervals(domain, fold, 6, "RND", fout, "SAT", fin)
    u = np.arange(domain.lo, domain.hi + 1, dtype=np.int64)
    for acc in (np.where(lo == -big, hi, lo), np.where(hi == big, lo, hi)):
        pos = overflow(shift_round(acc, 6, "RND"), fout, "SAT")
        neg = overflow(shift_round(unfold(fold, acc, u), 6, "RND"), fout, "SAT")
        assert np.all((pos == domain.want_pos) | ~domain.has_pos)
        assert np.all((neg == domain.want_neg) | ~domain.has_neg)


@pytest.mark.parametrize("rounding", ROUNDING_MODES)
def test_small_cr_plans_are_the_mode_applied_to_the_real_value_on_every_code(rounding):
    """Each mode gets its own plan, equal on every code to the mode applied to the real function."""
    for name, fmt_in, fmt_out in [("sigmoid", "s4.6", "u0.8"), ("silu", "s4.6", "s4.6")]:
        fn = get(name)
        plan = plan_cr(fn, resolve_params(fn, {}), Fmt.parse(fmt_in), Fmt.parse(fmt_out), rounding=rounding,
                       shapes=QUICK, cache=False, cost=cost_of)
        codes = plan.in_fmt.all_codes()
        assert plan.method == "cr" and plan.table.degree == 2
        assert np.array_equal(evaluate(plan, codes), mode_target(plan, codes)), (name, rounding)
        stats = report(plan)
        assert stats.mode_fraction == 1.0 and stats.monotonic
        if rounding.startswith("RND"):
            assert stats.correctly_rounded_fraction == 1.0 and stats.max_lsb <= 0.5 + TIE_TOLERANCE


def test_cr_refuses_what_it_cannot_promise():
    with pytest.raises(PlanError, match="saturating output"):
        make_plan("tanh", "s3.5", "s1.7", method="cr", overflow="WRAP")
    with pytest.raises(PlanError, match="inputs up to 20 bits"):
        make_plan("sigmoid", "s8.16", "u0.16", method="cr")
    with pytest.raises(PlanError, match="does not apply"):
        make_plan("glu", "s4.4", "s4.4", method="cr")


def test_the_plan_cache_is_keyed_and_used(tmp_path, monkeypatch):
    """A solved plan is stored under HWACT_CACHE_DIR and returned from there (a damaged entry is solved again)."""
    monkeypatch.setenv("HWACT_CACHE_DIR", str(tmp_path))
    fn, fin, fout = get("tanh"), Fmt.parse("s3.5"), Fmt.parse("s1.7")
    first = plan_cr(fn, {}, fin, fout, shapes=QUICK, cost=cost_of)
    [entry] = (tmp_path / "cr-plans").iterdir()
    assert Plan.from_json(entry.read_text()) == first
    entry.write_text("{not json")
    assert plan_cr(fn, {}, fin, fout, shapes=QUICK, cost=cost_of) == first
    assert Plan.from_json(entry.read_text()) == first
    other = plan_cr(fn, {}, fin, fout, shapes=QUICK, rounding="TRN", cost=cost_of)
    assert other != first and len(list((tmp_path / "cr-plans").iterdir())) == 2


# -- the committed 16-bit plans (bench/cr_frontier.py --write-plans) -------------------------------

COMMITTED = sorted(PLANS.glob("*.json"))


def test_the_committed_plans_cover_the_targets():
    names = {path.stem for path in COMMITTED}
    assert names == {"sigmoid_u0_16", "sigmoid_s1_15", "tanh_s1_15", "gelu_s4_12", "silu_s4_12"}


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_committed_16_bit_plans_are_correctly_rounded_on_every_code(path):
    plan = Plan.from_json(path.read_text())
    stats = report(plan)
    assert plan.method == "cr" and plan.in_fmt == Fmt.parse("s4.12")
    assert stats.exhaustive and stats.vectors == 65536
    assert stats.correctly_rounded_fraction == 1.0 and stats.max_lsb <= 0.5 + TIE_TOLERANCE
    assert stats.mode_fraction == 1.0 and stats.monotonic
    cost = plan_cost(plan)
    assert len(cost.multipliers) <= 2  # the bounds per lane: two multipliers, one 4 Kbit EBR
    assert cost.table_bits <= 4096


# -- auto and the forced methods (issue 20, item 3.3) ----------------------------------------------


def test_a_forced_pwl2_reaches_what_explore_finds():
    """tanh s3.5 -> s1.7 pwl2 within 0.5 LSB exists (13 segments, 6 guard bits); the planner once said 0.53."""
    plan = make_plan("tanh", "s3.5", "s1.7", method="pwl2", max_err_lsb=0.5)
    stats = report(plan)
    assert plan.method == "pwl2" and stats.max_lsb <= 0.5 + TIE_TOLERANCE
    assert stats.correctly_rounded_fraction == 1.0


def test_auto_returns_the_cheapest_passing_plan_above_one_lsb():
    """At 2 LSB a 7-segment pwl (cost 169, 1.85 LSB) passes; auto once returned the direct table (909)."""
    lut = make_plan("tanh", "s3.5", "s1.7", method="lut")
    plan = make_plan("tanh", "s3.5", "s1.7", max_err_lsb=2)
    assert report(plan).max_lsb < 2
    assert plan_cost(plan).cost <= 169 < plan_cost(lut).cost


def test_auto_at_half_an_lsb_takes_cr_where_it_is_cheaper_than_a_table():
    lut = make_plan("tanh", "s3.5", "s1.7", method="lut")
    plan = make_plan("tanh", "s3.5", "s1.7", max_err_lsb=0.5)
    assert plan.method == "cr" and report(plan).correctly_rounded_fraction == 1.0
    assert plan_cost(plan).cost < plan_cost(lut).cost
    # The default budget keeps the direct table at 8 bits (one ROM a CFU shares, no multiplier).
    assert make_plan("tanh", "s3.5", "s1.7").method == "lut"


def test_auto_at_half_an_lsb_on_16_bits_keeps_cr_without_the_table_and_ladders(monkeypatch):
    """Past 10 input bits a cr plan settles 0.5 LSB: no 65,536-row table, no ladders (they took minutes)."""
    import hwact.approx as approx

    committed = Plan.from_json((PLANS / "sigmoid_u0_16.json").read_text())
    asked = []

    def fake_cr(fn, values, in_fmt, out_fmt, **options):
        asked.append((fn.name, str(in_fmt), str(out_fmt), options["rounding"]))
        return committed

    def no_table(*args, **options):
        raise AssertionError(f"auto built a {options.get('method')} plan beside a correctly rounded cr plan")

    monkeypatch.setattr(approx, "plan_cr", fake_cr)
    monkeypatch.setattr(approx, "plan_table", no_table)
    assert make_plan("sigmoid", "s4.12", "u0.16", max_err_lsb=0.5) is committed
    assert asked == [("sigmoid", "s4.12", "u0.16", "RND")]


@pytest.mark.cli
def test_generate_with_cr_writes_a_correctly_rounded_manifest(tmp_path, monkeypatch):
    from hwact.cli import main

    monkeypatch.setenv("HWACT_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["generate", "tanh", "--in", "s3.5", "--out", "s1.7", "--method", "cr", "-o", str(tmp_path)]) == 0
    manifest = json.loads((tmp_path / "tanh.json").read_text())
    assert manifest["method"] == "cr"
    assert manifest["error"]["max_lsb"] <= 0.5 + TIE_TOLERANCE
    assert manifest["error"]["correctly_rounded_fraction"] == 1.0
    assert (tmp_path / "tanh.v").is_file() and (tmp_path / "tanh.h").is_file()


def test_every_smooth_function_gets_a_small_cr_plan_at_8_bits():
    """Folded or not, saturating at one end or both: 2 to 5 segments, the mode's value on every code."""
    from hwact.functions import FUNCTIONS

    for name in sorted({f.name for f in FUNCTIONS.values() if f.family == "smooth"}):
        fn = get(name)
        plan = plan_cr(fn, resolve_params(fn, {}), Fmt(4, 4), Fmt(4, 4), shapes=QUICK, cache=False, cost=cost_of)
        codes = plan.in_fmt.all_codes()
        assert np.array_equal(evaluate(plan, codes), mode_target(plan, codes)), name
        assert plan.select.segments <= 8, name


# -- aligned origins: the origin ROM holds only the low bits t needs (hwact.cost.origin_rom) ------

ALIGNED = ("tanh", "s3.7", "s1.9", ((2, 8, -2, 4),))  # 7 segments, origins multiples of 16


@functools.cache
def _aligned_plan():
    name, fin, fout, shapes = ALIGNED
    return plan_cr(get(name), {}, Fmt.parse(fin), Fmt.parse(fout), shapes=shapes, cache=False, cost=cost_of)


def test_origin_rom_entries_give_t_on_every_code():
    """``(x - (entry << shift))`` keeps ``t`` in its low bits on every code, with fewer stored bits."""
    from hwact.approx import PlanRequest
    from hwact.approx.segments import FitTolerance
    from hwact.approx.table import plan_table
    from hwact.cost import origin_rom
    from hwact.model import offset_bits, segment_of
    from hwact.widths import column_bits

    aligned = _aligned_plan()
    assert all(origin % 16 == 0 for origin in aligned.select.origins)
    # And a non-uniform pwl2 plan (origins at the segment starts, 12-bit, stored in 9 bits).
    pwl2 = plan_table(PlanRequest.parse("sigmoid", "s4.8", "u0.12", method="pwl2"), FitTolerance(0.2))
    for plan in (aligned, pwl2):
        entries, shift = origin_rom(plan)
        x = np.abs(np.clip(plan.in_fmt.all_codes(), plan.clamp.lo, plan.clamp.hi))
        segment, t = segment_of(plan, x)
        bits = offset_bits(plan)
        stored = np.asarray(entries, dtype=np.int64)[segment] << shift
        assert np.array_equal((x - stored) & ((1 << bits) - 1), t) and t.max() < 1 << bits
        assert column_bits(entries) <= bits < column_bits(plan.select.origins)
    assert origin_rom(aligned)[1] >= 4 and column_bits(origin_rom(aligned)[0]) <= offset_bits(aligned) - 4 + 1


@pytest.mark.amaranth
def test_aligned_origins_in_the_hdl_match_the_model_on_every_code():
    from test_hdl_amaranth import pack, run_stream

    from hwact.hdl import ActivationUnit

    plan = _aligned_plan()
    codes = plan.in_fmt.all_codes()
    got = run_stream(ActivationUnit(plan, lanes=1, stages=1), pack(codes, plan.in_fmt, 1), len(codes), idle=0.0)
    assert got == pack(evaluate(plan, codes), plan.out_fmt, 1)

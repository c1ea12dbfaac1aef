"""Tier 1: the planners' search machinery (batched fits, batched split scores, the cost bound of auto)."""

import numpy as np
import pytest

from hwact import Fmt, make_plan
from hwact.cost import plan_cost
from hwact.functions import get, resolve_params

pytestmark = pytest.mark.model


def _target(name: str, fmt: Fmt):
    fn = get(name)
    values = resolve_params(fn)
    return lambda codes: np.asarray(fn.reference(fmt.to_real(codes), values), dtype=np.float64) / fmt.lsb


@pytest.mark.parametrize("length", [2, 3, 17, 255, 256, 257, 1000, 4097])
def test_batched_fits_equal_one_fit_per_segment(length):
    from hwact.approx.fit import fit_blocks, fit_lengths

    target_of = _target("gelu", Fmt(4, 12))
    for degree in (1, 2):
        single = fit_blocks(np.array([300]), length, 300 + length - 1, target_of, degree, points=256, iterations=12)
        batched = fit_lengths(300, [length, 7, 5000], target_of, degree, 256, 12)
        assert batched[1][0] == pytest.approx(single[1][0], rel=1e-9, abs=1e-7)  # LSBs: far below any tolerance
        assert np.allclose(batched[0][0], single[0][0], rtol=1e-7, atol=1e-9)


def test_speculative_greedy_search_gives_the_plain_binary_search():
    from hwact.approx import segments

    target_of = _target("silu", Fmt(4, 12))

    def plain(lo, hi, degree, tolerance):  # the search one fit at a time
        found, start = [], lo
        while start <= hi:
            good, bad = 1, hi - start + 2
            if segments.fit_error(start, bad - 1, target_of, degree) <= tolerance:
                good = bad - 1
            while bad - good > 1:
                mid = (good + bad) // 2
                fits = segments.fit_error(start, mid, target_of, degree) <= tolerance
                good, bad = (mid, bad) if fits else (good, mid)
            found.append((start, good))
            start += good
        return found

    for degree, tolerance in ((1, 0.4), (2, 0.1)):
        assert segments.greedy_segments(0, 32767, degree, tolerance, target_of) == plain(0, 32767, degree, tolerance)


def test_batched_split_scores_equal_one_segment_at_a_time():
    from hwact.approx import rounding_split as rs

    target = _target("sigmoid", Fmt(4, 8))(np.arange(0, 2048)) * 16  # 2**-12 output LSBs
    weight = np.full(target.size, 2.0)
    weight[0] = 1
    grid = 16
    window = rs.windows(target, weight, 1 / grid)
    for degree in (1, 2):
        for length in (8, 64, 512):
            starts = np.arange(0, target.size - length + 1, 8 * length // 8, dtype=np.int64)[:40]
            best, coefficients = rs._segment_scores(target, window, weight, starts, length, degree, grid)
            for start, score, coef in zip(starts, best, coefficients):
                sample = np.unique(np.linspace(0, length - 1, min(length, rs.FIT_POINTS)).round().astype(np.int64))
                scale = max(length - 1, 1)
                vander = np.vander(sample / scale, degree + 1, increasing=True)
                coef_t = np.linalg.lstsq(vander, target[start + sample], rcond=None)[0] / scale ** np.arange(degree + 1)
                p = np.polynomial.polynomial.polyval(np.arange(length, dtype=np.float64), np.r_[0.0, coef_t[1:]])
                one = rs.constant_scores(p, tuple(w[start:start + length] for w in window),
                                         weight[start:start + length], grid)
                if one is None:
                    assert score == -np.inf
                else:
                    assert score == one[1].max()
                    assert coef[0] == (one[0] + np.argmax(one[1])) / grid
                    assert np.allclose(coef[1:], coef_t[1:], rtol=1e-9)


@pytest.mark.parametrize("name, fmt_in, fmt_out", [("tanh", "s4.8", "s4.8"), ("exp2", "s3.9", "u4.8"),
                                                   ("softsign", "s5.7", "s1.11")])
def test_the_cost_bound_never_changes_auto_for_the_worse(name, fmt_in, fmt_out, monkeypatch):
    import hwact.approx as approx

    bounded = make_plan(name, fmt_in, fmt_out)
    original = approx.plan_table

    def unbounded(*args, **options):
        options.pop("max_cost", None)
        return original(*args, **options)

    monkeypatch.setattr(approx, "plan_table", unbounded)
    plain = make_plan(name, fmt_in, fmt_out)
    assert plan_cost(bounded).cost <= plan_cost(plain).cost
    assert bounded == plain or plan_cost(bounded).cost < plan_cost(plain).cost


@pytest.mark.parametrize("shift", [6, 8, 10])
def test_the_cost_floor_is_below_the_cost_of_any_plan_on_the_segments(shift):
    from hwact.approx import PlanRequest
    from hwact.approx.segments import FitTolerance, NotCheaper, Uniform
    from hwact.approx.table import plan_table
    from hwact.measure import measure

    request = PlanRequest.parse("gelu", "s4.12", "s4.12", method="pwl2")
    for segmentation in (Uniform(shift), FitTolerance(0.05 * shift)):
        plan = plan_table(request, segmentation)
        cost, error = plan_cost(plan).cost, measure(plan).max_lsb
        # The floor holds for any plan within the error this one has: it is at most its cost ...
        plan_table(request, segmentation, max_cost=cost + 1, max_error=error)
        # ... and it is not vacuous: the segments' comparators and constant column count.
        with pytest.raises(NotCheaper):
            plan_table(request, segmentation, max_cost=cost // 8, max_error=error)

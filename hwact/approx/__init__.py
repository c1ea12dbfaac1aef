"""Planners: from a function, formats and an error budget to a :class:`~hwact.plan.Plan`.

``make_plan`` is the one entry point. Each method is a planner; ``auto`` picks the cheapest
plan that meets the error budget among the methods that apply to the function.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..cost import plan_cost
from ..fixed import Fmt, check_overflow, check_rounding
from ..functions import get, resolve_params
from ..measure import TIE_TOLERANCE, ErrorStats, measure, report
from ..plan import Plan
from ..widths import MODEL_BITS, model_overflow
from .cr import CR_MAX_INPUT_BITS, CROutOfReach, plan_cr
from .exact import plan_exact
from .gated import EXTRA_BITS, plan_gated, width_message
from .rounding_split import MAX_SPLIT_DOMAIN_BITS
from .table import (
    MAX_LUT_INPUT_BITS,
    MAX_SEGMENT_LENGTH_BITS,
    MAX_SPLIT_SEGMENTS,
    NotCheaper,
    SegmentsOutOfReach,
    TooManySegments,
    plan_table,
)

__all__ = ["make_plan", "methods_for", "PlanError", "METHODS"]

METHODS = ("auto", "exact", "lut", "pwl", "pwl2", "cr")


class PlanError(ValueError):
    """No plan can be made for the request (the message says why and what is possible)."""


def within_budget(max_lsb: float, budget: float) -> bool:
    """Whether a measured maximum error meets a budget.

    A budget above half an LSB is a strict bound (1.0 means *faithful*: below one LSB);
    half an LSB or less is inclusive, since correct rounding reaches exactly 0.5 at ties.
    """
    if budget <= 0.5 + TIE_TOLERANCE:
        return max_lsb <= budget + TIE_TOLERANCE
    return max_lsb < budget - TIE_TOLERANCE


def _mode_exact_meets(stats, rounding: str, budget: float) -> bool:
    """Whether a unit equal to its truncating mode applied to the real value meets ``budget``.

    Such a unit is the best its format and mode allow, and its error stays below one LSB by
    the mode's definition (floats only blur how far below); a budget of at least 1 LSB holds.
    """
    return stats.mode_fraction == 1.0 and not rounding.startswith("RND") and budget >= 1.0


def _budget_message(fn, in_fmt: Fmt, out_fmt: Fmt, method: str, budget: float, reached: float,
                    rounding: str) -> str:
    """Why no plan was returned, in the user's terms: the bound, its kind, what was tried."""
    inclusive = budget <= 0.5 + TIE_TOLERANCE
    bound = f"at most {budget:g} LSB" if inclusive else f"below {budget:g} LSB (the bound is strict)"
    available = methods_for(fn.family)
    tried = (f"method {method} only (auto also tries {', '.join(m for m in available if m != method)})"
             if method != "auto" and len(available) > 1 else f"methods {', '.join(available)}")
    hint = ""
    if not rounding.startswith("RND") and budget <= 1.0 and fn.family != "exact":
        hint = f"; {rounding} adds up to 1 LSB to the approximation's error: try max_err_lsb 1.5"
    elif reached < float("inf"):
        hint = f"; give max_err_lsb above {reached:.4g} or a wider output format"
    best = f"the best reachable is {reached:.4g} LSB" if reached < float("inf") else "no plan could be built"
    return f"no {fn.name} plan for {in_fmt} -> {out_fmt} with error {bound}; tried {tried}; {best}{hint}"


def _meets(stats, budget: float, rounding: str) -> bool:
    """Whether measured statistics meet an error budget (see :func:`within_budget`)."""
    return within_budget(stats.max_lsb, budget) or _mode_exact_meets(stats, rounding, budget)


def methods_for(family: str) -> tuple[str, ...]:
    """The methods (besides ``auto``) that apply to a function family."""
    if family == "exact":
        return ("exact",)
    return ("lut", "pwl", "pwl2") if family == "gated" else ("lut", "pwl", "pwl2", "cr")  # gated: the gate's method


#: ``auto`` also wants this share of correctly rounded outputs when the budget is <= 1 LSB.
MIN_CORRECTLY_ROUNDED = 0.9
#: Non-uniform fit tolerances ``auto`` tries, loosest (fewest segments) first, times min(budget, 1 LSB).
TOLERANCE_LADDER = (0.4, 0.3, 0.2, 0.15, 0.1, 0.05, 0.025)
#: Rounding splits predicted this far below the correctly rounded share are still built and measured.
SPLIT_SHARE_SLACK = 0.01
#: Up to this many input bits ``auto`` builds a direct table: correctly rounded, and small.
AUTO_LUT_BITS = 10
#: Guard bits of the table plans' ladders: the first for every input, the rest for inputs of up
#: to AUTO_LUT_BITS bits (cheap to try) and, for wider ones, only when the first found no plan.
LADDER_GUARDS = (4, 2, 6)


def make_plan(function: str, in_fmt: Fmt | str, out_fmt: Fmt | str, *, method: str = "auto",
              max_err_lsb: float = 1.0, params: Mapping[str, Any] | None = None,
              rounding: str = "RND", overflow: str = "SAT") -> Plan:
    """Plan a unit for ``function`` from ``in_fmt`` to ``out_fmt`` within ``max_err_lsb``.

    ``auto`` returns a direct, correctly rounded table for inputs of up to 10 bits, and otherwise
    the cheapest plan (:func:`~hwact.cost.plan_cost`: table bits plus multiplier and
    comparator area) whose measured maximum error is within the budget and, for budgets of
    1 LSB or less, with at least 90 % of outputs correctly rounded; monotonic plans (outputs
    never step against the function) are preferred to cheaper ones that are not. A forced method returns its
    own cheapest plan within the budget.

    Raises
    ------
    PlanError
        For an unknown method, a method that does not apply, or a budget no plan meets.
    hwact.functions.ParamError
        For an unknown function or a bad parameter.
    hwact.fixed.FormatError
        For a malformed format.
    """
    fn = get(function)
    if params is not None and not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping of parameter names to values, not {params!r}")
    values = resolve_params(fn, params)
    in_fmt, out_fmt = Fmt.parse(in_fmt), Fmt.parse(out_fmt)
    if method not in METHODS:
        raise PlanError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    try:  # the same check (and message) as every plan's own, before any work is done
        check_rounding(rounding)
        check_overflow(overflow)
    except ValueError as error:
        raise PlanError(str(error)) from None
    if not max_err_lsb > 0:
        raise PlanError(f"max_err_lsb must be positive, not {max_err_lsb!r}")
    affine = in_fmt.is_affine or out_fmt.is_affine
    if affine and (fn.operands > 1 or fn.family == "gated" or fn.mirror):
        raise PlanError(f"affine formats apply to one-operand, one-output functions, not {fn.name}")
    # With an affine input or output the exact family's pieces are no longer polynomials in the
    # codes with binary-point coefficients; the table planners fit the code-to-code map instead.
    family = "smooth" if affine else fn.family
    available = methods_for(family)
    if method != "auto" and method not in available:
        raise PlanError(f"method {method!r} does not apply to {fn.name} (available: {', '.join(available)})")
    try:
        if family == "exact":
            plan = plan_exact(fn, values, in_fmt, out_fmt, rounding=rounding, overflow_mode=overflow)
            stats = report(plan)
            if (stats.mode_fraction < 1.0 and method == "auto" and in_fmt.width <= AUTO_LUT_BITS
                    and fn.operands == 1 and not fn.mirror):
                # No coefficient precision honours the mode's ties on every code (round half to
                # even on x/6 alternates direction); a small direct table does, by construction.
                plan = plan_table(fn, values, in_fmt, out_fmt, method="lut", rounding=rounding,
                                  overflow_mode=overflow)
                stats = report(plan)
            reached = 0.0 if _mode_exact_meets(stats, rounding, max_err_lsb) else stats.max_lsb
        elif family == "gated":
            plan, reached = _plan_gated(fn, values, in_fmt, out_fmt, method, max_err_lsb, rounding, overflow)
        else:
            plan, reached = _plan_smooth(fn, values, in_fmt, out_fmt, method, max_err_lsb, rounding, overflow)
    except ValueError as error:
        raise PlanError(str(error)) from None
    if plan is None or not within_budget(reached, max_err_lsb):
        raise PlanError(_budget_message(fn, in_fmt, out_fmt, method, max_err_lsb, reached, rounding))
    # The planners screened their candidates; this is the exact word (hwact.widths) on the plan returned.
    too_wide = model_overflow(plan, limit=MODEL_BITS)
    if too_wide is not None:
        raise PlanError(width_message(plan, *too_wide, MODEL_BITS))
    return plan


def _plan_gated(fn, values, in_fmt: Fmt, out_fmt: Fmt, method: str, budget: float, rounding: str,
                overflow: str) -> tuple[Plan | None, float]:
    """The first (cheapest) gate precision whose product meets the budget.

    Under ``auto`` with operands of up to ``AUTO_LUT_BITS`` bits (direct gate tables, every
    operand pair checked) the aim is correct rounding, as for single-operand units; the
    cheapest plan within the budget itself is the fallback. Monotonic plans are preferred.
    """
    nearest = rounding.startswith("RND")
    min_cr = MIN_CORRECTLY_ROUNDED if budget <= 1.0 and nearest else 0.0
    # With direct gate tables (every operand pair checked), aim at the mode applied to the real
    # product: correct rounding for nearest modes, the exact floor (...) for truncating ones.
    small = method == "auto" and in_fmt.width <= AUTO_LUT_BITS
    aim = min(budget, 0.5) if small and nearest else budget
    best_error, fallbacks = float("inf"), []
    for extra in EXTRA_BITS:
        try:
            plan = plan_gated(fn, values, in_fmt, out_fmt, method=method, extra=extra, rounding=rounding,
                              overflow_mode=overflow, make_plan=make_plan)
        except ValueError:
            if not fallbacks and best_error == float("inf"):
                raise
            break  # the gate would not fit in 32 bits (or the product in int64): finer ones will not either
        stats = measure(plan)
        best_error = min(best_error, stats.max_lsb)
        if _meets(stats, budget, rounding) and stats.correctly_rounded_fraction >= min_cr:
            reached = 0.0 if _mode_exact_meets(stats, rounding, budget) else stats.max_lsb
            on_aim = within_budget(stats.max_lsb, aim) if nearest else not small or stats.mode_fraction == 1.0
            if stats.monotonic and on_aim:
                return plan, reached
            fallbacks.append((not stats.monotonic, plan, reached))
    if not fallbacks:
        return None, best_error
    # The cheapest monotonic plan within the budget, else the cheapest one.
    _, plan, error = min(fallbacks, key=lambda entry: entry[0])
    return plan, error


def _plan_smooth(fn, values, in_fmt: Fmt, out_fmt: Fmt, method: str, budget: float, rounding: str,
                 overflow: str) -> tuple[Plan | None, float]:
    """The cheapest acceptable table plan, or ``(None, best error seen)``.

    Candidates come from ladders (below); the cheapest monotonic one found so far bounds the
    rest: a rung whose segments alone (comparators, constant column) cost at least as much is
    refused before it is fitted (:class:`NotCheaper`). The bound only drops plans that could not
    have been chosen, so the plan returned is the one the unbounded search returns, or a cheaper
    one (a refused non-uniform rung no longer ends its ladder). Each kind's rounding split runs
    first, and pwl2 before pwl, only because they usually find the cheapest plan early; ties
    between equal costs still go to the unbounded search's order (pwl, then pwl2).
    """
    # Correct rounding is only asked of round-to-nearest outputs (TRN/TRN_ZERO truncate on purpose).
    nearest = rounding.startswith("RND")
    min_cr = MIN_CORRECTLY_ROUNDED if budget <= 1.0 and nearest else 0.0
    best_error = float("inf")
    error_bound = max(budget, 1.0)  # what an accepted plan's error stays within (see _meets)

    monotonic: set[int] = set()  # ids of candidates that never step against the function
    verified: dict[int, ErrorStats] = {}  # report() of candidates, by id
    order: dict[int, tuple] = {}  # the position a candidate has in the unbounded search's order
    bound: list[tuple[int, tuple]] = []  # (cost, order) of the cheapest verified monotonic candidate

    def full_stats(plan: Plan) -> ErrorStats:
        if id(plan) not in verified:
            verified[id(plan)] = report(plan)
        return verified[id(plan)]

    def passes(stats: ErrorStats) -> bool:
        return _meets(stats, budget, rounding) and stats.correctly_rounded_fraction >= min_cr

    def acceptable(plan: Plan, key: tuple) -> bool:
        nonlocal best_error
        stats = measure(plan)
        best_error = min(best_error, stats.max_lsb)
        if not passes(stats):
            return False
        # Only plans kept as candidates are recorded by id (a discarded plan's id may be reused).
        if stats.monotonic:
            monotonic.add(id(plan))
        order[id(plan)] = key
        # Only a plan that also passes on every code may bound the search (wide inputs were sampled).
        if id(plan) in monotonic and (stats.exhaustive or passes(full_stats(plan))):
            cost = plan_cost(plan).cost
            if not bound or (cost, key) < bound[0]:
                bound[:] = [(cost, key)]
        return True

    def make(kind: str, key: tuple, **options) -> Plan:
        max_cost = None
        if bound:  # equal cost still wins when this rung comes first in the unbounded order
            cost, first = bound[0]
            max_cost = cost if key > first else cost + 1
        return plan_table(fn, values, in_fmt, out_fmt, method=kind, rounding=rounding, overflow_mode=overflow,
                          max_cost=max_cost, max_error=error_bound, **options)

    candidates: list[Plan] = []
    small = in_fmt.width <= AUTO_LUT_BITS
    lut_reachable = in_fmt.width <= MAX_LUT_INPUT_BITS
    correct = budget <= 0.5 + TIE_TOLERANCE and nearest  # only correctly rounded plans can pass
    cr_plan = None
    if method == "cr" or (method == "auto" and correct and in_fmt.width <= CR_MAX_INPUT_BITS):
        # Rounding intervals and linear programming (hwact.approx.cr): correctly rounded on every
        # code by construction, and usually far smaller than a direct table from 12 bits up.
        try:
            plan = plan_cr(fn, values, in_fmt, out_fmt, rounding=rounding, overflow_mode=overflow,
                           cost=lambda p: plan_cost(p).cost)
        except CROutOfReach as error:
            if method == "cr":
                raise ValueError(str(error)) from None
        else:
            if acceptable(plan, (3,)):
                candidates.append(plan)
                cr_plan = plan
    # At 0.5 LSB a plan passes only if it is correctly rounded on every code, which cr solves for
    # directly; past AUTO_LUT_BITS input bits its plan is kept without building the direct table
    # (2**bits rows) and the ladders (rounding splits), which took minutes at 16 bits for plans
    # that are larger (docs/benchmarks.md). Up to AUTO_LUT_BITS bits the table competes on cost.
    cr_settles = method == "auto" and cr_plan is not None and correct and not small
    if method == "lut" or (method == "auto" and lut_reachable and (small or budget < 0.5 + 1e-6) and not cr_settles):
        plan = make("lut", (0,))
        if acceptable(plan, (0,)):
            candidates.append(plan)
    # Inputs of up to AUTO_LUT_BITS bits: at budgets up to 1 LSB auto keeps its correctly rounded
    # direct table (or a cheaper cr plan at 0.5); above, every method competes on cost.
    ladders = method in ("pwl", "pwl2") or (method == "auto" and (not small or budget > 1.0) and not cr_settles)
    kinds = [(index, kind) for index, kind in enumerate(("pwl", "pwl2"), start=1)
             if ladders and method in ("auto", kind)]
    # Small inputs without rounding splits (budgets above 1 LSB) are quick to plan at every guard;
    # otherwise the other guards are tried only when the first found nothing (the best reachable
    # error of a forced pwl2 at 0.5 LSB may need six guard bits).
    quick = small and not min_cr
    for guard in LADDER_GUARDS if quick else LADDER_GUARDS[:1]:
        _ladders(kinds, guard, make, acceptable, candidates, monotonic, in_fmt, budget, min_cr)
    if not candidates and kinds and not quick:
        for guard in LADDER_GUARDS[1:]:  # the ladders only: the rounding splits take the time
            _ladders(kinds, guard, make, acceptable, candidates, monotonic, in_fmt, budget, 0.0)
    # A monotonic plan wins over any cheaper one that steps backwards somewhere; equal costs go
    # to the earlier rung. The search measured wide inputs on a sample; the plan returned must
    # also pass on every code.
    errors = []
    ranked = sorted(candidates, key=lambda p: (id(p) not in monotonic, plan_cost(p).cost, order[id(p)]))
    for plan in ranked:
        stats = full_stats(plan)
        if passes(stats):
            return plan, 0.0 if _mode_exact_meets(stats, rounding, budget) else stats.max_lsb
        errors.append(stats.max_lsb)
    return None, min(errors, default=best_error)


def _ladders(kinds, guard: int, make, acceptable, candidates: list, monotonic: set, in_fmt: Fmt, budget: float,
             min_cr: float) -> None:
    """Build the rounding-split and ladder rungs of ``kinds`` with ``guard`` bits (see :func:`_plan_smooth`)."""
    for index, kind in sorted(kinds, reverse=True):  # pwl2 first: see the docstring
        if min_cr and in_fmt.width <= MAX_SPLIT_DOMAIN_BITS:
            # Segments placed for the most correct roundings, fewest first (the splits are searched once).
            # First, as it usually finds the cheapest plan, which then bounds the ladders.
            for count in range(1, MAX_SPLIT_SEGMENTS + 1):
                key = (index, guard, 2, count)
                try:
                    plan = make(kind, key, segments=count, min_share=min_cr - SPLIT_SHARE_SLACK, guard=guard)
                except SegmentsOutOfReach:  # not faithful, predicted to round too few correctly, or too costly
                    continue
                if acceptable(plan, key):
                    candidates.append(plan)
                    if id(plan) in monotonic:
                        break
        # Two ladders, each from its cheapest plan towards finer ones: uniform segments from the
        # longest down (error grows with length), non-uniform ones at tightening fit tolerances.
        # A ladder stops at the first plan that passes and is monotonic; passing non-monotonic
        # plans met on the way stay candidates.
        longest = min(in_fmt.width - 1, MAX_SEGMENT_LENGTH_BITS)
        uniform = [{"shift": shift} for shift in range(longest, -1, -1)]
        nonuniform = [{"tolerance": fraction * min(budget, 1.0)} for fraction in TOLERANCE_LADDER]
        for ladder_index, ladder in enumerate((uniform, nonuniform)):
            for rung, options in enumerate(ladder):
                key = (index, guard, ladder_index, rung)
                try:
                    plan = make(kind, key, guard=guard, **options)
                except TooManySegments:  # further rungs are finer still
                    break
                except NotCheaper:
                    if ladder is uniform:  # finer uniform segments only cost more (more starts, more rows)
                        break
                    continue
                except SegmentsOutOfReach:  # too long for this input: try the next rung
                    continue
                if acceptable(plan, key):
                    candidates.append(plan)
                    if id(plan) in monotonic:
                        break


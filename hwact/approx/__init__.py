"""Planners: from a function, formats and an error budget to a :class:`~hwact.plan.Plan`.

``make_plan`` is the one entry point: it checks its arguments once, as a
:class:`~hwact.approx.request.PlanRequest` (``plan(request)`` takes one directly), and every
planner reads that request. Each method is a planner; ``auto`` picks the cheapest plan that
meets the error budget among the methods that apply to the function.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..cost import plan_cost
from ..fixed import Fmt, Overflow, Rounding
from ..functions import Family
from ..measure import TIE_TOLERANCE, ErrorStats, measure, report
from ..plan import METHODS, Method, Plan
from ..widths import MODEL_BITS, model_overflow
from .cr import CR_MAX_INPUT_BITS, CROutOfReach, plan_cr
from .exact import plan_exact
from .gated import EXTRA_BITS, plan_gated, width_message
from .request import PlanError, PlanRequest
from .rounding_split import MAX_SPLIT_DOMAIN_BITS, MAX_SPLIT_SEGMENTS
from .segments import (
    MAX_SEGMENT_LENGTH_BITS,
    FitTolerance,
    NotCheaper,
    RoundingSplit,
    Segmentation,
    SegmentsOutOfReach,
    TooManySegments,
    Uniform,
)
from .table import MAX_LUT_INPUT_BITS, plan_table

__all__ = ["make_plan", "plan", "methods_for", "PlanError", "PlanRequest", "METHODS"]


def within_budget(max_lsb: float, budget: float) -> bool:
    """Whether a measured maximum error meets a budget.

    A budget above half an LSB is a strict bound (1.0 means *faithful*: below one LSB);
    half an LSB or less is inclusive, since correct rounding reaches exactly 0.5 at ties.
    """
    if budget <= 0.5 + TIE_TOLERANCE:
        return max_lsb <= budget + TIE_TOLERANCE
    return max_lsb < budget - TIE_TOLERANCE


def _mode_exact_meets(stats: ErrorStats, request: PlanRequest) -> bool:
    """Whether a unit equal to its truncating mode applied to the real value meets the budget.

    Such a unit is the best its format and mode allow, and its error stays below one LSB by
    the mode's definition (floats only blur how far below); a budget of at least 1 LSB holds.
    """
    return stats.mode_fraction == 1.0 and not request.nearest and request.budget >= 1.0


def _budget_message(request: PlanRequest, reached: float) -> str:
    """Why no plan was returned, in the user's terms: the bound, its kind, what was tried."""
    fn, method, budget, rounding = request.function, request.method, request.budget, request.rounding
    inclusive = budget <= 0.5 + TIE_TOLERANCE
    bound = f"at most {budget:g} LSB" if inclusive else f"below {budget:g} LSB (the bound is strict)"
    available = methods_for(fn.family)
    tried = (f"method {method} only (auto also tries {', '.join(m for m in available if m != method)})"
             if method != Method.AUTO and len(available) > 1 else f"methods {', '.join(available)}")
    hint = ""
    if not request.nearest and budget <= 1.0 and fn.family != Family.EXACT:
        hint = f"; {rounding} adds up to 1 LSB to the approximation's error: try max_err_lsb 1.5"
    elif reached < float("inf"):
        hint = f"; give max_err_lsb above {reached:.4g} or a wider output format"
    best = f"the best reachable is {reached:.4g} LSB" if reached < float("inf") else "no plan could be built"
    return (f"no {fn.name} plan for {request.in_fmt} -> {request.out_fmt} with error {bound}; tried {tried}; "
            f"{best}{hint}")


def _meets(stats: ErrorStats, request: PlanRequest) -> bool:
    """Whether measured statistics meet the error budget (see :func:`within_budget`)."""
    return within_budget(stats.max_lsb, request.budget) or _mode_exact_meets(stats, request)


def methods_for(family: Family) -> tuple[Method, ...]:
    """The methods (besides ``auto``) that apply to a function family."""
    if family == Family.EXACT:
        return (Method.EXACT,)
    if family == Family.GATED:  # the gate's method
        return (Method.LUT, Method.PWL, Method.PWL2)
    return (Method.LUT, Method.PWL, Method.PWL2, Method.CR)


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


def make_plan(function: str, in_fmt: Fmt | str, out_fmt: Fmt | str, *, method: Method | str = Method.AUTO,
              max_err_lsb: float = 1.0, params: Mapping[str, Any] | None = None,
              rounding: Rounding | str = Rounding.RND, overflow: Overflow | str = Overflow.SAT) -> Plan:
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
    return plan(PlanRequest.parse(function, in_fmt, out_fmt, method=method, max_err_lsb=max_err_lsb, params=params,
                                  rounding=rounding, overflow=overflow))


def plan(request: PlanRequest) -> Plan:
    """Plan a unit for a checked request (:meth:`PlanRequest.parse`); see :func:`make_plan`."""
    fn, method, family = request.function, request.method, request.family
    available = methods_for(family)
    if method != Method.AUTO and method not in available:
        raise PlanError(f"method {method.value!r} does not apply to {fn.name} (available: {', '.join(available)})")
    try:
        if family == Family.EXACT:
            found = plan_exact(request)
            stats = report(found)
            if (stats.mode_fraction < 1.0 and method == Method.AUTO and request.in_fmt.width <= AUTO_LUT_BITS
                    and fn.operands == 1 and not fn.mirror):
                # No coefficient precision honours the mode's ties on every code (round half to
                # even on x/6 alternates direction); a small direct table does, by construction.
                found = plan_table(replace(request, method=Method.LUT))
                stats = report(found)
            reached = 0.0 if _mode_exact_meets(stats, request) else stats.max_lsb
        elif family == Family.GATED:
            found, reached = _plan_gated(request)
        else:
            found, reached = _plan_smooth(request)
    except ValueError as error:
        raise PlanError(str(error)) from None
    if found is None or not within_budget(reached, request.budget):
        raise PlanError(_budget_message(request, reached))
    # The planners screened their candidates; this is the exact word (hwact.widths) on the plan returned.
    too_wide = model_overflow(found, limit=MODEL_BITS)
    if too_wide is not None:
        raise PlanError(width_message(found, *too_wide, MODEL_BITS))
    return found


def _plan_gated(request: PlanRequest) -> tuple[Plan | None, float]:
    """The first (cheapest) gate precision whose product meets the budget.

    Under ``auto`` with operands of up to ``AUTO_LUT_BITS`` bits (direct gate tables, every
    operand pair checked) the aim is correct rounding, as for single-operand units; the
    cheapest plan within the budget itself is the fallback. Monotonic plans are preferred.
    """
    budget, nearest = request.budget, request.nearest
    min_cr = MIN_CORRECTLY_ROUNDED if budget <= 1.0 and nearest else 0.0
    # With direct gate tables (every operand pair checked), aim at the mode applied to the real
    # product: correct rounding for nearest modes, the exact floor (...) for truncating ones.
    small = request.method == Method.AUTO and request.in_fmt.width <= AUTO_LUT_BITS
    aim = min(budget, 0.5) if small and nearest else budget
    best_error, fallbacks = float("inf"), []
    for extra in EXTRA_BITS:
        try:
            gated = plan_gated(request, extra, make_plan)
        except ValueError:
            if not fallbacks and best_error == float("inf"):
                raise
            break  # the gate would not fit in 32 bits (or the product in int64): finer ones will not either
        stats = measure(gated)
        best_error = min(best_error, stats.max_lsb)
        if _meets(stats, request) and stats.correctly_rounded_fraction >= min_cr:
            reached = 0.0 if _mode_exact_meets(stats, request) else stats.max_lsb
            on_aim = within_budget(stats.max_lsb, aim) if nearest else not small or stats.mode_fraction == 1.0
            if stats.monotonic and on_aim:
                return gated, reached
            fallbacks.append((not stats.monotonic, gated, reached))
    if not fallbacks:
        return None, best_error
    # The cheapest monotonic plan within the budget, else the cheapest one.
    _, found, error = min(fallbacks, key=lambda entry: entry[0])
    return found, error


@dataclass
class _Candidate:
    """A plan that passed the (possibly sampled) measurement, with where the unbounded search meets it."""

    plan: Plan
    #: Its position in the unbounded search's order (ties between equal costs go to the earlier).
    order: tuple
    #: Whether its outputs never step against the function.
    monotonic: bool
    #: :func:`~hwact.measure.report` on every code, once asked for.
    full: ErrorStats | None = None

    def full_stats(self) -> ErrorStats:
        if self.full is None:
            self.full = report(self.plan)
        return self.full


class _SmoothSearch:
    """The candidates of one table-plan search, and the cost that bounds the rungs still to build.

    The cheapest verified monotonic candidate so far bounds the rest: a rung whose segments
    alone cost at least as much is refused before it is fitted (:class:`NotCheaper`).
    """

    def __init__(self, request: PlanRequest, min_cr: float) -> None:
        self.request, self.min_cr = request, min_cr
        self.candidates: list[_Candidate] = []
        self.best_error = float("inf")
        self.bound: tuple[int, tuple] | None = None  # (cost, order) of the cheapest verified monotonic candidate
        # What an accepted plan's error stays within (see _meets).
        self.error_bound = max(request.budget, 1.0)

    def passes(self, stats: ErrorStats) -> bool:
        return _meets(stats, self.request) and stats.correctly_rounded_fraction >= self.min_cr

    def make(self, method: Method, order: tuple, segmentation: Segmentation | None = None, guard: int = 4) -> Plan:
        """A table plan of this rung, refused (:class:`NotCheaper`) when it cannot beat the bound."""
        max_cost = None
        if self.bound is not None:  # equal cost still wins when this rung comes first in the unbounded order
            cost, first = self.bound
            max_cost = cost if order > first else cost + 1
        return plan_table(replace(self.request, method=method), segmentation, guard=guard, max_cost=max_cost,
                          max_error=self.error_bound)

    def offer(self, plan: Plan, order: tuple) -> _Candidate | None:
        """Keep ``plan`` as a candidate if it passes (sampled for wide inputs); the candidate, or None."""
        stats = measure(plan)
        self.best_error = min(self.best_error, stats.max_lsb)
        if not self.passes(stats):
            return None
        candidate = _Candidate(plan, order, stats.monotonic)
        self.candidates.append(candidate)
        # Only a plan that also passes on every code may bound the search (wide inputs were sampled).
        if candidate.monotonic and (stats.exhaustive or self.passes(candidate.full_stats())):
            cost = plan_cost(plan).cost
            if self.bound is None or (cost, order) < self.bound:
                self.bound = (cost, order)
        return candidate

    def best(self) -> tuple[Plan | None, float]:
        """The winner, or ``(None, best error seen)``.

        A monotonic plan wins over any cheaper one that steps backwards somewhere; equal costs go
        to the earlier rung. The search measured wide inputs on a sample; the plan returned must
        also pass on every code.
        """
        errors = []
        ranked = sorted(self.candidates, key=lambda c: (not c.monotonic, plan_cost(c.plan).cost, c.order))
        for candidate in ranked:
            stats = candidate.full_stats()
            if self.passes(stats):
                return candidate.plan, 0.0 if _mode_exact_meets(stats, self.request) else stats.max_lsb
            errors.append(stats.max_lsb)
        return None, min(errors, default=self.best_error)


def _plan_smooth(request: PlanRequest) -> tuple[Plan | None, float]:
    """The cheapest acceptable table plan, or ``(None, best error seen)``.

    Candidates come from ladders (below); the cheapest monotonic one found so far bounds the
    rest (:class:`_SmoothSearch`). The bound only drops plans that could not have been chosen,
    so the plan returned is the one the unbounded search returns, or a cheaper one (a refused
    non-uniform rung no longer ends its ladder). Each kind's rounding split runs first, and pwl2
    before pwl, only because they usually find the cheapest plan early; ties between equal costs
    still go to the unbounded search's order (pwl, then pwl2).
    """
    method, budget, in_fmt = request.method, request.budget, request.in_fmt
    # Correct rounding is only asked of round-to-nearest outputs (TRN/TRN_ZERO truncate on purpose).
    nearest = request.nearest
    min_cr = MIN_CORRECTLY_ROUNDED if budget <= 1.0 and nearest else 0.0
    search = _SmoothSearch(request, min_cr)
    small = in_fmt.width <= AUTO_LUT_BITS
    lut_reachable = in_fmt.width <= MAX_LUT_INPUT_BITS
    correct = budget <= 0.5 + TIE_TOLERANCE and nearest  # only correctly rounded plans can pass
    auto = method == Method.AUTO
    cr_plan = None
    if method == Method.CR or (auto and correct and in_fmt.width <= CR_MAX_INPUT_BITS):
        # Rounding intervals and linear programming (hwact.approx.cr): correctly rounded on every
        # code by construction, and usually far smaller than a direct table from 12 bits up.
        try:
            found = plan_cr(request.function, request.params, in_fmt, request.out_fmt, rounding=request.rounding,
                            overflow_mode=request.overflow, cost=lambda p: plan_cost(p).cost)
        except CROutOfReach as error:
            if method == Method.CR:
                raise ValueError(str(error)) from None
        else:
            if search.offer(found, (3,)) is not None:
                cr_plan = found
    # At 0.5 LSB a plan passes only if it is correctly rounded on every code, which cr solves for
    # directly; past AUTO_LUT_BITS input bits its plan is kept without building the direct table
    # (2**bits rows) and the ladders (rounding splits), which took minutes at 16 bits for plans
    # that are larger (docs/benchmarks.md). Up to AUTO_LUT_BITS bits the table competes on cost.
    cr_settles = auto and cr_plan is not None and correct and not small
    if method == Method.LUT or (auto and lut_reachable and (small or budget < 0.5 + 1e-6) and not cr_settles):
        search.offer(search.make(Method.LUT, (0,)), (0,))
    # Inputs of up to AUTO_LUT_BITS bits: at budgets up to 1 LSB auto keeps its correctly rounded
    # direct table (or a cheaper cr plan at 0.5); above, every method competes on cost.
    ladders = method in (Method.PWL, Method.PWL2) or (auto and (not small or budget > 1.0) and not cr_settles)
    kinds = [(index, kind) for index, kind in enumerate((Method.PWL, Method.PWL2), start=1)
             if ladders and method in (Method.AUTO, kind)]
    # Small inputs without rounding splits (budgets above 1 LSB) are quick to plan at every guard;
    # otherwise the other guards are tried only when the first found nothing (the best reachable
    # error of a forced pwl2 at 0.5 LSB may need six guard bits).
    quick = small and not min_cr
    for guard in LADDER_GUARDS if quick else LADDER_GUARDS[:1]:
        _ladders(search, kinds, guard, min_cr)
    if not search.candidates and kinds and not quick:
        for guard in LADDER_GUARDS[1:]:  # the ladders only: the rounding splits take the time
            _ladders(search, kinds, guard, 0.0)
    return search.best()


def _ladders(search: _SmoothSearch, kinds: list[tuple[int, Method]], guard: int, min_cr: float) -> None:
    """Build the rounding-split and ladder rungs of ``kinds`` with ``guard`` bits (see :func:`_plan_smooth`)."""
    in_fmt, budget = search.request.in_fmt, search.request.budget
    for index, kind in sorted(kinds, reverse=True):  # pwl2 first: see the docstring
        if min_cr and in_fmt.width <= MAX_SPLIT_DOMAIN_BITS:
            # Segments placed for the most correct roundings, fewest first (the splits are searched once).
            # First, as it usually finds the cheapest plan, which then bounds the ladders.
            for count in range(1, MAX_SPLIT_SEGMENTS + 1):
                order = (index, guard, 2, count)
                try:
                    found = search.make(kind, order, RoundingSplit(count, min_cr - SPLIT_SHARE_SLACK), guard)
                except SegmentsOutOfReach:  # not faithful, predicted to round too few correctly, or too costly
                    continue
                candidate = search.offer(found, order)
                if candidate is not None and candidate.monotonic:
                    break
        # Two ladders, each from its cheapest plan towards finer ones: uniform segments from the
        # longest down (error grows with length), non-uniform ones at tightening fit tolerances.
        # A ladder stops at the first plan that passes and is monotonic; passing non-monotonic
        # plans met on the way stay candidates.
        longest = min(in_fmt.width - 1, MAX_SEGMENT_LENGTH_BITS)
        uniform = [Uniform(shift) for shift in range(longest, -1, -1)]
        nonuniform = [FitTolerance(fraction * min(budget, 1.0)) for fraction in TOLERANCE_LADDER]
        for ladder_index, ladder in enumerate((uniform, nonuniform)):
            for rung, segmentation in enumerate(ladder):
                order = (index, guard, ladder_index, rung)
                try:
                    found = search.make(kind, order, segmentation, guard)
                except TooManySegments:  # further rungs are finer still
                    break
                except NotCheaper:
                    if ladder is uniform:  # finer uniform segments only cost more (more starts, more rows)
                        break
                    continue
                except SegmentsOutOfReach:  # too long for this input: try the next rung
                    continue
                candidate = search.offer(found, order)
                if candidate is not None and candidate.monotonic:
                    break

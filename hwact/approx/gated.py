"""The gated planner: ``factor(a) * gate(b)`` from two ordinary plans and one Product step.

The gate's table plan is made for an intermediate format with ``extra`` more fraction bits
than the output plus as many as ``a`` has integer bits, because ``a`` scales the gate's error
by up to ``|a|``; the gate's accumulator (before its own rounding) is then multiplied by the
factor and rounded once, to the output format. A factor function (GTU's tanh) is a plan of
its own, nested in the Product primitive.

When the gate (and factor) are direct tables and every operand pair can be checked (up to
2**20 pairs, e.g. two 8-bit operands), each table entry is then nudged to the value that
makes the most *products* equal the output rounding mode applied to the real product (the
correctly rounded value for nearest modes, the floor for ``TRN``, ...): rounding the gate to
nearest is not the best entry when ``a`` scales its error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..fixed import Fmt
from ..functions import get
from ..measure import TIE_TOLERANCE, input_grid, measure, mode_target, reference
from ..model import evaluate, row_of
from ..plan import Method, OutputStage, Plan, Product
from ..widths import MODEL_BITS, analyze
from .request import PlanRequest

__all__ = ["plan_gated", "width_message", "EXTRA_BITS"]

#: Extra gate precision tried, cheapest first.
EXTRA_BITS = (2, 3, 4, 6, 8, 10, 12)
#: Budget for the gate and factor plans, in their own (finer) LSBs.
INNER_BUDGET = 2.0
#: Operands up to this many bits get direct gate (and factor) tables under auto (as AUTO_LUT_BITS).
DIRECT_GATE_BITS = 10
#: How far (in units of the table entry) a direct table's entries are nudged; see the module docstring.
NUDGE_RADIUS = 4


def _signed_fmt_for(values: np.ndarray, frac_bits: int) -> Fmt:
    magnitude = float(np.max(np.abs(values))) if values.size else 0.0
    int_bits = max(math.ceil(math.log2(magnitude + 2.0 ** -frac_bits)) + 1, 1) if magnitude > 0 else 1
    return Fmt(int_bits, frac_bits)


def plan_gated(request: PlanRequest, extra: int, make_plan: Callable[..., Plan], nudge_radius: int = NUDGE_RADIUS
               ) -> Plan:
    """One gated plan with ``extra`` guard bits in the gate; ``make_plan`` plans the inner functions.

    ``nudge_radius`` bounds the nudging of direct-table entries (0: entries rounded to nearest).
    """
    function, params, in_fmt, out_fmt = request.function, request.params, request.in_fmt, request.out_fmt
    gate_fn = get(function.gate)
    gate_params = {k: v for k, v in params.items() if k in {p.name for p in gate_fn.params}}
    # The gate's range decides its format; wide inputs are scanned on an even grid.
    codes = np.unique(np.linspace(in_fmt.min_code, in_fmt.max_code, min(in_fmt.n_codes, 1 << 20)).round())
    gate_frac = out_fmt.frac_bits + in_fmt.int_bits + extra
    gate_values = gate_fn.reference(in_fmt.to_real(codes), gate_fn.defaults() | gate_params)
    gate_magnitude = float(np.max(np.abs(gate_values)))
    gate_int = max(math.ceil(math.log2(gate_magnitude + 2.0 ** -gate_frac)) + 1, 1) if gate_magnitude > 0 else 1
    if gate_int + gate_frac > 32:
        # Said in the user's formats: the gate's own (internal) format is not something they wrote.
        raise ValueError(f"{function.name} at {in_fmt} -> {out_fmt}: the gate {function.gate}(b) would need "
                         f"{gate_int + gate_frac} bits (the output's {out_fmt.frac_bits} fraction bits, "
                         f"{in_fmt.int_bits} more for the factor's range and {extra} guard bits; at most 32); "
                         f"use fewer output fraction bits or a narrower input")
    gate_fmt = _signed_fmt_for(gate_values, gate_frac)
    # Operands of up to DIRECT_GATE_BITS bits get direct gate tables (every operand pair is then
    # checked, and the product can round correctly); auto at the inner budget would now pick
    # the cheapest table plan instead, as it does for a unit at that budget.
    inner = Method.LUT if request.method == Method.AUTO and in_fmt.width <= DIRECT_GATE_BITS else request.method
    gate = make_plan(function.gate, in_fmt, gate_fmt, method=inner, max_err_lsb=INNER_BUDGET, params=gate_params)

    factor_plan, factor_frac = None, in_fmt.frac_bits
    if function.factor:
        factor_fmt = Fmt(2, out_fmt.frac_bits + extra + 1)
        factor_method = Method.LUT if inner == Method.LUT else Method.AUTO
        factor_plan = make_plan(function.factor, in_fmt, factor_fmt, method=factor_method, max_err_lsb=INNER_BUDGET)
        factor_frac = factor_fmt.frac_bits
    # The gate's accumulator has `gate.output.shift` bits below its LSB; the product adds the factor's.
    shift = gate.output.shift + factor_frac + gate_frac - out_fmt.frac_bits
    plan = replace(gate, function=function.name, params=dict(params), out_fmt=out_fmt, operand_fmt=in_fmt,
                   product=Product(factor_plan), output=OutputStage(shift, request.rounding, request.overflow))
    _check_width(plan)
    if not nudge_radius:
        return plan
    return _better(plan, _nudge_tables(plan, nudge_radius))


def _check_width(plan: Plan) -> None:
    """Refuse a plan whose ``acc x factor`` product is too wide for the int64 model.

    The gate's (and factor's) own chains were checked when they were planned; the product is
    what this plan adds. Its exact range comes from :func:`hwact.widths.analyze`.
    """
    gated = analyze(plan).gated
    if gated.bits > MODEL_BITS:
        raise ValueError(width_message(plan, "gated", gated.bits, MODEL_BITS))


def width_message(plan: Plan, step: str, bits: int, limit: int) -> str:
    """One line, in the user's formats, naming the step (:meth:`hwact.widths.Widths.steps`) too wide for the model."""
    what = "the gate x factor product" if step == "gated" else f"the {step} step"
    return (f"{plan.function} at {plan.in_fmt} -> {plan.out_fmt}: {what} would need {bits} bits "
            f"(over {limit}, the int64 model's limit); use narrower formats")


def _better(plain: Plan, nudged: Plan) -> Plan:
    """The nudged plan unless it lost monotonicity or raised the error without reaching correct rounding."""
    if nudged is plain:
        return plain

    def key(plan: Plan) -> tuple:
        stats = measure(plan)
        exact = stats.mode_fraction == 1.0  # the rounding mode applied to the real product, everywhere
        return (not stats.monotonic, not exact, 0.0 if exact else stats.max_lsb, -stats.mode_fraction)

    return nudged if key(nudged) <= key(plain) else plain


def _with_gate_rows(plan: Plan, rows: np.ndarray) -> Plan:
    return replace(plan, table=replace(plan.table, rows=tuple(map(tuple, rows.tolist()))))


def _with_factor_rows(plan: Plan, rows: np.ndarray) -> Plan:
    return replace(plan, product=Product(_with_gate_rows(plan.product.factor_plan, rows)))


@dataclass(frozen=True)
class _Grid:
    """Every operand pair with the real products and what the output rounding mode makes of them."""

    x: np.ndarray
    a: np.ndarray
    target: np.ndarray  # the real product, in output LSBs
    wanted: np.ndarray  # the rounding mode applied to it


@dataclass(frozen=True)
class _NudgedTable:
    """One direct table being nudged: its rows, the row each grid point reads, how a plan takes new rows."""

    rows: tuple
    row_index: np.ndarray
    with_rows: Callable[[Plan, np.ndarray], Plan]


def _nudge_tables(plan: Plan, radius: int) -> Plan:
    """Nudge direct-table entries (gate, then factor, twice over) towards correctly rounded products."""
    x, a, exhaustive = input_grid(plan)
    if not exhaustive:
        return plan
    grid = _Grid(x, a, reference(plan, x, a), mode_target(plan, x, a))
    for _ in range(2):
        if plan.table.degree == 0:
            plan = _nudge(plan, _NudgedTable(plan.table.rows, row_of(plan, x), _with_gate_rows), grid, radius)
        factor = plan.product.factor_plan
        if factor is not None and factor.table.degree == 0:
            plan = _nudge(plan, _NudgedTable(factor.table.rows, row_of(factor, a), _with_factor_rows), grid, radius)
    return plan


def _nudge(plan: Plan, table: _NudgedTable, grid: _Grid, radius: int) -> Plan:
    """Per table row, the offset in ``[-radius, radius]`` with the best products.

    Each output depends on one row of the table being nudged; a step along ``x`` depends on
    at most two, of neighbouring rows. So the even rows are nudged with the odd ones held,
    then the odd rows: each score is then exact for its own row. The score, in order: fewest
    steps against the real function along ``x``, no error of a whole LSB, fewest outputs not
    equal to the rounding mode applied to the real product, smallest maximum error.
    """
    rows, with_rows, target, wanted = table.rows, table.with_rows, grid.target, grid.wanted
    best_rows = np.asarray(rows, dtype=np.int64).copy()
    n_rows, size = best_rows.shape[0], target.size
    nearest = plan.output.rounding.startswith("RND")
    index = np.broadcast_to(table.row_index, target.shape)
    # A step between x and x+1 is charged to both rows; the held row's share is the same for every trial.
    step_rows = (index[..., :-1].ravel(), index[..., 1:].ravel())
    target_rise = np.diff(target, axis=-1).ravel()
    for parity in (0, 1):
        moving = np.arange(n_rows) % 2 == parity
        best_score = np.full(n_rows, np.inf)
        held = best_rows.copy()
        for delta in sorted(range(-radius, radius + 1), key=abs):  # ties keep the smaller nudge
            trial = np.where(moving[:, None], held + delta, held)
            y = evaluate(with_rows(plan, trial), grid.x, grid.a).astype(np.float64)
            err = np.abs(y - target).ravel()
            worst = np.zeros(n_rows)
            np.maximum.at(worst, index.ravel(), err)
            wrong = np.bincount(index.ravel(), weights=(y != wanted).ravel(), minlength=n_rows)
            against = (np.diff(y, axis=-1).ravel() * target_rise < 0).astype(np.float64)
            backwards = (np.bincount(step_rows[0], weights=against, minlength=n_rows)
                         + np.bincount(step_rows[1], weights=against, minlength=n_rows))
            # A whole LSB off is a failure for nearest modes only: a floor can be 1 - 1e-15 off.
            whole = worst >= 1 - TIE_TOLERANCE if nearest else 0
            score = (backwards * size + whole) * size + wrong + worst / 2
            better = moving & (score < best_score)
            best_score = np.where(better, score, best_score)
            best_rows[better] = trial[better]
    return with_rows(plan, best_rows)

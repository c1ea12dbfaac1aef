"""What a plan costs in hardware, in the units ``auto`` compares plans by."""

from __future__ import annotations

from typing import Any

from ..plan import BitSlice, Plan
from ..widths import analyze, column_bits

__all__ = ["plan_cost"]


def plan_cost(plan: Plan) -> dict[str, Any]:
    """What a plan costs in hardware: table bits, segments, multiplier operand widths.

    ``multipliers`` lists one ``[a_bits, b_bits]`` per multiplier of one lane, exactly those the
    HDL instantiates (a product by 0 or a power of two is wiring and not listed), each operand
    as wide as :func:`hwact.widths.analyze` finds it: the width the HDL gives it.
    """
    rows = plan.table.rows
    degree = plan.table.degree
    columns = [[row[k] for row in rows] for k in range(degree + 1)]
    varying = [c for c in columns if len(set(c)) > 1]
    table_bits = len(rows) * sum(column_bits(c) for c in varying)
    origins = getattr(plan.select, "origins", None)
    if origins is not None and len(set(origins)) > 1:
        table_bits += len(rows) * column_bits(origins)
    comparators = 0 if isinstance(plan.select, BitSlice) else len(plan.select.thresholds)
    widths = analyze(plan)
    t_bits = widths.t.operand_bits
    multipliers = []
    if degree and plan.table.needs_multiplier(degree):
        # The first step multiplies by the table's top column (a run-time operand where PReLU
        # puts its slope); a column of 0 and powers of two is wiring (ReLU's 0 and 1).
        top = column_bits(columns[degree])
        if any(k == degree for _, k in plan.table.operand):
            top = max(top, plan.operand_fmt.width)
        multipliers.append([top, t_bits])
    # Later steps multiply the accumulator, always a multiplier (as the HDL builds them).
    multipliers += [[total.operand_bits, t_bits] for total in widths.sums[:-1]]
    if plan.product is not None:  # gated units: one more multiplier, and the factor's own plan
        multipliers.append([widths.unfolded.operand_bits, widths.factor.operand_bits])
        if plan.product.factor_plan is not None:
            inner = plan_cost(plan.product.factor_plan)
            table_bits += inner["table_bits"]
            comparators += inner["comparators"]
            multipliers += inner["multipliers"]
    # The figure of merit auto minimizes: ROM bits, plus a multiplier's partial-product bits,
    # plus a comparator per threshold (one LUT per input bit).
    cost = table_bits + sum(a * b for a, b in multipliers) + comparators * plan.in_fmt.width
    return {"table_bits": table_bits, "segments": len(rows), "comparators": comparators,
            "multipliers": multipliers, "cost": cost}


"""What a plan costs in hardware, in the units ``auto`` compares plans by."""

from __future__ import annotations

from typing import Any

from ..model import offset_bits
from ..plan import BitSlice, Plan

__all__ = ["plan_cost"]


def plan_cost(plan: Plan) -> dict[str, Any]:
    """What a plan costs in hardware: table bits, segments, multiplier operand widths.

    ``multipliers`` lists one ``[a_bits, b_bits]`` per multiplier of one lane, exactly those the
    HDL instantiates (a product by 0 or a power of two is wiring and not listed).
    """
    def signed_bits(values) -> int:
        return max(max(int(v).bit_length() + 1, (~int(v)).bit_length() + 1) for v in values)

    rows = plan.table.rows
    columns = [[row[k] for row in rows] for k in range(plan.table.degree + 1)]
    varying = [c for c in columns if len(set(c)) > 1]
    table_bits = len(rows) * sum(signed_bits(c) for c in varying)
    origins = getattr(plan.select, "origins", None)
    if origins is not None and len(set(origins)) > 1:
        table_bits += len(rows) * signed_bits(origins)
    t_bits = offset_bits(plan) or plan.in_fmt.width
    comparators = 0 if isinstance(plan.select, BitSlice) else len(plan.select.thresholds)
    multipliers = []
    acc_bits = signed_bits(columns[-1]) if columns else 0
    for k in range(plan.table.degree - 1, -1, -1):
        # The first step multiplies by the table's top column, which may be wiring (ReLU's 0 and 1);
        # later steps multiply the accumulator, always a multiplier (as the HDL builds them).
        if k < plan.table.degree - 1 or plan.table.needs_multiplier(plan.table.degree):
            multipliers.append([acc_bits, t_bits])
        acc_bits = max(acc_bits + t_bits - plan.horner[plan.table.degree - 1 - k].shift, signed_bits(columns[k])) + 1
    if plan.product is not None:  # gated units: one more multiplier, and the factor's own plan
        multipliers.append([acc_bits, plan.factor_fmt.width])
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

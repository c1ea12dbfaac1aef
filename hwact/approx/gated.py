"""The gated planner: ``factor(a) * gate(b)`` from two ordinary plans and one Product step.

The gate's table plan is made for an intermediate format with ``extra`` more fraction bits
than the output plus as many as ``a`` has integer bits, because ``a`` scales the gate's error
by up to ``|a|``; the gate's accumulator (before its own rounding) is then multiplied by the
factor and rounded once, to the output format. A factor function (GTU's tanh) is a plan of
its own, nested in the Product primitive.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Callable

import numpy as np

from ..fixed import Fmt
from ..functions import Function, get
from ..plan import OutputStage, Plan, Product

__all__ = ["plan_gated", "EXTRA_BITS"]

#: Extra gate precision tried, cheapest first.
EXTRA_BITS = (2, 3, 4, 6)
#: Budget for the gate and factor plans, in their own (finer) LSBs.
INNER_BUDGET = 2.0


def _signed_fmt_for(values: np.ndarray, frac_bits: int) -> Fmt:
    magnitude = float(np.max(np.abs(values))) if values.size else 0.0
    int_bits = max(math.ceil(math.log2(magnitude + 2.0 ** -frac_bits)) + 1, 1) if magnitude > 0 else 1
    return Fmt(int_bits, frac_bits)


def plan_gated(function: Function, params: Mapping[str, Any], in_fmt: Fmt, out_fmt: Fmt, *, method: str,
               extra: int, rounding: str, overflow_mode: str, make_plan: Callable[..., Plan]) -> Plan:
    """One gated plan with ``extra`` guard bits in the gate; ``make_plan`` plans the inner functions."""
    gate_fn = get(function.gate)
    gate_params = {k: v for k, v in params.items() if k in {p.name for p in gate_fn.params}}
    codes = in_fmt.all_codes()
    gate_frac = out_fmt.frac_bits + in_fmt.int_bits + extra
    gate_fmt = _signed_fmt_for(gate_fn.reference(in_fmt.to_real(codes), gate_fn.defaults() | gate_params), gate_frac)
    if gate_fmt.width > 32:
        raise ValueError(f"{function.name}: the gate would need {gate_fmt} (over 32 bits); use a narrower output")
    gate = make_plan(function.gate, in_fmt, gate_fmt, method=method, max_err_lsb=INNER_BUDGET, params=gate_params)

    factor_plan, factor_frac = None, in_fmt.frac_bits
    if function.factor:
        factor_fmt = Fmt(2, out_fmt.frac_bits + extra + 1)
        factor_plan = make_plan(function.factor, in_fmt, factor_fmt, method="auto", max_err_lsb=INNER_BUDGET)
        factor_frac = factor_fmt.frac_bits
    # The gate's accumulator has `gate.output.shift` bits below its LSB; the product adds the factor's.
    shift = gate.output.shift + factor_frac + gate_frac - out_fmt.frac_bits
    return replace(gate, function=function.name, params=dict(params), out_fmt=out_fmt, operand_fmt=in_fmt,
                   product=Product(factor_plan), output=OutputStage(shift, rounding, overflow_mode))

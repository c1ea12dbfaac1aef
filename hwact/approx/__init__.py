"""Planners: from a function, formats and an error budget to a :class:`~hwact.plan.Plan`.

``make_plan`` is the one entry point. Each method is a planner; ``auto`` picks the cheapest
plan that meets the error budget among the methods that apply to the function.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..fixed import OVERFLOW_MODES, ROUNDING_MODES, Fmt
from ..functions import get, resolve_params
from ..plan import Plan
from ..report.accuracy import TIE_TOLERANCE, measure
from .exact import plan_exact

__all__ = ["make_plan", "PlanError", "METHODS"]

METHODS = ("auto", "exact", "lut", "pwl", "pwl2")


class PlanError(ValueError):
    """No plan can be made for the request (the message says why and what is possible)."""


def _methods_for(family: str) -> tuple[str, ...]:
    return ("exact",) if family == "exact" else ()


def make_plan(function: str, in_fmt: Fmt | str, out_fmt: Fmt | str, *, method: str = "auto",
              max_err_lsb: float = 1.0, params: Mapping[str, Any] | None = None,
              rounding: str = "RND", overflow: str = "SAT") -> Plan:
    """Plan a unit for ``function`` from ``in_fmt`` to ``out_fmt`` within ``max_err_lsb``.

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
    values = resolve_params(fn, params)
    in_fmt, out_fmt = Fmt.parse(in_fmt), Fmt.parse(out_fmt)
    if method not in METHODS:
        raise PlanError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if rounding not in ROUNDING_MODES:
        raise PlanError(f"rounding must be one of {', '.join(ROUNDING_MODES)}, not {rounding!r}")
    if overflow not in OVERFLOW_MODES:
        raise PlanError(f"overflow must be one of {', '.join(OVERFLOW_MODES)}, not {overflow!r}")
    if not max_err_lsb > 0:
        raise PlanError(f"max_err_lsb must be positive, not {max_err_lsb!r}")
    available = _methods_for(fn.family)
    if not available:
        raise PlanError(f"{fn.name} needs a table-based method, which this version does not provide yet")
    if method != "auto" and method not in available:
        raise PlanError(f"method {method!r} does not apply to {fn.name} (available: {', '.join(available)})")
    try:
        plan = plan_exact(fn, values, in_fmt, out_fmt, rounding=rounding, overflow_mode=overflow)
    except ValueError as error:
        raise PlanError(str(error)) from None
    reached = measure(plan).max_lsb
    if reached > max_err_lsb + TIE_TOLERANCE:
        raise PlanError(f"no {fn.name} plan meets {max_err_lsb:g} LSB at {in_fmt} -> {out_fmt}; "
                        f"the best reachable is {reached:.4g} LSB")
    return plan

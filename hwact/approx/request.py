"""A planning request: the function, formats, parameters, method, budget and modes, checked once.

:func:`hwact.approx.make_plan` turns its arguments into a :class:`PlanRequest` (every check and
message in one place) and hands that one value to the planners, which read what they need from
it instead of a dozen positional parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..fixed import Fmt, Overflow, Rounding, check_overflow, check_rounding
from ..functions import Family, Function, get, resolve_params
from ..plan import METHODS, Method

__all__ = ["PlanError", "PlanRequest"]


class PlanError(ValueError):
    """No plan can be made for the request (the message says why and what is possible)."""


@dataclass(frozen=True)
class PlanRequest:
    """What a planner is asked for: resolved parameters, parsed formats, typed modes.

    Build one with :meth:`parse` (which checks everything, with the user-facing messages);
    the planners take it as given. ``budget`` is the error budget in output LSBs
    (``max_err_lsb``).
    """

    function: Function
    params: Mapping[str, Any]
    in_fmt: Fmt
    out_fmt: Fmt
    method: Method = Method.AUTO
    budget: float = 1.0
    rounding: Rounding = Rounding.RND
    overflow: Overflow = Overflow.SAT

    @classmethod
    def parse(cls, function: str | Function, in_fmt: Fmt | str, out_fmt: Fmt | str, *, method: Method | str = "auto",
              max_err_lsb: float = 1.0, params: Mapping[str, Any] | None = None, rounding: Rounding | str = "RND",
              overflow: Overflow | str = "SAT") -> PlanRequest:
        """Check and resolve a request.

        Raises
        ------
        PlanError
            For an unknown method or mode, a budget that is not positive, or an affine format on
            a function that cannot take one.
        hwact.functions.ParamError
            For an unknown function or a bad parameter.
        hwact.fixed.FormatError
            For a malformed format.
        """
        fn = function if isinstance(function, Function) else get(function)
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
        request = cls(fn, values, in_fmt, out_fmt, Method(method), max_err_lsb, Rounding(rounding), Overflow(overflow))
        if request.affine and (fn.operands > 1 or fn.family == Family.GATED or fn.mirror):
            raise PlanError(f"affine formats apply to one-operand, one-output functions, not {fn.name}")
        return request

    @property
    def affine(self) -> bool:
        """Whether the input or the output format is affine (a scale and a zero point)."""
        return self.in_fmt.is_affine or self.out_fmt.is_affine

    @property
    def family(self) -> Family:
        """The planner family: the function's, except that affine formats always take the table planners.

        With an affine input or output the exact family's pieces are no longer polynomials in the
        codes with binary-point coefficients; the table planners fit the code-to-code map instead.
        """
        return Family.SMOOTH if self.affine else self.function.family

    @property
    def nearest(self) -> bool:
        """Whether the output rounds to nearest (the truncating modes round down on purpose)."""
        return self.rounding.startswith("RND")

    @property
    def low(self) -> int:
        """The least output code the overflow mode produces (``SAT_SYM`` never gives the most negative one)."""
        signed_sym = self.overflow == Overflow.SAT_SYM and self.out_fmt.signed
        return -self.out_fmt.max_code if signed_sym else self.out_fmt.min_code

    def target(self, codes: np.ndarray) -> np.ndarray:
        """The real function at input ``codes`` in output code units (unclipped; an affine output's
        zero point included)."""
        return self.out_fmt.code_units(self.function.reference(self.in_fmt.to_real(codes), self.params))

    def key(self) -> tuple:
        """What the function values depend on (function, parameters, formats): a key for caches."""
        return self.function.name, repr(sorted(dict(self.params).items())), self.in_fmt, self.out_fmt

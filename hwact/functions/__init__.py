"""The activation functions hwact knows: names, parameters and float64 references.

Names and parameter names follow ``torch.nn.functional``. Each :class:`Function` carries a
vectorized float64 reference (the "real function" every error is measured against) and, for
the exact piecewise family, the list of polynomial :class:`Piece` s a planner turns into
hardware. Parameters arrive as text from the command line or as Python values from the API,
and are checked here with messages that name the parameter and the bad value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from ..fixed import Fmt
from ..plan import FOLDS, FoldKind

__all__ = ["Function", "Family", "Param", "ParamKind", "Piece", "ParamError", "FUNCTIONS", "get", "resolve_params",
           "OPERAND", "describe"]

FloatArray = npt.NDArray[np.float64]

#: Marks a polynomial coefficient that is supplied at run time on the second operand.
OPERAND = "operand"


class ParamError(ValueError):
    """An unknown function, an unknown parameter or a parameter value out of range."""


class Family(StrEnum):
    """How a function becomes hardware (the values are the spellings of ``hwact list --json``)."""

    EXACT = "exact"  #: piecewise polynomials with known real coefficients (planner ``exact``)
    SMOOTH = "smooth"  #: tables fitted to a float64 reference (planners ``lut``, ``pwl``, ``pwl2``, ``cr``)
    GATED = "gated"  #: ``factor(a) * gate(b)`` from two table plans


class ParamKind(StrEnum):
    """What a parameter's value is (the values are the spellings of ``hwact list --json``)."""

    REAL = "real"  #: a finite real number
    CHOICE = "choice"  #: one of the parameter's ``choices``
    FORMAT = "format"  #: a fixed-point format spelling, or None for "derived from the input format"


@dataclass(frozen=True)
class Param:
    """One parameter of a function, of a :class:`ParamKind`."""

    name: str
    default: Any
    kind: ParamKind = ParamKind.REAL
    choices: tuple[str, ...] = ()
    doc: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ParamKind(self.kind))

    def parse(self, value: Any) -> Any:
        if self.kind == ParamKind.REAL:
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ParamError(f"parameter {self.name} must be a real number, not {value!r}") from None
            if not np.isfinite(number):
                raise ParamError(f"parameter {self.name} must be finite, not {value!r}")
            return number
        if self.kind == ParamKind.CHOICE:
            if str(value) not in self.choices:
                raise ParamError(f"parameter {self.name} must be one of {', '.join(self.choices)}, not {value!r}")
            return str(value)
        if value is None:
            return None
        return str(Fmt.parse(value))


@dataclass(frozen=True)
class Piece:
    """``f(x) = sum(coeffs[k] * x**k)`` from ``start`` up to the next piece.

    ``start`` is included when ``closed`` and excluded otherwise (so a function can take a
    value of its own at a single point, like a step at zero). A coefficient equal to
    :data:`OPERAND` is the run-time second operand (PReLU's slope).
    """

    start: float
    coeffs: tuple[float | str, ...]
    closed: bool = True


@dataclass(frozen=True)
class Function:
    """An activation function: its parameters, reference, and (exact family) pieces."""

    name: str
    family: Family
    summary: str
    reference: Callable[..., FloatArray]
    params: tuple[Param, ...] = ()
    pieces: Callable[[Mapping[str, Any]], list[Piece]] | None = None
    operands: int = 1
    check: Callable[[Mapping[str, Any]], str | None] | None = None
    #: A fold the planner may use (see :mod:`.smooth`).
    symmetry: FoldKind | None = None
    #: Gated units (see :mod:`.gated`): the function of the second operand ``b`` and,
    #: optionally, of the first operand ``a``, multiplied together.
    gate: str | None = None
    factor: str | None = None
    #: Exact family: ``max(f(x), a)`` with a run-time operand (maxout), or two outputs
    #: ``[f(x), f(-x)]`` (CReLU). See :class:`hwact.plan.Plan`.
    maximum: bool = False
    mirror: bool = False
    notes: str = ""
    aliases: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "family", Family(self.family))
        if self.symmetry is not None:
            if self.symmetry not in FOLDS:
                raise ValueError(f"symmetry must be one of {', '.join(FOLDS)}, not {self.symmetry!r}")
            object.__setattr__(self, "symmetry", FoldKind(self.symmetry))

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}


def resolve_params(function: Function, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge ``given`` parameters over the defaults, parse and range-check them."""
    by_name = {p.name: p for p in function.params}
    values = function.defaults()
    for name, raw in (given or {}).items():
        if name not in by_name:
            known = ", ".join(by_name) or "none"
            raise ParamError(f"{function.name} has no parameter {name!r} (parameters: {known})")
        values[name] = by_name[name].parse(raw)
    if function.check is not None and (message := function.check(values)):
        raise ParamError(f"{function.name}: {message}")
    return values


FUNCTIONS: dict[str, Function] = {}


def register(function: Function) -> Function:
    for name in (function.name, *function.aliases):
        FUNCTIONS[name] = function
    return function


def get(name: str) -> Function:
    """Look a function up by name (case-insensitive, as formats are); a clear :class:`ParamError` if none,
    suggesting the closest names when the name looks misspelled."""
    try:
        return FUNCTIONS[name] if name in FUNCTIONS else FUNCTIONS[str(name).strip().lower()]
    except KeyError:
        import difflib

        known = len(set(FUNCTIONS.values()))
        close = difflib.get_close_matches(str(name).strip().lower(), FUNCTIONS, n=2)
        hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
        raise ParamError(f"unknown function {name!r}{hint}; `hwact list` shows the {known} known ones") from None


def describe(function: str, params: Mapping[str, Any] | None = None) -> str:
    """``function`` with the parameters that differ from its defaults, e.g. ``gelu approximate=tanh``."""
    fn = get(function)
    defaults = fn.defaults()
    given = resolve_params(fn, params)
    extra = [f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}"
             for name, value in given.items() if value != defaults.get(name)]
    return " ".join([fn.name, *extra])


from . import gated, relu_family, smooth  # noqa: E402,F401  (each module registers its functions)

"""A Plan: the integer datapath every backend (model, HDL, C) implements step by step.

A plan is a frozen, JSON-serializable chain of primitives applied to one input code ``x``
(and, for two-operand functions, one operand code ``a``)::

    x       = clip(x, clamp.lo, clamp.hi)          Clamp: saturation regions       (optional)
    neg, x  = x < 0, |x|                           Fold: tabulate x >= 0 only      (optional)
    segment, t = select(x)                         comparators, or bit slicing of x
    c[0..d] = CoefTable[segment]                   one row of integer coefficients
                                                   (entries named in ``operand`` come from ``a``)
    acc     = c[d]
    acc     = shift_round(acc * t, s, r) + c[k]    for k = d-1 .. 0   (Horner steps)
    acc     = unfold(acc) if neg                   -acc | C - acc | acc - (x << s)
    acc     = acc * factor(a)                      Product: gated units (optional)
    y       = overflow(shift_round(acc, out.shift, out.rounding), out_fmt, out.overflow)
    y       = max(y, a)                            maximum: maxout (optional)

A ``mirror`` plan has two outputs per input, the chain above at ``x`` and at ``-x``
(saturated), as CReLU's ``[relu(x), relu(-x)]``.

``t`` is the offset of ``x`` from its segment's origin (or ``x`` itself for the exact family).
Every rounding is named in the plan, so nothing is left to a backend's judgement.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from .fixed import Fmt, check_overflow, check_rounding

__all__ = [
    "Plan",
    "Method",
    "METHODS",
    "FoldKind",
    "is_wiring",
    "Clamp",
    "Fold",
    "Product",
    "SegmentSelect",
    "BitSlice",
    "CoefTable",
    "HornerStep",
    "OutputStage",
    "PLAN_VERSION",
    "FOLDS",
]


class Method(StrEnum):
    """Planning methods (the values are the JSON and command-line spellings).

    ``auto`` is a request only: a plan records the method that made it.
    """

    AUTO = "auto"  #: the cheapest plan within the error budget among the methods that apply
    EXACT = "exact"  #: piecewise polynomials with known real coefficients (the ReLU family)
    LUT = "lut"  #: a direct table, one entry per input code
    PWL = "pwl"  #: piecewise linear
    PWL2 = "pwl2"  #: piecewise quadratic
    CR = "cr"  #: correctly rounded by rounding intervals and linear programming

    @property
    def degree(self) -> int:
        """The polynomial degree of a table method's segments (``lut`` 0, ``pwl`` 1, ``pwl2`` 2)."""
        return {Method.LUT: 0, Method.PWL: 1, Method.PWL2: 2}[self]


METHODS: Final = tuple(method.value for method in Method)


class FoldKind(StrEnum):
    """Symmetry folds: how f(x) for x < 0 follows from the table's value at |x|."""

    ODD = "odd"  #: f(-x) = -f(x)
    COMPLEMENT = "complement"  #: f(-x) = 1 - f(x)
    MINUS_X = "minus_x"  #: f(-x) = f(x) - x


FOLDS: Final = tuple(kind.value for kind in FoldKind)

PLAN_VERSION = 1


@dataclass(frozen=True)
class Clamp:
    """Clip the input code to ``[lo, hi]``: beyond, the rounded output no longer changes."""

    lo: int
    hi: int


@dataclass(frozen=True)
class Fold:
    """Evaluate the table at ``|x|`` and recover negative inputs (see :data:`FOLDS`).

    ``constant`` is the accumulator value of 1.0 for ``complement`` (``C - acc``) and the
    left shift that aligns ``|x|`` with the accumulator for ``minus_x`` (``acc - (|x| << s)``).
    """

    kind: FoldKind
    constant: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FOLDS:
            raise ValueError(f"fold must be one of {', '.join(FOLDS)}, not {self.kind!r}")
        object.__setattr__(self, "kind", FoldKind(self.kind))


@dataclass(frozen=True)
class Product:
    """Multiply the accumulator by a factor from the operand ``a`` before the output stage.

    The factor is ``a`` itself, or ``a`` through ``factor_plan`` (its output codes), so
    ``a * sigmoid(x)`` (GLU) and ``tanh(a) * sigmoid(x)`` (GTU) are one plan each.
    """

    factor_plan: Plan | None = None


@dataclass(frozen=True)
class SegmentSelect:
    """Pick a segment by comparing the input code with sorted thresholds.

    ``segment = number of thresholds t with x >= t``; ``len(thresholds) + 1`` segments.
    With ``origins``, the polynomial variable is ``t = x - origins[segment]``; without, ``x``.
    """

    thresholds: tuple[int, ...]
    origins: tuple[int, ...] | None = None

    @property
    def segments(self) -> int:
        return len(self.thresholds) + 1


@dataclass(frozen=True)
class BitSlice:
    """``2**shift``-code segments by bit slicing: ``segment = (x - base) >> shift``.

    The polynomial variable is the low bits, ``t = (x - base) & (2**shift - 1)``; a direct
    look-up table is ``shift = 0`` (one segment per code).
    """

    base: int
    shift: int
    segments: int


@dataclass(frozen=True)
class CoefTable:
    """Integer polynomial coefficients, one row per segment, ``rows[s][k]`` for ``x**k``.

    ``frac_bits[k]`` is the binary point of column ``k``. ``operand`` lists the
    ``(segment, k)`` entries replaced by the run-time operand code (PReLU's slope).
    """

    rows: tuple[tuple[int, ...], ...]
    frac_bits: tuple[int, ...]
    operand: tuple[tuple[int, int], ...] = ()

    @property
    def degree(self) -> int:
        return len(self.frac_bits) - 1

    def column(self, k: int) -> tuple[int, ...]:
        return tuple(row[k] for row in self.rows)

    def needs_multiplier(self, k: int) -> bool:
        """Whether ``column(k) * t`` needs a multiplier: a run-time operand, or a constant that is
        not 0 or a power of two (those are muxed shifted copies of ``t``, wiring and a few LUTs)."""
        return any(power == k for _, power in self.operand) or not all(map(is_wiring, self.column(k)))


def is_wiring(value: int) -> bool:
    """Whether multiplying by ``value`` is wiring: 0, or plus or minus a power of two."""
    magnitude = abs(int(value))
    return magnitude & (magnitude - 1) == 0


@dataclass(frozen=True)
class HornerStep:
    """``acc = shift_round(acc * x, shift, rounding) + c[k]``."""

    shift: int
    rounding: str = "TRN"

    def __post_init__(self) -> None:
        check_rounding(self.rounding)


@dataclass(frozen=True)
class OutputStage:
    """Final rounding of the accumulator to the output format, then overflow handling."""

    shift: int
    rounding: str
    overflow: str

    def __post_init__(self) -> None:
        # Modes are checked once, where a plan is built (by a planner or from JSON); the
        # backends can then rely on them.
        check_rounding(self.rounding)
        check_overflow(self.overflow)


@dataclass(frozen=True)
class Plan:
    """A complete, backend-neutral description of one activation unit's datapath."""

    function: str
    params: Mapping[str, Any]
    method: Method
    in_fmt: Fmt
    out_fmt: Fmt
    select: SegmentSelect | BitSlice
    table: CoefTable
    horner: tuple[HornerStep, ...]
    output: OutputStage
    operand_fmt: Fmt | None = None
    clamp: Clamp | None = None
    fold: Fold | None = None
    product: Product | None = None
    #: ``y = max(y, a)``: the operand (in the output format) competes with the result.
    maximum: bool = False
    #: Two outputs per input: the plan at ``x`` and at ``-x``.
    mirror: bool = False
    #: Constants as requested and as the hardware holds them (name -> details).
    quantized: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in METHODS or self.method == Method.AUTO:
            known = ", ".join(m for m in METHODS if m != Method.AUTO)
            raise ValueError(f"a plan's method is the one that made it ({known}), not {self.method!r}")
        object.__setattr__(self, "method", Method(self.method))
        if len(self.horner) != self.table.degree:
            raise ValueError(
                f"a degree-{self.table.degree} table needs {self.table.degree} Horner steps, not {len(self.horner)}"
            )
        if any(len(row) != self.table.degree + 1 for row in self.table.rows):
            raise ValueError("every coefficient row needs one entry per degree")
        if len(self.table.rows) != self.select.segments:
            raise ValueError(f"{self.select.segments} segments but {len(self.table.rows)} coefficient rows")
        if (self.table.operand or self.product) and self.operand_fmt is None:
            raise ValueError("a plan that reads the run-time operand needs operand_fmt")
        if self.maximum and self.operand_fmt != self.out_fmt:
            raise ValueError("a maximum with the operand needs the operand in the output format")
        if self.product and self.product.factor_plan and self.product.factor_plan.in_fmt != self.operand_fmt:
            raise ValueError("the factor plan must take the operand's format")
        origins = getattr(self.select, "origins", None)
        if origins is not None and len(origins) != self.select.segments:
            raise ValueError(f"{self.select.segments} segments but {len(origins)} origins")
        if self.clamp is not None and self.clamp.lo > self.clamp.hi:
            raise ValueError(f"clamp range {self.clamp.lo}..{self.clamp.hi} is empty")

    @property
    def operands(self) -> int:
        return 1 if self.operand_fmt is None else 2

    @property
    def outputs(self) -> int:
        """Output codes per input code (2 for a mirror plan)."""
        return 2 if self.mirror else 1

    @property
    def factor_fmt(self) -> Fmt | None:
        if self.product is None:
            return None
        return self.product.factor_plan.out_fmt if self.product.factor_plan else self.operand_fmt

    # -- JSON -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": PLAN_VERSION,
            "function": self.function,
            "params": dict(self.params),
            "method": self.method,
            "in_format": str(self.in_fmt),
            "out_format": str(self.out_fmt),
            "operand_format": None if self.operand_fmt is None else str(self.operand_fmt),
            "clamp": None if self.clamp is None else {"lo": self.clamp.lo, "hi": self.clamp.hi},
            "fold": None if self.fold is None else {"kind": self.fold.kind, "constant": self.fold.constant},
            "maximum": self.maximum,
            "mirror": self.mirror,
            "product": None
            if self.product is None
            else {"factor_plan": None if self.product.factor_plan is None else self.product.factor_plan.to_dict()},
            "select": _select_to_dict(self.select),
            "table": {
                "rows": [list(row) for row in self.table.rows],
                "frac_bits": list(self.table.frac_bits),
                "operand": [list(entry) for entry in self.table.operand],
            },
            "horner": [{"shift": step.shift, "rounding": step.rounding} for step in self.horner],
            "output": {"shift": self.output.shift, "rounding": self.output.rounding, "overflow": self.output.overflow},
            "quantized": dict(self.quantized),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        if data.get("version") != PLAN_VERSION:
            raise ValueError(f"plan version {data.get('version')!r} is not supported (expected {PLAN_VERSION})")
        table = data["table"]
        return cls(
            function=data["function"],
            params=dict(data["params"]),
            method=data["method"],
            in_fmt=Fmt.parse(data["in_format"]),
            out_fmt=Fmt.parse(data["out_format"]),
            operand_fmt=None if data.get("operand_format") is None else Fmt.parse(data["operand_format"]),
            select=_select_from_dict(data["select"]),
            clamp=None if data.get("clamp") is None else Clamp(int(data["clamp"]["lo"]), int(data["clamp"]["hi"])),
            fold=None if data.get("fold") is None else Fold(data["fold"]["kind"], int(data["fold"]["constant"])),
            maximum=bool(data.get("maximum", False)),
            mirror=bool(data.get("mirror", False)),
            product=None
            if data.get("product") is None
            else Product(
                None if data["product"]["factor_plan"] is None else Plan.from_dict(data["product"]["factor_plan"])
            ),
            table=CoefTable(
                rows=tuple(tuple(int(c) for c in row) for row in table["rows"]),
                frac_bits=tuple(int(f) for f in table["frac_bits"]),
                operand=tuple((int(s), int(k)) for s, k in table.get("operand", ())),
            ),
            horner=tuple(HornerStep(int(s["shift"]), s["rounding"]) for s in data["horner"]),
            output=OutputStage(**data["output"]),
            quantized=dict(data.get("quantized", {})),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        return cls.from_dict(json.loads(text))


def _select_to_dict(select: SegmentSelect | BitSlice) -> dict[str, Any]:
    if isinstance(select, BitSlice):
        return {"kind": "bitslice", "base": select.base, "shift": select.shift, "segments": select.segments}
    origins = None if select.origins is None else list(select.origins)
    return {"kind": "comparators", "thresholds": list(select.thresholds), "origins": origins}


def _select_from_dict(data: Mapping[str, Any]) -> SegmentSelect | BitSlice:
    if data.get("kind", "comparators") == "bitslice":
        return BitSlice(int(data["base"]), int(data["shift"]), int(data["segments"]))
    origins = data.get("origins")
    return SegmentSelect(
        tuple(int(t) for t in data["thresholds"]), None if origins is None else tuple(int(o) for o in origins)
    )

"""A Plan: the integer datapath every backend (model, HDL, C) implements step by step.

A plan is a frozen, JSON-serializable chain of primitives applied to one input code ``x``
(and, for two-operand functions, one operand code ``a``)::

    segment = SegmentSelect(x)                  comparators against input-code thresholds
    c[0..d] = CoefTable[segment]                one row of integer coefficients
                                                (entries named in ``operand`` come from ``a``)
    acc     = c[d]
    acc     = shift_round(acc * x, s, r) + c[k]   for k = d-1 .. 0   (Horner steps)
    y       = overflow(shift_round(acc, out.shift, out.rounding), out_fmt, out.overflow)

Every rounding is named in the plan, so nothing is left to a backend's judgement.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .fixed import Fmt

__all__ = ["Plan", "SegmentSelect", "CoefTable", "HornerStep", "OutputStage", "PLAN_VERSION"]

PLAN_VERSION = 1


@dataclass(frozen=True)
class SegmentSelect:
    """Pick a segment by comparing the input code with sorted thresholds.

    ``segment = number of thresholds t with x >= t``; ``len(thresholds) + 1`` segments.
    """

    thresholds: tuple[int, ...]

    @property
    def segments(self) -> int:
        return len(self.thresholds) + 1


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


@dataclass(frozen=True)
class HornerStep:
    """``acc = shift_round(acc * x, shift, rounding) + c[k]``."""

    shift: int
    rounding: str = "TRN"


@dataclass(frozen=True)
class OutputStage:
    """Final rounding of the accumulator to the output format, then overflow handling."""

    shift: int
    rounding: str
    overflow: str


@dataclass(frozen=True)
class Plan:
    """A complete, backend-neutral description of one activation unit's datapath."""

    function: str
    params: Mapping[str, Any]
    method: str
    in_fmt: Fmt
    out_fmt: Fmt
    select: SegmentSelect
    table: CoefTable
    horner: tuple[HornerStep, ...]
    output: OutputStage
    operand_fmt: Fmt | None = None
    #: Constants as requested and as the hardware holds them (name -> details).
    quantized: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.horner) != self.table.degree:
            raise ValueError(f"a degree-{self.table.degree} table needs {self.table.degree} Horner steps, not {len(self.horner)}")
        if any(len(row) != self.table.degree + 1 for row in self.table.rows):
            raise ValueError("every coefficient row needs one entry per degree")
        if len(self.table.rows) != self.select.segments:
            raise ValueError(f"{self.select.segments} segments but {len(self.table.rows)} coefficient rows")
        if self.table.operand and self.operand_fmt is None:
            raise ValueError("a plan that reads the run-time operand needs operand_fmt")

    @property
    def operands(self) -> int:
        return 1 if self.operand_fmt is None else 2

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
            "select": {"thresholds": list(self.select.thresholds)},
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
            select=SegmentSelect(tuple(int(t) for t in data["select"]["thresholds"])),
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

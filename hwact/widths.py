"""Bit widths per datapath step: the exact signed range of every intermediate of a plan.

:func:`analyze` gives, for every value a :class:`~hwact.plan.Plan` computes on its way from
input to output, the closed range ``[lo, hi]`` it takes over every input code (and every
operand code), and so the two's complement width that holds it. It is the one source of
truth for widths: the planners' int64 guards, the C backend's choice of ``int32_t`` or
``int64_t`` per step, and the docs read it.

How the ranges are found (each one is reached by some input, so it is exact, not a bound):

* Every clamped input code is traced through the datapath when there are at most
  ``2**EXHAUSTIVE_BITS`` of them; otherwise the ends of every segment (on both sides of a
  fold). Within a segment ``t`` is an affine function of the input and every step of a
  degree-1 chain is monotone in it, so the ends reach the extremes. A chain of degree 2 or
  more on such a wide domain adds an interval-arithmetic bound per segment, and a range it
  widens is flagged ``exact=False``.
* For a fixed input every step is monotone in a run-time coefficient (PReLU's slope), so the
  operand's two extreme codes reach the extremes.
* A gated unit's product multiplies two independent values, the gate's accumulator and the
  factor: its extremes are products of their extremes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from .fixed import IntArray, overflow, shift_round
from .model import reach, segment_of, unfold
from .plan import BitSlice, FoldKind, Plan

__all__ = ["EXHAUSTIVE_BITS", "MODEL_BITS", "Range", "Widths", "analyze", "column_bits", "model_overflow",
           "signed_bits", "trace"]

#: Clamped input domains up to this many bits are traced code by code.
EXHAUSTIVE_BITS = 22
_CHUNK = 1 << 20


def signed_bits(value: int) -> int:
    """Bits of the narrowest two's complement number holding ``value``."""
    value = int(value)
    return (value.bit_length() if value >= 0 else (~value).bit_length()) + 1


def column_bits(values) -> int:
    """Bits of the widest two's complement number among ``values`` (a ROM column's width)."""
    return max(signed_bits(v) for v in values)


@dataclass(frozen=True)
class Range:
    """A closed integer range; ``exact`` when both ends are reached by some input."""

    lo: int
    hi: int
    exact: bool = True

    def __post_init__(self) -> None:
        if self.lo > self.hi:
            raise ValueError(f"range {self.lo}..{self.hi} is empty")

    @property
    def bits(self) -> int:
        """Width of the narrowest signed (two's complement) number holding every value."""
        return max(signed_bits(self.lo), signed_bits(self.hi))

    @property
    def operand_bits(self) -> int:
        """Width of the narrowest number holding every value: unsigned when none is negative.

        What a datapath needs for the value as a multiplier operand or a pipeline register.
        """
        return max(self.hi.bit_length(), 1) if self.lo >= 0 else self.bits

    def fits(self, bits: int) -> bool:
        """Whether every value fits a signed ``bits``-bit number."""
        return self.bits <= bits

    def union(self, other: Range) -> Range:
        return Range(min(self.lo, other.lo), max(self.hi, other.hi), self.exact and other.exact)

    def __str__(self) -> str:
        return f"{self.lo}..{self.hi} ({self.bits} bits{'' if self.exact else ', bound'})"


@dataclass(frozen=True)
class Widths:
    """The range of every intermediate of one plan (see :func:`analyze`).

    ``products[i]`` and ``sums[i]`` belong to Horner step ``i`` (the first step, which
    multiplies the top coefficient, is step 0): ``sums[i] = shift_round(products[i]) + c``.
    Values a plan does not compute are ``None``.
    """

    #: Input codes (the input format's range).
    input: Range
    #: After the clamp.
    clamped: Range
    #: What the segment select sees: the clamped input, or its magnitude after a fold.
    folded: Range
    #: The polynomial variable.
    t: Range
    products: tuple[Range, ...]
    sums: tuple[Range, ...]
    #: The table's value at the folded input (the last Horner sum, or the constant column).
    acc: Range
    #: The accumulator after the fold is undone (``acc`` when there is no fold).
    unfolded: Range
    #: The gated unit's factor (the operand, or its factor plan's output).
    factor: Range | None
    #: The gated unit's product ``unfolded * factor``.
    gated: Range | None
    #: The accumulator the output stage rounds (after the guard clip of a left shift).
    final: Range
    #: The output stage's rounded value, before saturation.
    rounded: Range
    #: The output codes (after saturation and, for maxout, the maximum with the operand).
    output: Range

    def steps(self) -> dict[str, Range]:
        """Every range by name, in datapath order (``product0``, ``sum0``, ... for Horner steps)."""
        named: dict[str, Range | None] = {"input": self.input, "clamped": self.clamped, "folded": self.folded,
                                          "t": self.t}
        for index, (product, total) in enumerate(zip(self.products, self.sums)):
            named[f"product{index}"], named[f"sum{index}"] = product, total
        named |= {"acc": self.acc, "unfolded": self.unfolded, "factor": self.factor, "gated": self.gated,
                  "final": self.final, "rounded": self.rounded, "output": self.output}
        return {name: value for name, value in named.items() if value is not None}

    @property
    def widest(self) -> int:
        """Bits of the widest intermediate."""
        return max(r.bits for r in self.steps().values())

    @property
    def exact(self) -> bool:
        return all(r.exact for r in self.steps().values())


def trace(plan: Plan, x: npt.ArrayLike, operand: npt.ArrayLike | None = None) -> dict[str, IntArray]:
    """Every intermediate of ``plan`` at input codes ``x``, named as in :meth:`Widths.steps`.

    The arithmetic is :func:`hwact.model.evaluate`'s step for step (the tests hold ``y`` to
    the model); a mirror plan is traced at ``x`` only (its second output is the same chain at
    ``-x``). The gated factor is traced as the factor's codes.
    """
    x = np.asarray(x, dtype=np.int64)
    if operand is not None:
        x, operand = np.broadcast_arrays(x, np.asarray(operand, dtype=np.int64))
    out: dict[str, IntArray] = {"input": x}
    if plan.clamp is not None:
        x = np.clip(x, plan.clamp.lo, plan.clamp.hi)
    out["clamped"] = x
    negative = None
    if plan.fold is not None:
        negative, x = x < 0, np.abs(x)
    out["folded"] = x
    segment, t = segment_of(plan, x)
    out["t"] = t
    coef = np.asarray(plan.table.rows, dtype=np.int64)[segment]
    for seg, k in plan.table.operand:
        coef[..., k] = np.where(segment == seg, operand, coef[..., k])
    degree = plan.table.degree
    acc = coef[..., degree]
    for index, (step, k) in enumerate(zip(plan.horner, range(degree - 1, -1, -1))):
        out[f"product{index}"] = acc * t
        acc = out[f"sum{index}"] = shift_round(out[f"product{index}"], step.shift, step.rounding) + coef[..., k]
    out["acc"] = acc
    if negative is not None:
        acc = np.where(negative, unfold(plan.fold, acc, x), acc)
    out["unfolded"] = acc
    if plan.product is not None:
        factor_plan = plan.product.factor_plan
        if factor_plan is None:
            out["factor"] = operand
        else:
            from .model import evaluate

            out["factor"] = evaluate(factor_plan, operand)
        acc = out["gated"] = acc * out["factor"]
    stage = plan.output
    if stage.shift < 0 and stage.overflow != "WRAP":  # the model's guard clip before a left shift
        fmt = plan.out_fmt
        acc = np.clip(acc, (fmt.min_code >> -stage.shift) - 1, (fmt.max_code >> -stage.shift) + 1)
    out["final"] = acc
    out["rounded"] = shift_round(acc, stage.shift, stage.rounding)
    y = overflow(out["rounded"], plan.out_fmt, stage.overflow)
    out["output"] = np.maximum(y, operand) if plan.maximum else y
    return out


def _sample_codes(plan: Plan) -> tuple[IntArray, bool]:
    """Clamped input codes whose trace reaches every extreme (and whether that is all of them)."""
    lo, hi = plan.in_fmt.min_code, plan.in_fmt.max_code
    if plan.clamp is not None:
        lo, hi = max(lo, plan.clamp.lo), min(hi, plan.clamp.hi)
    if hi - lo < 1 << EXHAUSTIVE_BITS:
        return np.arange(lo, hi + 1, dtype=np.int64), True
    # The ends of every segment, on each side of the fold, and the ends of each side.
    select = plan.select
    if isinstance(select, BitSlice):
        starts = select.base + (np.arange(select.segments, dtype=np.int64) << select.shift)
    else:
        starts = np.asarray(select.thresholds, dtype=np.int64)
    ends = np.concatenate([starts, starts - 1, [0, 1, -1, lo, hi, -lo, -hi, lo + 1, hi - 1]])
    if plan.fold is not None:
        ends = np.concatenate([ends, -ends])
    ends = np.unique(ends)
    return ends[(ends >= lo) & (ends <= hi)], False


def _extremes(values: IntArray) -> Range:
    return Range(int(values.min()), int(values.max()))


def _horner_bounds(plan: Plan, lo: int, hi: int) -> dict[str, Range]:
    """Interval-arithmetic bounds of the Horner chain over every segment's codes in ``[lo, hi]``.

    Sound, not exact (``exact=False``), and in Python integers, so a chain too wide for the
    int64 model is bounded without overflowing. Names in datapath order: ``product0``, ``sum0``, ...
    """
    rows = plan.table.rows
    a_range = None
    if plan.operand_fmt is not None:
        a_range = (plan.operand_fmt.min_code, plan.operand_fmt.max_code)
    bounds: dict[str, tuple[int, int]] = {}

    def widen(name: str, low: int, high: int) -> None:
        old = bounds.get(name)
        bounds[name] = (low, high) if old is None else (min(old[0], low), max(old[1], high))

    for segment, t_lo, t_hi in _segment_t_ranges(plan, lo, hi):
        def coefficient(k: int, segment: int = segment) -> tuple[int, int]:
            if (segment, k) in plan.table.operand:
                return a_range
            return int(rows[segment][k]), int(rows[segment][k])

        acc = coefficient(plan.table.degree)
        for index, (step, k) in enumerate(zip(plan.horner, range(plan.table.degree - 1, -1, -1))):
            corners = [acc[0] * t_lo, acc[0] * t_hi, acc[1] * t_lo, acc[1] * t_hi]
            low, high = min(corners), max(corners)
            widen(f"product{index}", low, high)
            if step.shift > 0:  # every rounding of a right shift lands between floor and ceiling
                low, high = low >> step.shift, -(-high >> step.shift)
            else:
                low, high = low << -step.shift, high << -step.shift
            c = coefficient(k)
            acc = (low + c[0], high + c[1])
            widen(f"sum{index}", *acc)
    return {name: Range(low, high, exact=False) for name, (low, high) in bounds.items()}


def _segment_t_ranges(plan: Plan, lo: int, hi: int) -> list[tuple[int, int, int]]:
    """``(segment, t_lo, t_hi)`` of every segment that owns codes in ``[lo, hi]``."""
    select = plan.select
    found = []
    if isinstance(select, BitSlice):
        for segment in range(select.segments):
            start = select.base + (segment << select.shift)
            first, last = max(start, lo), min(start + (1 << select.shift) - 1, hi)
            if first <= last:
                found.append((segment, first - start, last - start))
        return found
    for segment in range(select.segments):
        first = max(lo, select.thresholds[segment - 1]) if segment else lo
        last = min(hi, select.thresholds[segment] - 1) if segment < len(select.thresholds) else hi
        if first > last:
            continue
        origin = 0 if select.origins is None else select.origins[segment]
        found.append((segment, first - origin, last - origin))
    return found


def analyze(plan: Plan) -> Widths:
    """The range of every intermediate of ``plan`` over all its input (and operand) codes."""
    if not isinstance(plan, Plan):
        raise TypeError(f"plan must be a hwact.plan.Plan, not {plan!r}")
    single = replace(plan, mirror=False)  # a mirror's second output is the same chain at -x
    codes, everything = _sample_codes(single)
    gated = single.product is not None
    chain = replace(single, product=None, operand_fmt=None, maximum=False) if gated else single
    operand = None
    if chain.operand_fmt is not None:  # every step is monotone in a run-time coefficient
        a_fmt = chain.operand_fmt
        codes, operand = np.repeat(codes, 2), np.tile(np.array([a_fmt.min_code, a_fmt.max_code], np.int64), len(codes))
    found: dict[str, Range] = {}
    for start in range(0, len(codes), _CHUNK):
        part = trace(chain, codes[start:start + _CHUNK], None if operand is None else operand[start:start + _CHUNK])
        for name, values in part.items():
            here = _extremes(values)
            found[name] = here if name not in found else found[name].union(here)
    found["input"] = Range(plan.in_fmt.min_code, plan.in_fmt.max_code)
    if not everything and single.table.degree >= 2:
        widened = False
        for name, bound in _horner_bounds(single, found["folded"].lo, found["folded"].hi).items():
            if bound.lo < found[name].lo or bound.hi > found[name].hi:
                found[name], widened = found[name].union(bound), True
        if widened:  # carry the last sum's bound through the (monotone) steps after it
            found["acc"] = found["acc"].union(found[f"sum{single.table.degree - 1}"])
            found["unfolded"] = found["unfolded"].union(_unfold_bound(single, found["acc"], found["folded"]))
            if not gated:
                for name, bound in _output_ranges(single, found["unfolded"]).items():
                    found[name] = found[name].union(bound)
    factor = gated_range = None
    if gated:
        factor = _factor_range(single)
        acc = found["unfolded"]
        corners = [acc.lo * factor.lo, acc.lo * factor.hi, acc.hi * factor.lo, acc.hi * factor.hi]
        gated_range = Range(min(corners), max(corners), acc.exact and factor.exact)
        found.update(_output_ranges(single, gated_range))
    elif single.maximum:
        a_fmt = single.operand_fmt
        y = found["output"]  # traced with the operand's extremes, so already max(y, a)
        found["output"] = Range(max(y.lo, a_fmt.min_code), max(y.hi, a_fmt.max_code), y.exact)
    degree = single.table.degree
    return Widths(
        input=found["input"], clamped=found["clamped"], folded=found["folded"], t=found["t"],
        products=tuple(found[f"product{i}"] for i in range(degree)),
        sums=tuple(found[f"sum{i}"] for i in range(degree)),
        acc=found["acc"], unfolded=found["unfolded"], factor=factor, gated=gated_range,
        final=found["final"], rounded=found["rounded"], output=found["output"],
    )


def _unfold_bound(plan: Plan, acc: Range, folded: Range) -> Range:
    """A bound of the accumulator after the unfold, from bounds of ``acc`` and ``|x|``."""
    if plan.fold is None:
        return acc
    kind, constant = plan.fold.kind, plan.fold.constant
    if kind == FoldKind.ODD:
        negative = Range(-acc.hi, -acc.lo)
    elif kind == FoldKind.COMPLEMENT:
        negative = Range(constant - acc.hi, constant - acc.lo)
    else:
        negative = Range(acc.lo - (folded.hi << constant), acc.hi)
    return Range(min(acc.lo, negative.lo), max(acc.hi, negative.hi), exact=False)


def _factor_range(plan: Plan) -> Range:
    factor_plan = plan.product.factor_plan
    if factor_plan is None:
        return Range(plan.operand_fmt.min_code, plan.operand_fmt.max_code)
    return analyze(factor_plan).output


def _output_ranges(plan: Plan, acc: Range) -> dict[str, Range]:
    """The output stage's ranges from its accumulator's: every step there is monotone but WRAP."""
    ends = np.array([acc.lo, acc.hi], dtype=np.int64)
    stage, fmt = plan.output, plan.out_fmt
    if stage.shift < 0 and stage.overflow != "WRAP":
        ends = np.clip(ends, (fmt.min_code >> -stage.shift) - 1, (fmt.max_code >> -stage.shift) + 1)
    rounded = shift_round(ends, stage.shift, stage.rounding)
    result = {"final": Range(int(ends[0]), int(ends[1]), acc.exact),
              "rounded": Range(int(rounded[0]), int(rounded[1]), acc.exact)}
    if stage.overflow == "WRAP":
        result["output"] = Range(fmt.min_code, fmt.max_code, exact=False)
    else:
        y = overflow(rounded, fmt, stage.overflow)
        result["output"] = Range(int(y[0]), int(y[1]), acc.exact)
    return result


#: The NumPy model computes in int64 and keeps one bit of headroom (the output stage's rounding
#: adds half an LSB before it shifts): every intermediate must fit this many signed bits.
MODEL_BITS = 63


def model_overflow(plan: Plan, *, traced: bool = True, limit: int = MODEL_BITS) -> tuple[str, int] | None:
    """The first step of ``plan`` wider than ``limit`` signed bits, as ``(name, bits)``; None if all fit.

    Names are those of :meth:`Widths.steps`. The Horner chain is first bounded by interval
    arithmetic in Python integers over every segment (sound, and unable to overflow itself);
    only a plan whose chain fits is then analyzed exactly (``traced``), since a trace that
    left int64 would wrap. ``traced=False`` stops after the bound: the planners' cheap screen
    of a candidate coefficient table, which never calls a plan narrower than :func:`analyze`.
    """
    for name, bound in _horner_bounds(plan, *reach(replace(plan, mirror=False))).items():
        if bound.bits > limit:
            return name, bound.bits
    if traced:
        for name, found in analyze(plan).steps().items():
            if found.bits > limit:
                return name, found.bits
    return None

"""Amaranth versions of the plan primitives, one function per datapath step.

Each mirrors a NumPy function of :mod:`hwact.fixed` / :mod:`hwact.model` expression for
expression, so the model and the hardware agree by construction (and the cocotb proof checks
that they do). Amaranth widens sums and products as needed, so no step here can overflow; the
only narrowing is in :func:`saturate`.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, Value, signed, unsigned

from ..fixed import Fmt

__all__ = ["shape_of", "shift_round", "saturate", "select_segment", "lookup", "column_product"]


def shape_of(fmt: Fmt):
    """The Amaranth shape holding the codes of ``fmt``."""
    return signed(fmt.width) if fmt.signed else unsigned(fmt.width)


def _const(value: int) -> Const:
    """A constant as narrow as possible, signed so that mixing never reinterprets bits."""
    return Const(value, signed(max(value.bit_length(), (~value).bit_length()) + 1))


def shift_round(value: Value, shift: int, rounding: str) -> Value:
    """Divide by ``2**shift`` with the named rounding (left shift when ``shift <= 0``)."""
    value = Value.cast(value)
    if shift <= 0:
        return value << -shift
    half, ones = 1 << (shift - 1), (1 << shift) - 1
    negative = value[-1] if value.shape().signed else Const(0, 1)
    if rounding == "TRN":
        biased = value
    elif rounding == "TRN_ZERO":
        biased = Mux(negative, value + ones, value)
    elif rounding == "RND":
        biased = value + half
    elif rounding == "RND_ZERO":
        biased = Mux(negative, value + half, value + (half - 1))
    elif rounding == "RND_INF":
        biased = Mux(negative, value + (half - 1), value + half)
    elif rounding == "RND_CONV":
        # A tie rounds up only when the bit that will become the LSB is odd.
        biased = value + (half - 1) + value[shift]
    else:
        raise ValueError(f"unknown rounding mode {rounding!r}")
    # Sums of unsigned values stay unsigned; make the shift arithmetic for signed ones.
    return biased >> shift


def saturate(value: Value, fmt: Fmt, mode: str) -> Value:
    """Bring ``value`` into ``fmt``'s range (``SAT``, ``SAT_SYM`` or ``WRAP``)."""
    value = Value.cast(value)
    if mode == "WRAP":
        low_bits = value[:fmt.width]
        return low_bits.as_signed() if fmt.signed else low_bits
    low = -fmt.max_code if (mode == "SAT_SYM" and fmt.signed) else fmt.min_code
    high = fmt.max_code
    clamped = Mux(value > high, high, Mux(value < low, low, value))
    low_bits = clamped[:fmt.width]
    return low_bits.as_signed() if fmt.signed else low_bits


def select_segment(m: Module, x: Value, thresholds: tuple[int, ...], name: str) -> Value:
    """Segment index: how many of the sorted ``thresholds`` are ``<= x``."""
    segment = Signal(range(len(thresholds) + 1), name=name)
    # Thresholds are sorted, so the comparisons form a thermometer code; the last true one wins.
    m.d.comb += segment.eq(0)
    for index, threshold in enumerate(thresholds):
        with m.If(x >= threshold):
            m.d.comb += segment.eq(index + 1)
    return segment


def lookup(m: Module, segment: Value, column: list, name: str) -> Value:
    """The entry of ``column`` at ``segment``; entries are ints or run-time Values."""
    if all(isinstance(c, int) for c in column) and len(set(column)) == 1:
        return _const(column[0])
    widths = [Value.cast(c).shape() if not isinstance(c, int) else _const(c).shape() for c in column]
    width = max(w.width + (0 if w.signed else 1) for w in widths)
    entry = Signal(signed(width), name=name)
    with m.Switch(segment):
        for index, value in enumerate(column[:-1]):
            with m.Case(index):
                m.d.comb += entry.eq(value)
        # The last segment takes every remaining index, so the case is complete.
        with m.Default():
            m.d.comb += entry.eq(column[-1])
    return entry


def _power_of_two(value: int) -> int | None:
    magnitude = abs(value)
    if magnitude and magnitude & (magnitude - 1) == 0:
        return magnitude.bit_length() - 1
    return None


def column_product(m: Module, segment: Value, column: list, x: Value, name: str) -> Value:
    """``column[segment] * x``, without a multiplier when the table holds only 0 and +-2**j.

    ReLU-like plans have slopes of 0 and 1; muxing shifted copies of ``x`` costs a few LUTs
    where a generic product would cost a DSP block.
    """
    constants = [c for c in column if isinstance(c, int)]
    if not all(c == 0 or _power_of_two(c) is not None for c in constants):
        return lookup(m, segment, column, f"{name}_coef") * x
    terms = []
    for c in column:
        if not isinstance(c, int):
            terms.append(c * x)
        elif c == 0:
            terms.append(Const(0, 1))
        else:
            shifted = x << _power_of_two(c)
            terms.append(-shifted if c < 0 else shifted)
    if len(constants) == len(column) and len(set(column)) == 1:
        return terms[0]
    return lookup(m, segment, terms, f"{name}_prod")

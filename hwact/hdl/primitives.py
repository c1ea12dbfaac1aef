"""Amaranth versions of the plan primitives, one function per datapath step.

Each mirrors a NumPy function of :mod:`hwact.fixed` / :mod:`hwact.model` expression for
expression, so the model and the hardware agree by construction (and the cocotb proof checks
that they do). Amaranth widens sums and products as needed, so no step here can overflow; the
only narrowing is in :func:`saturate`.
"""

from __future__ import annotations

from math import ceil, log2

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib.memory import Memory

from ..cost import BLOCK_RAM_MIN_BITS, ROM_MIN_DEPTH
from ..fixed import ROUNDING_BIAS, Fmt, Rounding
from ..plan import FoldKind, is_wiring
from ..widths import Range

__all__ = ["shape_of", "narrow", "shift_round", "saturate", "clamp", "fold", "unfold", "select_segment",
           "compare_thresholds", "encode_thermometer", "bit_slice",
           "lookup", "column_product", "ROM_MIN_DEPTH", "REGISTER_NS", "split_bits", "split_operand",
           "adder_ns", "mux_ns", "rom_ns", "multiplier_ns",
           "select_ns"]

# A delay model of the primitives, in nanoseconds, for placing pipeline registers where the
# delay is (hwact.hdl.unit). The figures are nextpnr-ecp5's timing of an LFE5U-25F (speed 6)
# with typical routing, rounded: a register-to-register path through one MULT18X18D is 7.0 ns
# (0.5 clock-to-out, 1.3 routing in, 3.9 multiplier, 1.3 routing out). Only their ratios matter
# for the placement; bench/fpga.py measures what nextpnr makes of it.
#: One LUT level with its routing.
LUT_NS = 0.9
#: A carry chain: its entry and exit, and per bit (CCU2C cells take two bits).
CARRY_NS, CARRY_BIT_NS = 1.5, 0.04
#: A multiplier in one DSP block (MULT18X18D; an SB_MAC16 on iCE40), routing in and out.
DSP_NS = 5.2
#: Operand bits one DSP block multiplies.
DSP_BITS = 18
#: A block RAM's clock-to-data (DP16KD); its address register is the pipeline register.
BLOCK_RAM_NS = 3.5
#: What routing the address into a block RAM adds to the stage before its registered read.
BLOCK_RAM_SETUP_NS = 2.0
#: What each pipeline stage adds: clock-to-out, routing to the next register, set-up.
REGISTER_NS = 1.8




def shape_of(fmt: Fmt):
    """The Amaranth shape holding the codes of ``fmt``."""
    return signed(fmt.width) if fmt.signed else unsigned(fmt.width)


def narrow(value: Value, span: Range) -> Value:
    """``value``, known to lie in ``span``, in the fewest bits that hold it (unsigned if it can).

    Amaranth sizes every sum and product for the worst case of its operands' shapes; the plan's
    exact ranges (:func:`hwact.widths.analyze`) are narrower, and keeping only the bits they
    need trims multipliers and pipeline registers. Two's complement truncation keeps every
    value of the range intact.
    """
    value = Value.cast(value)
    bits = span.operand_bits
    if bits > len(value) or (bits == len(value) and value.shape().signed == (span.lo < 0)):
        return value
    low_bits = value[:bits]
    return low_bits.as_signed() if span.lo < 0 else low_bits


def _const(value: int) -> Const:
    """A constant as narrow as possible, signed so that mixing never reinterprets bits."""
    return Const(value, signed(max(value.bit_length(), (~value).bit_length()) + 1))


def shift_round(value: Value, shift: int, rounding: str) -> Value:
    """Divide by ``2**shift`` with the named rounding (left shift when ``shift <= 0``)."""
    value = Value.cast(value)
    if shift <= 0:
        return value << -shift
    bias = ROUNDING_BIAS[Rounding(rounding)]  # ValueError for an unknown mode
    non_negative, negative = bias.amounts(shift)

    def plus(amount: int | None) -> Value:
        return value if amount is None else value + amount

    if negative == non_negative:
        biased = plus(non_negative)
    else:
        biased = Mux(value[-1] if value.shape().signed else Const(0, 1), plus(negative), plus(non_negative))
    if bias.plus_kept_lsb:
        # A tie rounds up only when the bit that will become the LSB is odd.
        biased = biased + (value >> shift)[0]  # defined for any shift, as in the model
    # Sums of unsigned values stay unsigned; make the shift arithmetic for signed ones.
    return biased >> shift


def saturate(value: Value, fmt: Fmt, mode: str) -> Value:
    """Bring ``value`` into ``fmt``'s range (``SAT``, ``SAT_SYM`` or ``WRAP``)."""
    value = Value.cast(value)
    if len(value) < fmt.width:  # extend (by sign if signed) before taking the low bits
        value = value + Const(0, signed(fmt.width) if value.shape().signed else unsigned(fmt.width))
    if mode == "WRAP":
        low_bits = value[:fmt.width]
        return low_bits.as_signed() if fmt.signed else low_bits
    low = -fmt.max_code if (mode == "SAT_SYM" and fmt.signed) else fmt.min_code
    high = fmt.max_code
    # A bound the value's shape can never cross needs no comparator (and Verilator flags a
    # comparison that is constant).
    shape = value.shape()
    smallest, largest = (-(1 << (shape.width - 1)), (1 << (shape.width - 1)) - 1) if shape.signed else \
        (0, (1 << shape.width) - 1)
    clamped = value
    if smallest < low:
        clamped = Mux(value < low, low, clamped)
    if largest > high:
        clamped = Mux(value > high, high, clamped)
    low_bits = clamped[:fmt.width]
    return low_bits.as_signed() if fmt.signed else low_bits


def select_segment(m: Module, x: Value, thresholds: tuple[int, ...], name: str) -> Value:
    """Segment index: how many of the sorted ``thresholds`` are ``<= x``."""
    if not thresholds:  # one segment: no comparator, and no zero-width wire in the Verilog
        return Const(0, 1)
    # The comparisons through one named wire: the index bits read each several times, and
    # Amaranth would write an unnamed expression (and the value it compares) out once per read.
    at_least = Signal(len(thresholds), name=f"{name}_ge")
    m.d.comb += at_least.eq(compare_thresholds(x, thresholds))
    return encode_thermometer(m, at_least, name)


def compare_thresholds(x: Value, thresholds: tuple[int, ...]) -> Value:
    """``x >= threshold`` for each of the sorted ``thresholds``, bit ``i`` for threshold ``i`` (a thermometer code)."""
    return Cat(*(x >= threshold for threshold in thresholds))


def encode_thermometer(m: Module, at_least: Value, name: str) -> Value:
    """The index of a thermometer code from :func:`compare_thresholds`: how many bits are set.

    The thresholds are sorted, so segment ``i + 1`` is where bit ``i`` is the last set one. Each
    index bit is an OR of those one-hot edges, a tree of a few LUT levels (a priority chain of
    if-statements would be one multiplexer per threshold).
    """
    count = len(at_least)
    # An expression, not a named wire: consumers read its bits, and a wire would be left unused.
    edges = [at_least[i] & ~at_least[i + 1] for i in range(count - 1)] + [at_least[count - 1]]
    bits = []
    for bit in range(count.bit_length()):
        terms = [edge for index, edge in enumerate(edges) if (index + 1) >> bit & 1]
        bits.append(Cat(*terms).any() if terms else Const(0, 1))
    return Cat(*bits)


def clamp(x: Value, lo: int, hi: int) -> Value:
    """Clip ``x`` to ``[lo, hi]`` (the Clamp primitive); keeps the shape of ``x``."""
    x = Value.cast(x)
    clipped = Mux(x < lo, lo, Mux(x > hi, hi, x))
    low_bits = clipped[:len(x)]
    return low_bits.as_signed() if x.shape().signed else low_bits


def fold(x: Value) -> tuple[Value, Value]:
    """``(x < 0, |x|)``; the magnitude is unsigned and as wide as ``x`` (so |min| fits)."""
    x = Value.cast(x)
    if not x.shape().signed:
        return Const(0, 1), x
    negative = x[-1]
    return negative, Mux(negative, -x, x)[:len(x)]


def unfold(kind: FoldKind, constant: int, acc: Value, magnitude: Value) -> Value:
    """The accumulator of ``-|x|`` from that of ``|x|`` (see :class:`hwact.plan.Fold`)."""
    if kind == FoldKind.ODD:
        return -acc
    if kind == FoldKind.COMPLEMENT:
        return constant - acc
    return acc - (magnitude << constant)


def bit_slice(x: Value, base: int, shift: int, segments: int) -> tuple[Value, Value]:
    """``(segment, t)`` for :class:`hwact.plan.BitSlice`: high and low bits of ``x - base``."""
    offset = Value.cast(x) - base if base else Value.cast(x)
    index_bits = max((segments - 1).bit_length(), 1)
    segment = offset[shift:shift + index_bits]
    t = offset[:shift] if shift else Const(0, 1)
    return segment, t


def lookup(m: Module, segment: Value, column: list, name: str, roms: dict | None = None,
           rom_key: str | None = None, registered: tuple[Value, Value] | None = None) -> Value:
    """The entry of ``column`` at ``segment``; entries are ints or run-time Values.

    Long all-constant columns become a ROM (``lib.memory.Memory``); short ones a multiplexer
    named ``name``. ``roms`` maps a column's ``rom_key`` to its ROM, so lanes share one memory
    (a read port each). When ``segment`` is a pipeline register, ``registered`` gives what it
    is loaded from and its enable: the ROM is then read through a synchronous port addressed by
    that value, whose data register replaces the segment register (the same cycle, the same
    enable, so the same values). That registered read is what iCE40 block RAM needs (it has no
    asynchronous read port), and a large enough ROM read so is marked for block RAM. A short
    column read so is a multiplexer on that value followed by a register: the entry is then
    registered in every case (a constant needs no register).
    """
    if all(isinstance(c, int) for c in column) and len(set(column)) == 1:
        return _const(column[0])
    if roms is not None and len(column) >= ROM_MIN_DEPTH and all(isinstance(c, int) for c in column):
        key = rom_key or name
        shape = signed(max(_const(c).shape().width for c in column))
        if key not in roms:
            # Small registered ROMs stay in LUTs: a whole 4 Kbit block for a few entries is dearer.
            block = registered is not None and len(column) * shape.width >= BLOCK_RAM_MIN_BITS
            attrs = {"ram_style": "block" if block else "logic"} if registered is not None else None
            roms[key] = m.submodules[f"{key}_rom"] = Memory(shape=shape, depth=len(column), init=column, attrs=attrs)
        if registered is not None:
            address, enable = registered
            port = roms[key].read_port(domain="sync")
            m.d.comb += [port.addr.eq(address), port.en.eq(enable)]
        else:
            port = roms[key].read_port(domain="comb")
            m.d.comb += port.addr.eq(segment)
        return port.data
    widths = [Value.cast(c).shape() if not isinstance(c, int) else _const(c).shape() for c in column]
    width = max(w.width + (0 if w.signed else 1) for w in widths)
    if registered is not None:  # a multiplexer on the register's input, then a register
        address, enable = registered
        held = Signal(signed(width), name=f"{name}_q", reset_less=True)
        with m.If(enable):
            m.d.sync += held.eq(choose(m, address, column, signed(width), name))
        return held
    return choose(m, segment, column, signed(width), name)


def choose(m: Module, index, values: list, shape, name: str) -> Signal:
    """``values[index]`` as a multiplexer; the last value takes every remaining index, so the
    case is complete (no latch, no undefined output for an index past the list)."""
    chosen = Signal(shape, name=name)
    with m.Switch(index):
        for position, value in enumerate(values[:-1]):
            with m.Case(position):
                m.d.comb += chosen.eq(value)
        with m.Default():
            m.d.comb += chosen.eq(values[-1])
    return chosen


def _power_of_two(value: int) -> int | None:
    magnitude = abs(value)
    if magnitude and magnitude & (magnitude - 1) == 0:
        return magnitude.bit_length() - 1
    return None


def column_product(m: Module, segment: Value, column: list, x: Value, name: str, roms: dict | None = None,
                   rom_key: str | None = None, registered: tuple[Value, Value] | None = None) -> Value:
    """``column[segment] * x``, without a multiplier when the table holds only 0 and +-2**j.

    ReLU-like plans have slopes of 0 and 1; muxing shifted copies of ``x`` costs a few LUTs
    where a generic product would cost a DSP block.
    """
    constants = [c for c in column if isinstance(c, int)]
    if not all(map(is_wiring, constants)):  # the same rule as CoefTable.needs_multiplier
        return lookup(m, segment, column, name, roms, rom_key, registered) * x
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


#: Operand bits every target's DSP block multiplies (SB_MAC16: 16, signed).
SPLIT_WIDTH = 16


def split_bits(a_bits: int, b_bits: int) -> int:
    """Where to split an ``a_bits``-bit operand of a product with a ``b_bits``-bit one (0: not at all).

    A product wider than one DSP block is two blocks whose partial products Yosys sums in the
    same cycle. Split by hand, the low part is unsigned and one bit narrower than
    :data:`SPLIT_WIDTH` (so a signed DSP operand on every target), and a pipeline register may
    go between the two products and their sum. Only operands up to two blocks wide are split.
    """
    low = SPLIT_WIDTH - 1
    if a_bits <= DSP_BITS or b_bits > SPLIT_WIDTH or a_bits - low > DSP_BITS:
        return 0
    return low


def split_operand(value: Value, low_bits: int) -> tuple[Value, Value]:
    """``(high, low)`` with ``value == high * 2**low_bits + low``; ``low`` unsigned, ``high`` signed if ``value`` is."""
    value = Value.cast(value)
    high = value[low_bits:]
    return (high.as_signed() if value.shape().signed else high), value[:low_bits]


def adder_ns(bits: int) -> float:
    """A ``bits``-bit sum or comparison: one carry chain."""
    return CARRY_NS + CARRY_BIT_NS * bits


def mux_ns(inputs: int) -> float:
    """Choosing one of ``inputs`` values: LUT levels of four-input LUTs (two select bits each)."""
    return LUT_NS * max(1, ceil(log2(max(inputs, 2)) / 2))


def rom_ns(depth: int, block: bool) -> float:
    """Reading a ``depth``-entry ROM: a block RAM's clock-to-data, else a LUT tree."""
    return BLOCK_RAM_NS if block else LUT_NS * max(1, ceil((log2(max(depth, 2)) - 2) / 2))


def multiplier_ns(a_bits: int, b_bits: int) -> float:
    """An ``a_bits`` x ``b_bits`` product: one DSP block, or several whose partial products are summed."""
    blocks = ceil(a_bits / DSP_BITS) * ceil(b_bits / DSP_BITS)
    return DSP_NS if blocks == 1 else DSP_NS + adder_ns(a_bits + b_bits) * ceil(log2(blocks))


def select_ns(bits: int, thresholds: int) -> float:
    """The segment select of :func:`select_segment`: the comparators, then the OR trees of the index bits."""
    if not thresholds:
        return 0.0
    return adder_ns(bits) + LUT_NS + mux_ns(thresholds)

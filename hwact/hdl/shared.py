"""One datapath shared by several units: a CFU's units of one shape answer through the same hardware.

A CFU takes at most one command per cycle, so units that would each own a pipeline (their own
tables, multipliers and registers, idle most of the time) can share one, with the unit's index
carried down the pipeline beside its codes. Two shapes are shared (:func:`share_kind`):

``table``
    Units with inputs of up to :data:`TABLE_INPUT_BITS` bits: one ROM addressed by
    ``(unit, input code)`` holds every unit's output code for every input code, the plan's own
    answer (:func:`hwact.model.evaluate`) whatever its method, read through one registered port
    per lane (block RAM). One stage.
``horner``
    Wider single-operand plans (``pwl``, ``pwl2``, the exact family): one Horner pipeline per
    lane whose coefficient memories are addressed by ``(unit, segment)`` (each unit's rows at its
    own base), one multiplier per Horner step, lower-degree plans padded with zero top
    coefficients and exact (shift 0) steps. Clamp, fold and a bit-slice segment are each unit's
    own primitives (:mod:`hwact.hdl.primitives`), selected by the unit index; a comparator plan's
    segment comes from a block RAM read of its input's bin (:func:`bin_shift`, :func:`bin_rom`) and
    one comparator, not a comparator per threshold; one unfold, rounding and saturation serve every
    unit with its constants selected by the unit index; a degree-1 datapath scales each unit's
    ``t`` so that the products share one rounding shift (:func:`t_scales`), and runs an exact plan
    with its output rounding moved into its step (:func:`normalized`). ``5 + degree`` stages: the
    bin read, the segment registered into the coefficient read, the coefficients and ``t``
    registered, each product (where a DSP block's output register goes), the unfold, the output
    rounding and saturation; a serial datapath's lane leaves out the two registers the core's
    clock needs and the slow parts it is for do not (:func:`shared_stages`).

Sharing never changes an answer: every step computes what the plan's own primitive would, with the
plan's own constants, on the plan's own values (a rewritten plan answers as the original on every
code). It changes latency (the shape's stages) and, for :attr:`SharedDatapath.serial` datapaths
(one lane fed lanes one per cycle), the interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..cost import BLOCK_RAM_MIN_BITS
from ..fixed import ROUNDING_BIAS, Rounding
from ..model import evaluate, offset_bits
from ..plan import BitSlice, FoldKind, HornerStep, OutputStage, Plan
from ..widths import Range, analyze
from . import primitives as prim

__all__ = ["SHARE_KINDS", "TABLE_INPUT_BITS", "SharedDatapath", "share_kind", "shared_resources", "shared_stages"]

#: A ``table`` datapath holds ``2**bits`` entries per unit: up to 8-bit inputs (256 entries).
TABLE_INPUT_BITS = 8
SHARE_KINDS = ("table", "horner")
#: A shared Horner datapath keeps the coefficients of a table of at least this many rows in its
#: memories (one read for every such unit), fewer as constants multiplexed on the segment (the
#: exact family's 3 rows). A unit's own datapath uses hwact.cost.ROM_MIN_DEPTH (16): there a short
#: table is its own multiplexer, here it would be another input of every coefficient multiplexer.
SHARED_ROM_MIN_DEPTH = 4


def share_kind(plan: Plan, stages: int) -> str | None:
    """The shared datapath shape ``plan`` fits (``"table"``, ``"horner"``), or None.

    Only pipelined units (``stages >= 1``) share: a combinational unit answers from the command
    register in the cycle after the handshake, which a shared pipeline cannot. Two-operand,
    gated, maximum and mirror plans keep their own datapath.
    """
    if stages < 1 or plan.operand_fmt is not None or plan.mirror or plan.product is not None or plan.maximum:
        return None
    if plan.in_fmt.width <= TABLE_INPUT_BITS:
        return "table"
    return "horner"


def shared_stages(kind: str, degree: int = 0, serial: bool = False) -> int:
    """Pipeline stages of a shared datapath of shape ``kind`` (and Horner degree): the table read;
    or the bin read (:func:`bin_rom`), the segment into the coefficient read, the coefficients
    registered, one per product, the unfold, the output (``5 + degree``).

    A serial datapath, the small one, keeps ``3 + degree`` (no coefficient and unfold registers):
    every stage of it delays each transfer's lanes, and the parts it is for (the UP5K at 12 MHz)
    meet their clock without them. In a parallel one each register costs latency only; without
    them a block RAM's clock-to-data, the origin subtraction and the first multiplier share a
    cycle, as do the last sum, unfold, rounding and saturation (docs/benchmarks.md).
    """
    if kind == "table":
        return 1
    return 3 + degree if serial else 5 + degree


def bin_shift(plan: Plan, span: Range) -> int | None:
    """The widest bins (``2**shift`` codes of the folded input, from ``span.lo``) of which none holds
    two of ``plan``'s thresholds, or None for a plan without comparators.

    A segment is then the count of thresholds up to the bin's first code, plus one if the bin's one
    threshold is at or below the code: a block RAM read and one comparator of ``shift`` bits
    instead of a comparator per threshold (tanh s4.12's 169, GELU's 43).
    """
    if isinstance(plan.select, BitSlice) or not plan.select.thresholds:
        return None
    inside = [t - span.lo for t in plan.select.thresholds if span.lo < t <= span.hi]
    for shift in range(max(span.hi - span.lo, 1).bit_length(), -1, -1):
        if len({t >> shift for t in inside}) == len(inside):
            return shift
    return 0


def bin_rom(plan: Plan, span: Range, shift: int, base: int, row_bits: int) -> list[int]:
    """The bin entries of ``plan`` (see :func:`bin_shift`): per bin of the folded input ``span``,
    ``row | threshold << row_bits``: the bin's row is its first code's coefficient row (``base`` +
    its segment), its threshold the bin's threshold less the bin's first code. A bin without a
    threshold stores threshold 0 (every code is at or past it) and the row before its own, modulo
    ``2**row_bits``, so one rule serves both: the row read is ``row + (low bits >= threshold)``,
    modulo ``2**row_bits``."""
    thresholds = np.asarray(plan.select.thresholds, dtype=np.int64)
    starts = span.lo + (np.arange(((span.hi - span.lo) >> shift) + 1, dtype=np.int64) << shift)
    counts = np.searchsorted(thresholds, starts, side="right")  # thresholds <= the bin's first code
    # The one threshold strictly inside the bin, if any: the next one after those counted.
    following = np.append(thresholds, np.iinfo(np.int64).max)[counts]
    inside = following < starts + (1 << shift)
    rows = (base + counts - np.where(inside, 0, 1)) & ((1 << row_bits) - 1)
    offsets = np.where(inside, following - starts, 0)
    return [int(v) for v in rows | (offsets << row_bits)]


def _pick(m: Module, unit: Value, values: Sequence, shape, name: str) -> Value:
    """``values[unit]`` as a signal of ``shape`` (one case per unit; the last takes the rest)."""
    if len(values) == 1:
        return Value.cast(values[0])
    if all(value is values[0] for value in values):
        return Value.cast(values[0])
    return prim.choose(m, unit, values, shape, name)


def _shape(span: Range):
    return signed(span.bits) if span.lo < 0 else unsigned(span.operand_bits)


def _union(ranges: Sequence[Range]) -> Range:
    total = ranges[0]
    for span in ranges[1:]:
        total = total.union(span)
    return total


class SharedDatapath(wiring.Component):
    """The units ``plans`` (one shape, :func:`share_kind`) on one datapath.

    Parameters
    ----------
    plans
        The units, in unit-index order; one input width and one output width.
    lanes
        Codes per transfer (1, 2 or 4).
    serial
        One lane of datapath, fed the lanes of a transfer one per cycle (else one per lane).
    short
        The short Horner pipeline (:func:`shared_stages`), as a serial datapath and its lane have.

    Members
    -------
    i : ``In(stream.Signature(StructLayout({"unit": ..., "x": lanes * in_width})))``
        The unit index and the raw input codes, lane 0 in the lowest bits.
    o : ``Out(stream.Signature(lanes * out_width))``
        The raw output codes, lane 0 in the lowest bits.

    Outputs leave in the order transfers were taken, whatever their units.
    """

    def __init__(self, plans: Sequence[Plan], *, lanes: int, serial: bool = False, short: bool = False):
        plans = tuple(plans)
        if not plans:
            raise ValueError("a shared datapath needs at least one plan")
        kinds = {share_kind(plan, 1) for plan in plans}
        if len(kinds) != 1 or None in kinds:
            raise ValueError(f"plans of one shared shape are needed, not {sorted(map(str, kinds))}")
        if len({plan.in_fmt.width for plan in plans}) != 1 or len({plan.out_fmt.width for plan in plans}) != 1:
            raise ValueError("the plans of a shared datapath need one input width and one output width")
        self._kind = kinds.pop()
        if self._kind == "horner":
            plans = tuple(map(normalized, plans))
        self._plans, self._lanes, self._serial = plans, lanes, serial
        self._short = short or serial  # the short pipeline (shared_stages): a serial datapath and its lane
        self._in_bits, self._out_bits = plans[0].in_fmt.width, plans[0].out_fmt.width
        super().__init__({
            "i": In(stream.Signature(data.StructLayout({"unit": range(max(2, len(plans))),
                                                        "x": unsigned(lanes * self._in_bits)}))),
            "o": Out(stream.Signature(unsigned(lanes * self._out_bits))),
        })

    @property
    def kind(self) -> str:
        return self._kind

    @property
    def stages(self) -> int:
        """Pipeline stages of one lane (:func:`shared_stages`)."""
        return shared_stages(self._kind, max(plan.table.degree for plan in self._plans), self._short)

    @property
    def latency(self) -> int:
        """Cycles from a taken transfer to its valid output (as :class:`~hwact.hdl.serial.SerialUnit`
        when serial)."""
        return self._lanes + self.stages + 1 if self._serial else self.stages

    def elaborate(self, platform):
        m = Module()
        if not self._serial:
            self._pipeline(m, self.i, self.o, self._lanes)
            return m
        # Serial: one lane of datapath; a transfer is held while its lanes go in one per cycle.
        lane = SharedDatapath(self._plans, lanes=1, short=True)
        m.submodules.lane = lane
        lanes, w_in, w_out = self._lanes, self._in_bits, self._out_bits
        busy = Signal()
        held_unit = Signal.like(self.i.payload.unit, reset_less=True)
        held_x = Signal.like(self.i.payload.x, reset_less=True)
        fed = Signal(range(lanes + 1))
        got = Signal(range(lanes + 1))
        m.d.comb += self.i.ready.eq(~busy)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [busy.eq(1), held_unit.eq(self.i.payload.unit), held_x.eq(self.i.payload.x)]
        # The held codes shift down one lane per fed lane, so lane 0 is always the next one in.
        m.d.comb += [lane.i.payload.unit.eq(held_unit), lane.i.payload.x.eq(held_x[:w_in]),
                     lane.i.valid.eq(busy & (fed < lanes)), lane.o.ready.eq(1)]
        with m.If(lane.i.valid & lane.i.ready):
            m.d.sync += [fed.eq(fed + 1), held_x.eq(held_x >> w_in)]
        # The outputs shift in from the top, so after `lanes` of them lane 0 is lowest; the output
        # port is that register itself.
        with m.If(lane.o.valid):
            m.d.sync += [got.eq(got + 1), self.o.payload.eq(Cat(self.o.payload[w_out:], lane.o.payload))]
        m.d.comb += self.o.valid.eq(busy & (got == lanes))
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += [busy.eq(0), fed.eq(0), got.eq(0)]
        return m

    def _pipeline(self, m: Module, i, o, lanes: int) -> None:
        """``lanes`` datapaths on one valid chain; the whole pipeline stalls while the output waits."""
        stages = self.stages
        valid = [Signal(name=f"valid_{s}") for s in range(stages - 1)] + [o.valid]
        advance = i.ready
        m.d.comb += advance.eq(~o.valid | o.ready)
        with m.If(advance):
            m.d.sync += valid[0].eq(i.valid)
            m.d.sync += [valid[s].eq(valid[s - 1]) for s in range(1, stages)]
        memories: dict[str, Memory] = {}
        outputs = []
        for lane in range(lanes):
            x = i.payload.x[lane * self._in_bits:(lane + 1) * self._in_bits]
            target = o.payload[lane * self._out_bits:(lane + 1) * self._out_bits]
            if self._kind == "table":  # the read port's data register is the output
                outputs.append(self._table_lane(m, i.payload.unit, x, advance, f"l{lane}", memories))
            else:  # the last register of the lane is its slice of the output port
                self._horner_lane(m, i.payload.unit, x, advance, f"l{lane}", memories, target)
        if outputs:
            m.d.comb += o.payload.eq(Cat(*outputs))

    def _memory(self, m: Module, memories: dict, key: str, column: list[int], shape) -> Memory:
        if key not in memories:
            bits = len(column) * shape.width
            style = "block" if bits >= BLOCK_RAM_MIN_BITS else "logic"
            memories[key] = m.submodules[f"{key}_rom"] = Memory(shape=shape, depth=len(column), init=column,
                                                                attrs={"ram_style": style})
        return memories[key]

    def _table_lane(self, m, unit, x, advance, name, memories):
        """``rom[unit, x]``: the output code of every unit at every input code, read registered."""
        w_in, w_out = self._in_bits, self._out_bits
        if "table" not in memories:
            raw = np.arange(1 << w_in, dtype=np.int64)
            column: list[int] = []
            for plan in self._plans:
                codes = raw - ((raw >> (w_in - 1)) << w_in) if plan.in_fmt.signed else raw
                column += [int(y) & ((1 << w_out) - 1) for y in evaluate(plan, codes)]
            self._memory(m, memories, "table", column, unsigned(w_out))
        port = memories["table"].read_port(domain="sync")
        address = Cat(x, unit[:max(1, (len(self._plans) - 1).bit_length())]) if len(self._plans) > 1 else x
        m.d.comb += [port.addr.eq(address), port.en.eq(advance)]
        return port.data

    def _horner_lane(self, m, unit, raw, advance, name, memories, target):
        plans = self._plans
        degree = max(plan.table.degree for plan in plans)
        widths = [analyze(plan) for plan in plans]

        def has_origins(plan: Plan) -> bool:
            return not isinstance(plan.select, BitSlice) and plan.select.origins is not None

        # Long tables share the coefficient memories, the units with origins first (so the origin
        # memory holds only their rows); a table of a few rows (the exact family's) is a multiplexer
        # of constants on its registered segment, so its wide constants do not widen the memories.
        stored = sorted((index for index, plan in enumerate(plans) if len(plan.table.rows) >= SHARED_ROM_MIN_DEPTH),
                        key=lambda index: not has_origins(plans[index]))
        small = [index for index in range(len(plans)) if index not in stored]
        bases, rows = {}, 0
        for index in stored:
            bases[index], rows = rows, rows + len(plans[index].table.rows)

        # Stage 0: each unit's clamp, fold and segment select on the same code; the unit's own is kept.
        # A folded unit whose clamp straddles zero (lo < 0 <= hi) needs |clip(x, lo, hi)|, which
        # is min(|x|, -lo) for x < 0 and min(x, hi) otherwise: one magnitude and one comparison
        # with the unit's bound serve every such unit (each unit's own clamp and fold would be
        # two comparators, a negation and three multiplexers apiece).
        def bounds(plan: Plan) -> tuple[int, int]:
            clamp = plan.clamp
            return (plan.in_fmt.min_code, plan.in_fmt.max_code) if clamp is None else (clamp.lo, clamp.hi)

        straddle = [plan.fold is not None and plan.in_fmt.signed and bounds(plan)[0] < 0 <= bounds(plan)[1]
                    for plan in plans]
        if any(straddle):
            sign, magnitude = prim.fold(raw.as_signed())
            limits = [Mux(sign, -bounds(plan)[0], bounds(plan)[1]) if shared else Const(0, 1)
                      for plan, shared in zip(plans, straddle)]
            limit = _pick(m, unit, limits, unsigned(self._in_bits + 1), f"{name}_limit")
            clipped = Mux(magnitude > limit, limit, magnitude)[:self._in_bits]
        # Stored comparator plans find their segment from a bin read (bin_shift): their bins share
        # one memory, each unit's at its own base; its entries address the coefficient rows.
        binned = {index: shift for index in stored
                  if (shift := bin_shift(plans[index], widths[index].folded)) is not None}
        bin_bases, bin_rows, bin_column = {}, 0, []
        row_bits = max((bases[index] + len(plans[index].table.rows) - 1).bit_length() for index in binned) \
            if binned else 1
        for index, shift in binned.items():
            entries = bin_rom(plans[index], widths[index].folded, shift, bases[index], row_bits)
            bin_bases[index], bin_rows = bin_rows, bin_rows + len(entries)
            bin_column += entries
        bins, lows = [], []
        scale = t_scales(plans, widths)
        scaled_t = [_scaled(width.t, d) for width, d in zip(widths, scale)]
        folded, negs, addresses, segments, ts = [], [], [], [], []
        for index, (plan, width) in enumerate(zip(plans, widths)):
            if straddle[index]:
                negative, x = sign, clipped
            else:
                x = raw.as_signed() if plan.in_fmt.signed else raw
                if plan.clamp is not None:
                    x = prim.clamp(x, plan.clamp.lo, plan.clamp.hi)
                negative = Const(0, 1)
                if plan.fold is not None:
                    negative, x = prim.fold(x)
            x = prim.narrow(x, width.folded)
            select = plan.select
            if isinstance(select, BitSlice):
                segment, t = prim.bit_slice(x, select.base, select.shift, select.segments)
            elif index in binned:  # the bin of x now, the segment from the bin read next stage
                offset = x - width.folded.lo if width.folded.lo else x
                bins.append(Const(bin_bases[index], range(bin_rows)) + (offset >> binned[index]))
                lows.append(offset[:binned[index]] if binned[index] else Const(0, 1))
                segment, t = Const(0, 1), x
            else:
                segment = prim.select_segment(m, x, select.thresholds, f"{name}_u{index}_seg")
                t = x
            if index not in binned:
                bins.append(Const(0, range(max(bin_rows, 2))))
                lows.append(Const(0, 1))
            folded.append(x)
            negs.append(negative)
            addresses.append(Const(0, 1) if index in binned else
                             Const(bases[index], range(rows)) + segment if bases.get(index) else
                             segment if index in bases else Const(0, 1))
            segments.append(segment if index in small else Const(0, 1))
            own_t = isinstance(select, BitSlice) or select.origins is None  # else t needs the origin (stage 1)
            ts.append(prim.narrow(t, width.t) << scale[index] if own_t else Const(0, 1))
        folded_span = _union([width.folded for width in widths])
        t_spans = [span for plan, span in zip(plans, scaled_t)
                   if isinstance(plan.select, BitSlice) or plan.select.origins is None]
        x0 = _pick(m, unit, folded, _shape(folded_span), f"{name}_x")
        neg0 = _pick(m, unit, negs, 1, f"{name}_neg")
        t0 = _pick(m, unit, ts, _shape(_union(t_spans)) if t_spans else 1, f"{name}_t")
        address = _pick(m, unit, addresses, range(max(rows, 2)), f"{name}_addr") if stored else None
        segment0 = _pick(m, unit, segments, range(max(max(len(plans[i].table.rows) for i in small), 2)),
                         f"{name}_seg") if small else None

        def register(value, shape, what):
            reg = Signal(shape, name=f"{name}_{what}", reset_less=True)
            with m.If(advance):
                m.d.sync += reg.eq(value)
            return reg

        def cut(value, shape, what):  # a register of the long pipeline only (shared_stages)
            return value if self._short else register(value, shape, what)

        # Stage 1: the bin entry of a binned unit, read through a registered port; the rest waits.
        # A binned unit's row is the entry's row, plus one when the code's low bits reach the
        # bin's threshold (modulo 2**row_bits, see bin_rom); any other unit's is its address.
        if binned:
            memory = self._memory(m, memories, "bins", bin_column, unsigned(max(max(bin_column).bit_length(), 1)))
            port = memory.read_port(domain="sync")
            m.d.comb += [port.addr.eq(_pick(m, unit, bins, range(bin_rows), f"{name}_bin")), port.en.eq(advance)]
            low_bits = max(binned.values()) or 1
            low = register(_pick(m, unit, lows, unsigned(low_bits), f"{name}_low"), unsigned(low_bits), "low_b")
        unit = register(unit, unit.shape(), "unit_b")
        x0 = register(x0, x0.shape(), "x_b")
        neg0 = register(neg0, 1, "neg_b")
        t0 = register(t0, t0.shape(), "t_b")
        if small:
            segment0 = register(segment0, segment0.shape(), "seg_b")
        if stored:
            address = register(address, address.shape(), "addr_b")
        if binned:
            row = (port.data[:row_bits] + (low >= port.data[row_bits:]))[:row_bits]
            is_binned = _pick(m, unit, [Const(index in binned, 1) for index in range(len(plans))], 1,
                              f"{name}_binned")
            address = Mux(is_binned, row, address)

        # Stage 2: the coefficient row of (unit, segment), read through registered ports.
        def padded(plan: Plan, k: int) -> list[int]:
            return list(plan.table.column(k)) if k <= plan.table.degree else [0] * len(plan.table.rows)

        def read(key: str, column: list[int]) -> Value:
            memory = self._memory(m, memories, key, column, _shape(Range(min(column), max(column))))
            port = memory.read_port(domain="sync")
            m.d.comb += [port.addr.eq(address), port.en.eq(advance)]
            return port.data

        unit1 = register(unit, unit.shape(), "unit_p0")
        x1 = register(x0, x0.shape(), "x_p0")
        neg1 = register(neg0, 1, "neg_p0")
        t1 = register(t0, t0.shape(), "t_p0")
        segment1 = register(segment0, segment0.shape(), "seg_p0") if small else None
        columns = {}
        for k in range(degree + 1):
            shared = read(f"c{k}", [c for index in stored for c in padded(plans[index], k)]) if stored else None
            if not small:
                columns[k] = shared
                continue
            entries = [shared if index in bases else
                       prim.lookup(m, segment1[:max(1, (len(plans[index].table.rows) - 1).bit_length())],
                                   padded(plans[index], k), f"{name}_u{index}_c{k}")
                       for index in range(len(plans))]
            span = _union([Range(min(padded(plan, k)), max(padded(plan, k))) for plan in plans])
            columns[k] = _pick(m, unit1, entries, _shape(span), f"{name}_c{k}")
        if any(map(has_origins, plans)):
            origin = read("origin", [o for index in stored if has_origins(plans[index])
                                     for o in plans[index].select.origins]) \
                if any(has_origins(plans[index]) for index in stored) else None
            choices = []
            for index, (plan, width) in enumerate(zip(plans, widths)):
                if has_origins(plan):
                    # A short table's origins are constants on its registered segment.
                    own = origin if index in bases else prim.lookup(
                        m, segment1[:max(1, (len(plan.table.rows) - 1).bit_length())], list(plan.select.origins),
                        f"{name}_u{index}_origin")
                    # t is small and non-negative: only its bits (as hwact.hdl.unit does).
                    choices.append(prim.narrow((x1 - own)[:offset_bits(plan)], width.t) << scale[index])
                else:
                    choices.append(t1)
            t1 = _pick(m, unit1, choices, _shape(_union(scaled_t)), f"{name}_t1")

        # The coefficients and t registered, so a block RAM's clock-to-data, the origin subtraction
        # and the unit multiplexers do not share a cycle with the first multiplier (56 MHz without).
        columns = {k: cut(column, Value.cast(column).shape(), f"c{k}_q") for k, column in columns.items()}
        t1 = cut(t1, Value.cast(t1).shape(), "t_q")
        unit1, x1, neg1 = cut(unit1, unit1.shape(), "unit_q"), cut(x1, x1.shape(), "x_q"), cut(neg1, 1, "neg_q")

        # The Horner steps, one multiplier each; a unit of lower degree starts with exact steps on zeros.
        def steps(plan: Plan) -> list[HornerStep]:
            return [HornerStep(0)] * (degree - plan.table.degree) + list(plan.horner)

        def column_span(plan: Plan, k: int) -> Range:
            values = padded(plan, k)
            return Range(min(values), max(values))

        # Each product is registered (a DSP block's output register absorbs it); the rounding
        # shift and the next coefficient follow in the next stage.
        acc, product = columns[degree], None
        unit_s, x_s, neg_s, t_s = unit1, x1, neg1, t1
        for j in range(degree + 1):
            if j:  # finish step j - 1: its rounding shift (the unit's own) and its coefficient
                k = degree - j
                rounded = {}
                keys = [(steps(plan)[j - 1].shift + (scale[index] if j == 1 else 0), steps(plan)[j - 1].rounding)
                        for index, plan in enumerate(plans)]
                for key in keys:
                    if key not in rounded:
                        rounded[key] = prim.shift_round(product, *key)
                shifted = [rounded[key] for key in keys]
                sums = [column_span(plan, k) if j - 1 < degree - plan.table.degree
                        else width.sums[j - 1 - degree + plan.table.degree] for plan, width in zip(plans, widths)]
                acc = prim.narrow(_pick(m, unit_s, shifted, signed(max(len(Value.cast(v)) for v in shifted) + 1),
                                        f"{name}_sr{j - 1}") + columns[k], _union(sums))
            if j == degree:
                break
            products = [Range(0, 0) if j < (pad := degree - plan.table.degree) else
                        _scaled(width.products[j - pad], d if j == 0 else 0)
                        for plan, width, d in zip(plans, widths, scale)]
            product = prim.narrow(acc * t_s, _union(products))
            product = register(product, product.shape(), f"prod{j}_p{j + 1}")
            for c in range(degree - j):  # the coefficients still to add
                columns[c] = register(columns[c], Value.cast(columns[c]).shape(), f"c{c}_p{j + 1}")
            unit_s = register(unit_s, unit_s.shape(), f"unit_p{j + 1}")
            x_s = register(x_s, x_s.shape(), f"x_p{j + 1}")
            neg_s = register(neg_s, 1, f"neg_p{j + 1}")
            t_s = register(t_s, t_s.shape(), f"t_p{j + 1}")

        # The last two stages: one unfold, one rounding per distinct (shift, rounding) and one saturation,
        # their constants picked by unit. Each value is the unit's own (acc, x and neg are in the
        # unit's ranges), so the shared steps compute what the unit's own would (hwact.hdl.primitives
        # step for step); each unit's own steps side by side cost about 100 LUT4 apiece.
        value = Value.cast(acc)
        if any(plan.fold is not None for plan in plans):
            # unfold as first - second: -acc (odd), constant - acc (complement), acc - (|x| << constant).
            firsts, seconds = [], []
            for plan in plans:
                kind = None if plan.fold is None else plan.fold.kind
                firsts.append(acc if kind == FoldKind.MINUS_X else
                              _const(plan.fold.constant) if kind == FoldKind.COMPLEMENT else Const(0, 1))
                seconds.append(x_s << plan.fold.constant if kind == FoldKind.MINUS_X else
                               acc if kind is not None else Const(0, 1))
            first = _pick(m, unit_s, firsts, _widest(firsts), f"{name}_uf_a")
            second = _pick(m, unit_s, seconds, _widest(seconds), f"{name}_uf_b")
            value = Mux(neg_s, first - second, value)
        # The unfolded value registered: the output rounding and saturation are the next stage's
        # (in one stage with the last sum and the unfold: 55 MHz).
        value = cut(value, value.shape(), "v_u")
        unit_s = cut(unit_s, unit_s.shape(), "unit_u")
        rounded = {}
        for plan in plans:
            key = (plan.output.shift, plan.output.rounding)
            if key not in rounded:
                rounded[key] = prim.shift_round(value, *key)
        choices = [rounded[plan.output.shift, plan.output.rounding] for plan in plans]
        y = _pick(m, unit_s, choices, _widest(choices), f"{name}_r")
        y_shape = Value.cast(y).shape()
        smallest = -(1 << (y_shape.width - 1)) if y_shape.signed else 0
        largest = (1 << (y_shape.width - (1 if y_shape.signed else 0))) - 1
        lows, highs = [], []
        for plan in plans:
            fmt, mode = plan.out_fmt, plan.output.overflow
            wrap = mode == "WRAP"
            lows.append(smallest if wrap else -fmt.max_code if mode == "SAT_SYM" and fmt.signed else fmt.min_code)
            highs.append(largest if wrap else fmt.max_code)
        low = _pick(m, unit_s, [_const(v) for v in lows], _widest([_const(v) for v in lows]),
                    f"{name}_lo")
        high = _pick(m, unit_s, [_const(v) for v in highs], _widest([_const(v) for v in highs]),
                     f"{name}_hi")
        if min(lows) > smallest:
            y = Mux(y < low, low, y)
        if max(highs) < largest:
            y = Mux(y > high, high, y)
        with m.If(advance):
            m.d.sync += target.eq(Value.cast(y)[:self._out_bits])


def normalized(plan: Plan) -> Plan:
    """``plan`` with its output rounding moved into its Horner step where that is the same on every
    code: a degree-1 plan whose step is exact (shift 0) and whose constant column holds multiples
    of ``2**s`` (``s`` the output shift) rounds ``c1 * t`` by ``s`` and adds ``c0 >> s``.

    ``shift_round(a + k * 2**s, s, mode) == shift_round(a, s, mode) + k`` for the modes with one
    bias for both signs and no ties-to-even bit (TRN, RND); so the outputs are the same, and the
    accumulator is ``s`` bits narrower. The exact hardsigmoid at s4.12 -> u0.16 (constants at 31
    fraction bits, ``s = 15``) would otherwise widen a shared Horner datapath's adders, rounding and
    saturation to 33 bits. Any other plan is returned as it is.
    """
    out = plan.output
    if (plan.table.degree != 1 or plan.table.operand or plan.fold is not None or plan.product is not None
            or plan.maximum or plan.mirror or plan.horner[0].shift != 0 or out.shift <= 0):
        return plan
    bias = ROUNDING_BIAS[Rounding(out.rounding)]
    if bias.plus_kept_lsb or bias.non_negative != bias.negative:
        return plan
    if any(row[0] % (1 << out.shift) for row in plan.table.rows):
        return plan
    rows = tuple((row[0] >> out.shift, row[1]) for row in plan.table.rows)
    frac_bits = (plan.table.frac_bits[0] - out.shift, plan.table.frac_bits[1])
    return replace(plan, table=replace(plan.table, rows=rows, frac_bits=frac_bits),
                   horner=(HornerStep(out.shift, out.rounding),), output=OutputStage(0, "TRN", out.overflow))


def _scaled(span: Range, shift: int) -> Range:
    return Range(span.lo << shift, span.hi << shift, span.exact)


def t_scales(plans: Sequence[Plan], widths: Sequence) -> list[int]:
    """How far each unit of a degree-1 shared Horner datapath shifts its ``t`` left, so that the
    units' products share fewer rounding shifts (none but the widest, where ``t`` allows).

    ``shift_round(p << d, s + d, mode) == shift_round(p, s, mode)`` for every mode when ``s > 0``
    (the low ``d`` bits of ``p << d`` are zero, and every bias is below ``2**s`` scaled alike), and
    the multiplier makes ``p << d`` from ``t << d`` for free; ``t`` grows to at most the widest
    unit's, so the multiplier does not. Without it each distinct shift is a wide multiplexer input.
    """
    degree = max(plan.table.degree for plan in plans)
    if degree != 1:
        return [0] * len(plans)
    shifts = [plan.horner[0].shift if plan.table.degree else 0 for plan in plans]
    top_shift = max(shifts)
    top_bits = max(_shape(width.t).width for width in widths)
    return [max(0, min(top_shift - shift, top_bits - _shape(width.t).width)) if shift > 0 and plan.table.degree else 0
            for plan, width, shift in zip(plans, widths, shifts)]


def _const(value: int) -> Const:
    """``value`` as a signed constant as narrow as it fits (as hwact.hdl.primitives makes them)."""
    return Const(value, signed(max(value.bit_length(), (~value).bit_length()) + 1))


def _widest(values: Sequence) -> object:
    """A signed shape holding every one of ``values`` (Values or ints)."""
    return signed(max(len(Value.cast(v)) + (0 if Value.cast(v).shape().signed else 1) for v in values))


def shared_resources(plans: Sequence[Plan], lanes: int, serial: bool, target: str) -> dict[str, int]:
    """DSP blocks and block RAMs of the shared datapath of ``plans`` on ``target`` (hwact.cost's rules).

    The memories and multipliers :class:`SharedDatapath` builds: per lane of datapath (one when
    serial) a read port of each memory (a copy on a part with fewer ports) and a multiplier per
    Horner step.
    """
    from ..cost import Table, plan_cost, varying_bits

    plans = tuple(plans)
    kind = share_kind(plans[0], 1)
    copies = 1 if serial else lanes
    if kind == "table":
        raw = np.arange(1 << plans[0].in_fmt.width, dtype=np.int64)
        entries = [int(y) for plan in plans for y in evaluate(
            plan, raw - ((raw >> (plan.in_fmt.width - 1)) << plan.in_fmt.width) if plan.in_fmt.signed else raw)]
        width = plans[0].out_fmt.width
        tables = [Table("table", len(entries), width, varying_bits(entries, width))]
        return {"dsp": 0, "block_ram": replace(plan_cost(plans[0]), tables=tuple(tables)).block_rams(target, copies)}
    plans = tuple(map(normalized, plans))
    degree = max(plan.table.degree for plan in plans)
    stored = [plan for plan in plans if len(plan.table.rows) >= SHARED_ROM_MIN_DEPTH]
    tables = []
    for k in range(degree + 1):
        column = [c for plan in stored for c in (plan.table.column(k) if k <= plan.table.degree
                                                 else [0] * len(plan.table.rows))]
        if column:
            width = _shape(Range(min(column), max(column))).width
            tables.append(Table(f"c{k}", len(column), width, varying_bits(column, width)))
    origins = [o for plan in stored if not isinstance(plan.select, BitSlice) and plan.select.origins is not None
               for o in plan.select.origins]
    if origins:
        width = _shape(Range(min(origins), max(origins))).width
        tables.append(Table("origin", len(origins), width, varying_bits(origins, width)))
    widths = [analyze(plan) for plan in plans]
    binned = _binned(plans, widths)
    if binned:  # the bin memory: entries of the row and the bin's threshold
        depth = sum(((widths[i].folded.hi - widths[i].folded.lo) >> shift) + 1 for i, (shift, _) in binned.items())
        row_bits = max(max(end for _, end in binned.values()) - 1, 1).bit_length()
        bases = {index: end - len(plans[index].table.rows) for index, (_, end) in binned.items()}
        entries = [e for index, (shift, _) in binned.items()
                   for e in bin_rom(plans[index], widths[index].folded, shift, bases[index], row_bits)]
        width = max(max(entries).bit_length(), 1)
        tables.append(Table("bins", depth, width, varying_bits(entries, width)))
    t_bits = _shape(_union([_scaled(width.t, d) for width, d in zip(widths, t_scales(plans, widths))])).width

    def before(plan: Plan, width, j: int) -> Range:  # the accumulator a step multiplies by t
        pad = degree - plan.table.degree
        if j <= pad:  # the (padded) top coefficient: zeros, then the plan's own top column
            column = plan.table.column(plan.table.degree) if j == pad else [0]
            return Range(min(column), max(column))
        return width.sums[j - pad - 1]

    multipliers = [(_shape(_union([before(plan, width, j) for plan, width in zip(plans, widths)])).width, t_bits)
                   for j in range(degree)]
    cost = replace(plan_cost(plans[0]), tables=tuple(tables), multipliers=tuple(multipliers))
    return {"dsp": cost.dsp_blocks(target, copies), "block_ram": cost.block_rams(target, copies)}


def _binned(plans: Sequence[Plan], widths: Sequence) -> dict[int, tuple[int, int]]:
    """``{index: (bin shift, last coefficient row + 1)}`` of the binned units of a shared Horner
    datapath, rows laid out as :class:`SharedDatapath` lays them (stored units, those with origins first)."""
    stored = sorted((index for index, plan in enumerate(plans) if len(plan.table.rows) >= SHARED_ROM_MIN_DEPTH),
                    key=lambda index: isinstance(plans[index].select, BitSlice) or plans[index].select.origins is None)
    binned, row = {}, 0
    for index in stored:
        row += len(plans[index].table.rows)
        shift = bin_shift(plans[index], widths[index].folded)
        if shift is not None:
            binned[index] = (shift, row)
    return binned

"""The activation unit: a plan as a pipelined, multi-lane stream component."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from itertools import combinations

from amaranth.hdl import Const, Module, Mux, Signal, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..cost import BLOCK_RAM_MIN_BITS, origin_rom, plan_cost
from ..layout import LANES, REGISTER_BITS, check_lanes, transfer_layout
from ..model import offset_bits
from ..plan import BitSlice, Plan, is_wiring
from ..widths import analyze, column_bits
from . import primitives as prim

__all__ = ["ActivationUnit", "Step", "StreamUnit", "datapath_steps", "named_operands", "payload_layout",
           "place_registers", "stage_delays", "LANES", "MAX_STAGES", "REGISTER_BITS"]

MAX_STAGES = 16


def payload_layout(plan: Plan, lanes: int) -> data.Layout:
    """Input payload: ``lanes`` input codes, lane 0 in the least significant bits.

    Two-operand plans carry both operands, placed by :func:`hwact.layout.transfer_layout`, so
    a 32-bit ``rs1``/``rs2`` pair maps onto the payload directly: the input lanes low and the
    operand lanes above them (``{a[lanes-1] .. a[0], x[lanes-1] .. x[0]}``): PReLU's slope,
    maxout's second input, or the GLU family's factor ``a`` (``x`` is then the gate input ``b``).
    """
    layout = transfer_layout(plan, lanes)
    arrays = {group.name: data.ArrayLayout(prim.shape_of(group.fmt), group.count) for group in layout.inputs}
    if plan.operand_fmt is None:
        return arrays["x"]
    return data.FlexibleLayout(layout.payload_bits, {
        group.name: data.Field(arrays[group.name], group.payload_offset) for group in layout.inputs})


def named_operands(m: Module, payload, plan: Plan) -> dict:
    """The payload's operand arrays (``x``, and ``a`` for two-operand plans) as named signals.

    Amaranth names a submodule's port after one of that module's signals only when the port's
    bits are exactly that signal's; a two-operand payload is fed from two registers (rs1, rs2),
    so without a signal per field its ports would get synthesized names (``port$N$0``).
    """
    if plan.operand_fmt is None:
        return {"x": payload}
    named = {}
    for field in ("x", "a"):
        view = getattr(payload, field)
        # A plain signal viewed through the layout: a Signal built from the layout itself would
        # also name each element, and unused element wires fail Verilator's -Wall.
        bits = Signal(len(view.as_value()), name=f"i__payload__{field}")
        m.d.comb += bits.eq(view.as_value())
        named[field] = data.View(view.shape(), bits)
    return named


@dataclass(frozen=True)
class Step:
    """One step of a unit's datapath, between two places a pipeline register can go.

    ``run(m, live, name, sync)`` maps live values to live values; ``reads`` names the live
    values it uses, so pipeline registers carry only what later steps need; ``delay`` is its
    estimated combinational delay in ns (:mod:`hwact.hdl.primitives`' delay model). Only the
    table read (``fetch``) takes ``sync``: a pipeline register's enable, when a register sits
    right before it; the read is then registered (a synchronous ROM port, block RAM) and its
    results are that register.
    """

    name: str
    run: Callable
    reads: frozenset
    delay: float


def datapath_steps(plan: Plan, roms: dict, rom_prefix: str = "") -> list[Step]:
    """The datapath as a list of :class:`Step`, each a place a pipeline register may follow.

    Live values: ``x`` (input code, then its clamped magnitude), ``a`` (operand), ``f``
    (gated factor), ``neg`` (fold sign), ``seg``, ``t``, the coefficients ``c0``, ``c1``, ...,
    a product ``p``, ``acc`` and finally ``y``. Every multiplier is a step of its own with
    nothing else in it, so registers before and after it are the DSP block's input and output
    registers. ``roms`` collects the coefficient ROMs, shared between lanes, under
    ``rom_prefix``-ed names.
    """
    degree = plan.table.degree
    select = plan.select
    # Every intermediate is cut to its exact range, so registers and multipliers are as narrow
    # as the values they carry (and as hwact/cost.py counts them).
    widths = analyze(plan)
    cost = plan_cost(plan)

    def column(live, k):
        entries = list(plan.table.column(k))
        for seg, power in plan.table.operand:
            if power == k:
                entries[seg] = live["a"]
        return entries

    # The top coefficient times t is a multiplexer of shifted copies of t when its constants
    # are 0 and powers of two (prim.column_product); otherwise the table entry is read first.
    operand_rows = {seg for seg, power in plan.table.operand if power == degree}
    top_direct = degree > 0 and all(is_wiring(c) for seg, c in enumerate(plan.table.column(degree))
                                    if seg not in operand_rows)
    fetched = [k for k in range(degree + 1) if not (k == degree and top_direct)]
    steps: list[Step] = []

    if plan.product is not None:
        factor_plan = plan.product.factor_plan
        factor_steps = [] if factor_plan is None else datapath_steps(factor_plan, roms, f"{rom_prefix}f_")

        def factor(m, live, name, sync=None):
            # Gated units: the factor operand, through its own plan when it has one (GTU's tanh),
            # read asynchronously within this one step.
            if factor_plan is None:
                return {**live, "f": live["a"]}
            sub = {"x": live["a"]}
            for index, step in enumerate(factor_steps):
                sub = name_live(m, step.run(m, sub, f"{name}_f{index}"), f"{name}_f{index}")
            return {**live, "f": sub["y"]}
        steps.append(Step("factor", factor, frozenset({"a"}), sum(step.delay for step in factor_steps)))

    in_bits = plan.in_fmt.width
    if plan.clamp is not None:
        def clamp(m, live, name, sync=None):
            x = prim.clamp(live["x"], plan.clamp.lo, plan.clamp.hi)
            return {**live, "x": x if plan.fold is not None else prim.narrow(x, widths.folded)}
        # Two comparisons feeding two multiplexers (nextpnr: about as long as two LUT levels more).
        steps.append(Step("clamp", clamp, frozenset({"x"}), prim.adder_ns(in_bits) + 2 * prim.LUT_NS))
    if plan.fold is not None:
        def fold(m, live, name, sync=None):
            negative, magnitude = prim.fold(live["x"])
            return {**live, "x": prim.narrow(magnitude, widths.folded), "neg": negative}
        # A negation whose sign selects it: the sign bit fans out to every bit of the multiplexer.
        steps.append(Step("fold", fold, frozenset({"x"}), prim.adder_ns(in_bits) + 2 * prim.LUT_NS))

    folded_bits = widths.folded.operand_bits
    if isinstance(select, BitSlice):
        def choose(m, live, name, sync=None):
            segment, t = prim.bit_slice(live["x"], select.base, select.shift, select.segments)
            return {**live, "seg": segment, "t": prim.narrow(t, widths.t)}
        steps.append(Step("choose", choose, frozenset({"x"}), prim.adder_ns(folded_bits) if select.base else 0.0))
    else:
        thresholds = select.thresholds
        if thresholds:  # the comparators, then (a register may come between) the index and t
            def compare(m, live, name, sync=None):
                return {**live, "ge": prim.compare_thresholds(live["x"], thresholds)}
            # Many comparators read x: its fan-out costs a routing level.
            steps.append(Step("compare", compare, frozenset({"x"}),
                              prim.adder_ns(folded_bits) + (prim.LUT_NS if len(thresholds) > 8 else 0.0)))

        def choose(m, live, name, sync=None):
            segment = prim.encode_thermometer(m, live["ge"], f"{name}_seg") if thresholds else Const(0, 1)
            return {**live, "seg": segment, "t": prim.narrow(live["x"], widths.t)} if select.origins is None else \
                {**live, "seg": segment}
        steps.append(Step("choose", choose, frozenset({"x", "ge"}),
                          prim.LUT_NS + prim.mux_ns(len(thresholds)) if thresholds else 0.0))
        if select.origins is not None:
            def offset(m, live, name, sync=None):  # t is small and non-negative: keep only its bits
                # Only the origins' low bits reach t (hwact.cost.origin_rom says which are stored).
                entries, shift = origin_rom(plan)
                origin = prim.lookup(m, live["seg"], list(entries), f"{name}_origin", roms, f"{rom_prefix}origin")
                return {**live, "t": prim.narrow((live["x"] - (origin << shift))[:offset_bits(plan)], widths.t)}
            steps.append(Step("offset", offset, frozenset({"x", "seg"}),
                              prim.rom_ns(len(select.origins), False) + prim.adder_ns(folded_bits)))

    def fetch(m, live, name, sync=None):
        # Every coefficient the Horner steps add (and the top one they multiply) from the table.
        # With ``sync`` the reads are registered: ROMs through a synchronous port (block RAM).
        out = dict(live)
        for k in fetched:
            registered = None if sync is None else (live["seg"], sync)
            value = prim.lookup(m, live["seg"], column(live, k), f"{name}_c{k}", roms, f"{rom_prefix}c{k}", registered)
            out["acc" if degree == 0 else f"c{k}"] = value
        return out
    roms_depth = [(table.depth, table.bits >= BLOCK_RAM_MIN_BITS) for table in cost.tables
                  if table.name != "origin" and not table.name.startswith("f_")]
    segments = len(plan.table.column(0))
    delay = max([prim.rom_ns(depth, block) for depth, block in roms_depth] + [prim.mux_ns(segments)])
    steps.append(Step("fetch", fetch, frozenset({"seg", "a"}), delay))

    t_bits = widths.t.operand_bits
    for index, (horner_step, k) in enumerate(zip(plan.horner, range(degree - 1, -1, -1))):
        if k < degree - 1:
            reads, a_bits = {"acc", "t"}, widths.sums[index - 1].operand_bits
        elif top_direct:
            reads, a_bits = {"seg", "t", "a"}, None
        else:
            reads, a_bits = {f"c{degree}", "t"}, column_bits(plan.table.column(degree))
        # A product wider than one DSP block is two, each a step of its own, summed in the next.
        split = a_bits is not None and prim.split_bits(a_bits, t_bits)

        def multiply(m, live, name, sync=None, k=k, index=index, split=split):
            if k < degree - 1:
                operand = live["acc"]
            elif top_direct:
                product = prim.column_product(m, live["seg"], column(live, degree), live["t"], f"{name}_c{degree}")
                if plan.table.needs_multiplier(degree):  # a real multiplier: built once
                    product = prim.narrow(_named(m, product, f"{name}_prod"), widths.products[index])
                return {**live, "p": product}
            else:
                operand = live[f"c{degree}"]
            if split:
                high, low = prim.split_operand(operand, split)
                return {**live, "ph": _named(m, high * live["t"], f"{name}_ph"),
                        "pl": _named(m, low * live["t"], f"{name}_pl")}
            return {**live, "p": prim.narrow(_named(m, operand * live["t"], f"{name}_prod"), widths.products[index])}
        delay = prim.multiplier_ns(a_bits, t_bits) if a_bits is not None and not split else prim.DSP_NS
        if a_bits is None:
            delay = prim.mux_ns(segments) + (prim.DSP_NS if plan.table.needs_multiplier(degree) else 0.0)
        steps.append(Step(f"multiply{index}", multiply, frozenset(reads), delay))
        product_bits = widths.products[index].operand_bits
        if split:
            def combine(m, live, name, sync=None, index=index, split=split):
                product = (live["ph"] << split) + live["pl"]
                return {**live, "p": prim.narrow(_named(m, product, f"{name}_prod"), widths.products[index])}
            steps.append(Step(f"combine{index}", combine, frozenset({"ph", "pl"}), prim.adder_ns(product_bits)))
        if horner_step.shift > 0:
            def round_product(m, live, name, sync=None, horner_step=horner_step):
                return {**live, "p": prim.shift_round(live["p"], horner_step.shift, horner_step.rounding)}
            steps.append(Step(f"round{index}", round_product, frozenset({"p"}), prim.adder_ns(product_bits)))

        def add(m, live, name, sync=None, k=k, index=index, horner_step=horner_step):
            product = live["p"]
            if horner_step.shift <= 0:  # a left shift: wiring (a right shift was rounded in its own step)
                product = prim.shift_round(product, horner_step.shift, horner_step.rounding)
            return {**live, "acc": prim.narrow(product + live[f"c{k}"], widths.sums[index])}
        steps.append(Step(f"add{index}", add, frozenset({"p", f"c{k}"}),
                          prim.adder_ns(widths.sums[index].operand_bits)))

    if plan.fold is not None:
        def unfold(m, live, name, sync=None):
            acc = Mux(live["neg"], prim.unfold(plan.fold.kind, plan.fold.constant, live["acc"], live["x"]), live["acc"])
            # Rounding and saturation read the accumulator several times: a compound value gets a
            # named wire, so the Verilog computes it once (a table entry or a sum is one net already).
            return {**live, "acc": prim.narrow(_named(m, acc, f"{name}_acc"), widths.unfolded)}
        steps.append(Step("unfold", unfold, frozenset({"acc", "neg", "x"}),
                          prim.adder_ns(widths.unfolded.operand_bits) + prim.LUT_NS))

    if plan.product is not None:
        def gate(m, live, name, sync=None):
            acc = prim.narrow(live["acc"], widths.unfolded) * live["f"]
            return {**live, "acc": prim.narrow(_named(m, acc, f"{name}_acc"), widths.gated)}
        steps.append(Step("gate", gate, frozenset({"acc", "f"}),
                          prim.multiplier_ns(widths.unfolded.operand_bits, widths.factor.operand_bits)))

    out = plan.output
    if out.shift > 0:  # the rounding, then (a register may come between) saturation
        def round_step(m, live, name, sync=None):
            rounded = prim.shift_round(live["acc"], out.shift, out.rounding)
            return {**live, "acc": _named(m, prim.narrow(rounded, widths.rounded), f"{name}_rnd")}
        steps.append(Step("round", round_step, frozenset({"acc"}), prim.adder_ns(widths.final.operand_bits)))

    def output(m, live, name, sync=None):
        acc = live["acc"] if out.shift > 0 else prim.shift_round(live["acc"], out.shift, out.rounding)
        y = prim.saturate(acc, plan.out_fmt, out.overflow)
        if plan.maximum:
            y = Mux(y > live["a"], y, live["a"])
        return {"y": y}
    delay = prim.adder_ns(widths.rounded.operand_bits) + prim.LUT_NS + \
        (prim.adder_ns(plan.out_fmt.width) + prim.LUT_NS if plan.maximum else 0.0)
    steps.append(Step("output", output, frozenset({"acc", "a"} if plan.maximum else {"acc"}), delay))
    if any(block for _, block in roms_depth):  # the address reaches the block RAM before the clock edge
        index = next(i for i, step in enumerate(steps) if step.name == "fetch") - 1
        steps[index] = replace(steps[index], delay=steps[index].delay + prim.BLOCK_RAM_SETUP_NS)
    return steps


def place_registers(delays: Sequence[float], stages: int, forced: Sequence[int] = ()) -> list[int]:
    """How many pipeline registers follow each step, placed where the delay is.

    ``delays`` are the steps' estimated delays (ns). With ``stages >= 1`` one register follows
    each step in ``forced`` and one the last step (the unit's outputs are registers; with a
    single stage and a forced place, the forced register wins); the others go after the steps
    that make the longest stage (register to register, :data:`~hwact.hdl.primitives.REGISTER_NS`
    included) as short as it can be, ties broken towards stages of even length. Registers beyond
    one per step follow the last step.
    """
    n = len(delays)
    after = [0] * n
    if not stages:
        return after
    fixed = sorted({*forced, n - 1})
    free = [i for i in range(n - 1) if i not in fixed]
    spare = stages - len(fixed)
    if spare < 0:  # fewer stages than forced places: a registered table read first, then the output
        fixed = [*sorted(forced), n - 1][:stages]
        free, spare = [], 0
    chosen = min(combinations(free, min(spare, len(free))), key=lambda cuts: _stage_delays_key(delays, {*fixed, *cuts}))
    for i in {*fixed, *chosen}:
        after[i] += 1
    after[-1] += max(spare - len(free), 0)
    return after


def stage_delays(delays: Sequence[float], after: Sequence[int]) -> list[float]:
    """The estimated delay of every register-to-register stage (ns), input to output."""
    stages, current = [], 0.0
    for delay, registers in zip(delays, after):
        current += delay
        if registers:
            stages.append(current + prim.REGISTER_NS)
            current = 0.0
            stages += [prim.REGISTER_NS] * (registers - 1)
    if current or not stages:
        stages.append(current + prim.REGISTER_NS)
    return stages


def _stage_delays_key(delays: Sequence[float], cuts: set[int]) -> tuple[float, float]:
    lengths = stage_delays(delays, [1 if i in cuts else 0 for i in range(len(delays))])
    return round(max(lengths), 6), round(sum(d * d for d in lengths), 6)


def name_live(m: Module, live: dict, name: str) -> dict:
    """``live`` with every computed value (not a signal or a constant) through a named wire ``{name}_{key}``.

    Amaranth writes an expression out again wherever it is read, so a value read by several
    later steps (the clamped input read by the fold and by every threshold comparator) would be
    repeated in the Verilog once per reader, and the repeats multiply step after step. A wire
    per step boundary keeps the Verilog as long as the datapath (Yosys merges the wires away).
    """
    named = {}
    for key, value in live.items():
        if isinstance(value, Value) and not isinstance(value, (Signal, Const)):
            wire = Signal(value.shape(), name=f"{name}_{key}")
            m.d.comb += wire.eq(value)
            value = wire
        named[key] = value
    return named


def _named(m: Module, value, name: str) -> Signal:
    """``value`` through a named wire, so the Verilog computes it once however often it is read.

    A signal (a pipeline register) is one net already and is returned as it is: a wire copying
    it would be an unused alias once Yosys merges the two.
    """
    if isinstance(value, Signal):
        return value
    value = Value.cast(value)
    wire = Signal(value.shape(), name=name)
    m.d.comb += wire.eq(value)
    return wire


class StreamUnit(wiring.Component):
    """What every unit shares: a plan, ``lanes`` codes per transfer, ``stages`` pipeline
    registers, and the stream interface ``i`` / ``o`` they define (checked before the object exists)."""

    def __new__(cls, plan: Plan, *, lanes: int = 1, stages: int = 0, **kwargs):
        # Checked before the object exists, so a refused unit is never reported as "created but never used".
        cls._check(plan, lanes, stages)
        return super().__new__(cls, plan, lanes=lanes, stages=stages, **kwargs)

    def __init__(self, plan: Plan, *, lanes: int = 1, stages: int = 0):
        self._plan, self._lanes, self._stages = plan, lanes, stages
        super().__init__({
            "i": In(stream.Signature(payload_layout(plan, lanes))),
            "o": Out(stream.Signature(data.ArrayLayout(prim.shape_of(plan.out_fmt), lanes * plan.outputs))),
        })

    @staticmethod
    def _check(plan: Plan, lanes: int, stages: int) -> None:
        if not isinstance(plan, Plan):
            raise TypeError(f"plan must be a hwact.plan.Plan, not {plan!r}")
        if lanes not in LANES:
            raise ValueError(f"lane count must be one of {', '.join(map(str, LANES))}, not {lanes!r}")
        if not isinstance(stages, int) or isinstance(stages, bool) or not 0 <= stages <= MAX_STAGES:
            raise ValueError(f"stage count must be an integer in 0..{MAX_STAGES}, not {stages!r}")
        check_lanes(plan, lanes)

    @property
    def plan(self) -> Plan:
        return self._plan

    @property
    def lanes(self) -> int:
        return self._lanes

    @property
    def stages(self) -> int:
        return self._stages


class ActivationUnit(StreamUnit):
    """Evaluate a :class:`~hwact.plan.Plan` on a stream of input codes.

    Parameters
    ----------
    plan
        The datapath to build.
    lanes
        Codes processed per transfer: 1, 2 or 4.
    stages
        Pipeline registers; 0 makes the unit combinational.

    Members
    -------
    i : ``In(stream.Signature(payload_layout(plan, lanes)))``
        Input codes (and operands for two-operand functions).
    o : ``Out(stream.Signature(data.ArrayLayout(out_shape, lanes)))``
        Output codes, one per lane, lane 0 in the least significant bits.

    A pipelined unit accepts one transfer per cycle while ``o.ready`` is high and holds its
    output stable while it is low (the whole pipeline stalls).
    """

    @property
    def latency(self) -> int:
        """Cycles from an accepted input to its output (0 when combinational)."""
        return self._stages

    @property
    def throughput(self) -> int:
        """Transfers accepted per cycle without back-pressure."""
        return 1

    def register_after(self) -> list[int]:
        """How many pipeline registers follow each step of :func:`datapath_steps` (see :func:`place_registers`).

        When the plan has a table for block RAM, one register goes right before the table read,
        so the table is read through a registered port; the rest go where the delay is.
        """
        steps = datapath_steps(self._plan, roms={})
        forced = [_table_step(self._plan, steps)] if self._stages and _table_step(self._plan, steps) is not None else []
        return place_registers([step.delay for step in steps], self._stages, [i for i in forced if i is not None])

    @property
    def stage_delays(self) -> list[float]:
        """Estimated delay of each register-to-register stage, in ns (the model of :mod:`hwact.hdl.primitives`)."""
        steps = datapath_steps(self._plan, roms={})
        return stage_delays([step.delay for step in steps], self.register_after())

    def elaborate(self, platform):
        m = Module()
        steps = datapath_steps(self._plan, roms={})  # one set of ROMs for every lane: a read port each
        after = self.register_after()
        # The output ports are the last registers only when the last step is followed by one.
        output_registered = bool(after[-1])
        needed_after = [set().union(*(step.reads for step in steps[i + 1:])) | {"y"} for i in range(len(steps))]

        # One valid bit per stage; the whole pipeline advances when the output can move.
        # i.ready doubles as the pipeline enable (a separate signal would be folded away by Yosys
        # and left dangling in the Verilog). The last stage's registers are the output ports
        # themselves, so no register is left as an unused alias of a port.
        valid = [Signal(name=f"valid_{s}") for s in range(self._stages - 1)] + [self.o.valid][:self._stages]
        advance = self.i.ready
        if self._stages:
            m.d.comb += advance.eq(~self.o.valid | self.o.ready)
            with m.If(advance):
                m.d.sync += valid[0].eq(self.i.valid)
                m.d.sync += [valid[s].eq(valid[s - 1]) for s in range(1, self._stages)]
        else:
            m.d.comb += [self.i.ready.eq(self.o.ready), self.o.valid.eq(self.i.valid)]

        plan = self._plan
        operands = named_operands(m, self.i.payload, plan)
        datapaths = []  # (output lane, name, initial live values)
        for lane in range(self._lanes):
            live = {name: operands[name][lane] for name in operands}
            if plan.mirror:  # CReLU: the same datapath again at -x, saturated into the input format
                negated = prim.saturate(-Value.cast(live["x"]), plan.in_fmt, "SAT")
                datapaths += [(2 * lane, f"l{lane}", live), (2 * lane + 1, f"l{lane}m", {**live, "x": negated})]
            else:
                datapaths.append((lane, f"l{lane}", live))

        def register(live, keep, stage, lane, prefix, held=frozenset()):
            """Pipeline register ``stage`` for the values in ``keep``; those in ``held`` are registers already."""
            registered, by_value = {}, {}
            for key, value in live.items():
                if key not in keep:
                    continue
                if key in held or isinstance(value, Const):
                    registered[key] = value
                    continue
                if id(value) in by_value:  # one register for a value live under two names (t is x)
                    registered[key] = by_value[id(value)]
                    continue
                if stage == self._stages - 1 and output_registered:  # only "y" is live after the last step
                    reg = self.o.payload[lane]
                else:
                    reg = Signal(Value.cast(value).shape(), name=f"{prefix}_{key}_p{stage}", reset_less=True)
                with m.If(advance):
                    m.d.sync += reg.eq(value)
                registered[key] = by_value[id(value)] = reg
            return registered

        for lane, prefix, live in datapaths:
            stage = 0
            # A register right before the table read moves into it: the read is registered
            # (a synchronous ROM port, block RAM) and the other live values are registered beside it.
            absorbed = None
            for index, step in enumerate(steps):
                name = f"{prefix}_s{index}"
                if index == absorbed:
                    before = set(live)
                    live = name_live(m, step.run(m, live, name, advance), name)
                    live = register(live, needed_after[index], stage, lane, prefix, frozenset(set(live) - before))
                    stage += 1
                else:
                    live = name_live(m, step.run(m, live, name), name)
                registers = after[index]
                if registers and index + 1 < len(steps) and steps[index + 1].name == "fetch":
                    registers, absorbed = registers - 1, index + 1
                for _ in range(registers):
                    live = register(live, needed_after[index], stage, lane, prefix)
                    stage += 1
            if not output_registered:
                m.d.comb += self.o.payload[lane].eq(live["y"])
        return m


def _table_step(plan: Plan, steps: list) -> int | None:
    """The index of the step before the table read, if a table of ``plan`` belongs in block RAM.

    The factor plan of a gated unit is evaluated inside one step, so its tables are read
    asynchronously and do not count here.
    """
    if not any(table.bits >= BLOCK_RAM_MIN_BITS and not table.name.startswith("f_")
               for table in plan_cost(plan).tables):
        return None
    return next(index for index, step in enumerate(steps) if step.name == "fetch") - 1

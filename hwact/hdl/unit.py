"""The activation unit: a plan as a pipelined, multi-lane stream component."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..cost import BLOCK_RAM_MIN_BITS, origin_rom, plan_cost
from ..layout import LANES, REGISTER_BITS, check_lanes, transfer_layout
from ..model import offset_bits
from ..plan import BitSlice, Plan
from ..widths import analyze
from . import primitives as prim

__all__ = [
    "ActivationUnit", "StreamUnit", "datapath_steps", "named_operands", "payload_layout", "LANES", "MAX_STAGES",
    "REGISTER_BITS",
]

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


def datapath_steps(plan: Plan, roms: dict, rom_prefix: str = "", registers: dict | None = None) -> list:
    """The datapath as a list of ``(step, reads)``; each step maps live values to live values.

    Live values: ``x`` (input code, then its clamped magnitude), ``a`` (operand), ``f``
    (gated factor), ``neg`` (fold sign), ``seg``, ``t``, ``acc`` and finally ``y``. ``reads``
    names what a step uses, so pipeline registers carry only what later steps need. ``roms``
    collects the coefficient ROMs, shared between lanes, under ``rom_prefix``-ed names.
    ``registers`` maps ``id`` of each pipeline register to ``(what it loads, its enable)``: a
    table read whose segment is such a register becomes a registered (synchronous) ROM read.
    """
    registers = {} if registers is None else registers

    def source(segment):  # the registered-read address of a segment, if it is a pipeline register
        return registers.get(id(segment))
    degree = plan.table.degree
    select = plan.select
    # Every intermediate is cut to its exact range, so registers and multipliers are as narrow
    # as the values they carry (and as hwact/cost.py counts them).
    widths = analyze(plan)

    def column(live, k):
        entries = list(plan.table.column(k))
        for seg, power in plan.table.operand:
            if power == k:
                entries[seg] = live["a"]
        return entries

    def factor(m, live, name):
        # Gated units: the factor operand, through its own plan when it has one (GTU's tanh).
        factor_plan = plan.product.factor_plan
        if factor_plan is None:
            return {**live, "f": live["a"]}
        sub = {"x": live["a"]}
        for index, (step, _) in enumerate(datapath_steps(factor_plan, roms, f"{rom_prefix}f_")):
            sub = step(m, sub, f"{name}_f{index}")
        return {**live, "f": sub["y"]}

    def prepare(m, live, name):
        x = live["x"]
        if plan.clamp is not None:
            x = prim.clamp(x, plan.clamp.lo, plan.clamp.hi)
        if plan.fold is None:
            return {**live, "x": prim.narrow(x, widths.folded)}
        negative, magnitude = prim.fold(x)
        return {**live, "x": prim.narrow(magnitude, widths.folded), "neg": negative}

    def choose(m, live, name):
        x = live["x"]
        if isinstance(select, BitSlice):
            segment, t = prim.bit_slice(x, select.base, select.shift, select.segments)
        else:
            segment = prim.select_segment(m, x, select.thresholds, f"{name}_seg")
            t = x
            if select.origins is not None:  # t is small and non-negative: keep only its bits
                # Only the origins' low bits reach t (hwact.cost.origin_rom says which are stored).
                entries, shift = origin_rom(plan)
                origin = prim.lookup(m, segment, list(entries), f"{name}_origin", roms, f"{rom_prefix}origin")
                t = (x - (origin << shift))[:offset_bits(plan)]
        return {**live, "seg": segment, "t": prim.narrow(t, widths.t)}

    def horner(k, step):
        def run(m, live, name):
            if k == degree - 1:  # first step: the top coefficient comes straight from the table
                product = prim.column_product(m, live["seg"], column(live, degree), live["t"],
                                              f"{name}_c{degree}", roms, f"{rom_prefix}c{degree}", source(live["seg"]))
            else:
                product = live["acc"] * live["t"]
            index = degree - 1 - k
            if k < degree - 1 or plan.table.needs_multiplier(degree):  # a real multiplier: built once
                product = prim.narrow(_named(m, product, f"{name}_prod"), widths.products[index])
            low = prim.lookup(m, live["seg"], column(live, k), f"{name}_c{k}", roms, f"{rom_prefix}c{k}",
                              source(live["seg"]))
            total = prim.shift_round(product, step.shift, step.rounding) + low
            return {**live, "acc": prim.narrow(total, widths.sums[index])}
        return run

    def output(m, live, name):
        if degree:
            acc = live["acc"]
        else:
            acc = prim.lookup(m, live["seg"], column(live, 0), f"{name}_c0", roms, f"{rom_prefix}c0",
                              source(live["seg"]))
        if plan.fold is not None:
            acc = Mux(live["neg"], prim.unfold(plan.fold.kind, plan.fold.constant, acc, live["x"]), acc)
        # Rounding and saturation read the accumulator several times: a compound value gets a
        # named wire, so the Verilog computes it once (a table entry or a sum is one net already).
        if plan.product is not None:
            acc = prim.narrow(acc, widths.unfolded) * live["f"]
            acc = prim.narrow(_named(m, acc, f"{name}_acc"), widths.gated)
        elif plan.fold is not None:
            acc = prim.narrow(_named(m, acc, f"{name}_acc"), widths.unfolded)
        out = plan.output
        y = prim.saturate(prim.shift_round(acc, out.shift, out.rounding), plan.out_fmt, out.overflow)
        if plan.maximum:
            y = Mux(y > live["a"], y, live["a"])
        return {"y": y}

    steps = [(factor, {"a"})] if plan.product is not None else []
    if plan.clamp is not None or plan.fold is not None:
        steps.append((prepare, {"x", "a", "f"}))
    steps.append((choose, {"x", "a", "neg", "f"}))
    steps += [(horner(k, step), {"seg", "t", "acc", "a", "x", "neg", "f"})
              for step, k in zip(plan.horner, range(degree - 1, -1, -1))]
    steps.append((output, {"acc", "neg", "x", "f"} | (set() if degree and not plan.maximum else {"seg", "a"})))
    return steps


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

    def _register_after(self, n_steps: int, table_step: int | None = None) -> list[int]:
        """How many pipeline registers follow each step (spread evenly, output first).

        ``table_step`` is the step after which the segment index is known, when the plan has a
        table for block RAM: one register is then placed right after it (moved from the next
        register down the pipeline), so the table is read through a registered port.
        """
        after = [0] * n_steps
        for i in range(min(self._stages, n_steps)):
            after[round((i + 1) * n_steps / min(self._stages, n_steps)) - 1] += 1
        after[-1] += max(self._stages - n_steps, 0)
        if table_step is not None and self._stages and not after[table_step]:
            later = next(i for i in range(table_step, n_steps) if after[i])
            after[later] -= 1
            after[table_step] += 1
        return after

    def elaborate(self, platform):
        m = Module()
        registers: dict[int, tuple[Value, Value]] = {}  # id(pipeline register) -> (its input, enable)
        steps = datapath_steps(self._plan, roms={}, registers=registers)
        after = self._register_after(len(steps), _table_step(self._plan, steps))
        # The output ports are the last registers only when the last step is followed by one.
        output_registered = bool(after[-1])
        needed_after = [set().union(*(reads for _, reads in steps[i + 1:])) | {"y"} for i in range(len(steps))]

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
        for lane, prefix, live in datapaths:
            stage = 0
            for index, (step, _) in enumerate(steps):
                live = step(m, live, f"{prefix}_s{index}")
                for _ in range(after[index]):
                    registered, by_value = {}, {}
                    for key, value in live.items():
                        if key not in needed_after[index]:
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
                        registers[id(reg)] = (value, advance)
                        registered[key] = by_value[id(value)] = reg
                    live = registered
                    stage += 1
            if not output_registered:
                m.d.comb += self.o.payload[lane].eq(live["y"])
        return m


def _table_step(plan: Plan, steps: list) -> int | None:
    """The index of the step that finds the segment, if a table of ``plan`` belongs in block RAM.

    The factor plan of a gated unit is evaluated inside one step, so its tables are read
    asynchronously and do not count here.
    """
    if not any(table.bits >= BLOCK_RAM_MIN_BITS and not table.name.startswith("f_")
               for table in plan_cost(plan).tables):
        return None
    return next(index for index, (step, _) in enumerate(steps) if step.__name__ == "choose")

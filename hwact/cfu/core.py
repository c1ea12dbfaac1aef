"""The CFU: activation units behind the VexRiscv CfuPlugin bus, and behind PicoRV32's PCPI.

Bus (docs/isa.md): one command (``function_id``, ``inputs_0`` = rs1, ``inputs_1`` =
rs2) per handshake, one 32-bit response per command, in command order.

Inside :class:`Cfu`::

    cmd --> command register --+--> pipelined unit k (stages >= 1) --+
       (+ skid; the function   |         ...                         +--> response mux --> response
        id decoded on entry)   +--> direct ops: combinational units, |    (head of the      register
                                    discovery word, unknown ids -----+     order FIFO, or    (+ skid) --> rsp
                                                                           the direct op)

Every dispatch into a pipelined unit pushes the unit's index into an order FIFO; the response
is always the output of the unit at the FIFO's head, so responses leave in command order
whatever the latencies. A direct op answers from the command register only when nothing is
in flight. Units not at the head are stalled (their ``o.ready`` is low), so nothing is lost.
Every bus output is a register (``cmd_ready`` is the command skid's emptiness, the response
is the response register), so the CFU puts no combinational path between the core's bus
outputs and its inputs; this costs one cycle of latency (the response register) per op.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..hdl.serial import SerialUnit
from ..hdl.shared import SharedDatapath, share_kind, shared_stages
from ..hdl.unit import MAX_STAGES, ActivationUnit
from ..layout import check_lanes, transfer_layout
from ..plan import Plan
from ..requant import PerChannel, Requant
from .config import FUNCTION_ID_BITS, InstructionFields

__all__ = ["CFU_VERSION", "CUSTOM_0", "DISCOVERY_MAGIC", "Cfu", "CfuOp", "CfuPcpi", "discovery_word", "group_name",
           "shared_groups"]

#: Upper half of the discovery word: ASCII "HW".
DISCOVERY_MAGIC = 0x4857
#: Version of the bus behaviour and the discovery word's layout.
CFU_VERSION = 1
#: The custom-0 major opcode (inst[6:0]).
CUSTOM_0 = 0b0001011


def _is(value: Value, constant: int) -> Value:
    """``value == constant``, written so that Yosys does not emit ``!value`` on a vector for 0."""
    return ~value.any() if constant == 0 else value == constant


def discovery_word(n_units: int) -> int:
    """``magic << 16 | version << 8 | number of units``."""
    if not 0 <= n_units <= 255:
        raise ValueError(f"unit count must be in 0..255, not {n_units!r}")
    return DISCOVERY_MAGIC << 16 | CFU_VERSION << 8 | n_units


@dataclass(frozen=True)
class CfuOp(InstructionFields):
    """One unit as the CFU sees it: its function id and how to build it.

    A ``serial`` op builds one lane of datapath and feeds it the lanes of a command one per
    cycle (:class:`~hwact.hdl.serial.SerialUnit`): a quarter of the multipliers and block RAM
    read ports of four lanes, at a lower throughput (:attr:`interval`).
    """

    function_id: int
    name: str
    plan: Plan
    lanes: int
    stages: int
    #: A fused requantize + activation op (hwact.cfu.requant): rs1 is an int32 accumulator (rs2 the channel).
    requant: Requant | PerChannel | None = None
    serial: bool = False
    #: Answer through the CFU's shared datapath of the op's shape, if it has one (hwact.hdl.shared).
    share: bool = False

    @property
    def shared(self) -> str | None:
        """The shared datapath shape this op answers through (``table``, ``horner``), or None."""
        if not self.share or self.requant is not None:
            return None
        return share_kind(self.plan, self.stages)

    @property
    def pipeline_stages(self) -> int:
        """Stages of the datapath the op answers through: its own, or its shared datapath's."""
        return self.stages if self.shared is None else shared_stages(self.shared, self.plan.table.degree, self.serial)

    @property
    def latency(self) -> int:
        """Cycles from the command handshake to a valid response, with nothing else in flight: the
        command register, the datapath, the response register."""
        stages = self.pipeline_stages
        return 2 + (self.lanes + stages + 1 if self.serial else stages)

    @property
    def interval(self) -> int:
        """Cycles between commands to this op back to back, responses taken every cycle."""
        return self.lanes + self.pipeline_stages + 2 if self.serial else 1

    @property
    def capacity(self) -> int:
        """Commands the op can hold at once (what the order FIFO must have room for)."""
        return 1 if self.serial else self.pipeline_stages

    @property
    def group(self) -> tuple | None:
        """Ops with the same group share one datapath (None: the op has its own)."""
        if self.shared is None:
            return None
        degree = self.plan.table.degree if self.shared == "horner" else 0
        return (self.shared, self.lanes, self.serial, self.plan.in_fmt.width, self.plan.out_fmt.width, degree)


class _UnitsBehindABus(wiring.Component):
    """What :class:`Cfu` and :class:`CfuPcpi` share: the ops, the discovery id, the unknown answer."""

    def __new__(cls, ops: Sequence[CfuOp], *, discovery_id: int = 1023, unknown_value: int = 0, **kwargs):
        # Checked before the object exists, so a refused CFU is never reported as "created but never used".
        _check(ops, discovery_id, unknown_value)
        return super().__new__(cls, ops, discovery_id=discovery_id, unknown_value=unknown_value, **kwargs)

    def __init__(self, ops: Sequence[CfuOp], signature: dict, *, discovery_id: int, unknown_value: int):
        self._ops = tuple(ops)
        self._discovery_id = discovery_id
        self._unknown_value = unknown_value
        super().__init__(signature)

    @property
    def ops(self) -> tuple[CfuOp, ...]:
        return self._ops

    @property
    def discovery_id(self) -> int:
        return self._discovery_id

    @property
    def discovery_value(self) -> int:
        return discovery_word(len(self._ops))

    @property
    def unknown_value(self) -> int:
        return self._unknown_value


class Cfu(_UnitsBehindABus):
    """Activation units behind the CFU bus of VexRiscv's CfuPlugin (CFU-Playground, LiteX).

    Parameters
    ----------
    ops
        The units and their function ids (distinct, 0..1023).
    discovery_id
        The function id that answers :func:`discovery_word`.
    unknown_value
        The 32-bit answer of every id without a unit.

    Members
    -------
    cmd_valid, cmd_ready, cmd_payload_function_id, cmd_payload_inputs_0, cmd_payload_inputs_1 : In/Out
        The command stream; its values are used only in the handshake cycle.
    rsp_valid, rsp_ready, rsp_payload_outputs_0 : Out/In
        The response stream; a response stays unchanged until taken.

    The members carry the bus's port names as they are, so the Verilog drops into a
    ``--cpu-cfu`` slot without a wrapper. The clock and the (synchronous, active-high)
    reset are the ``sync`` domain's, exported as ``clk`` and ``reset``.
    """

    def __init__(self, ops: Sequence[CfuOp], *, discovery_id: int = 1023, unknown_value: int = 0):
        super().__init__(ops, {
            "cmd_valid": In(1),
            "cmd_ready": Out(1),
            "cmd_payload_function_id": In(FUNCTION_ID_BITS),
            "cmd_payload_inputs_0": In(32),
            "cmd_payload_inputs_1": In(32),
            "rsp_valid": Out(1),
            "rsp_ready": In(1),
            "rsp_payload_outputs_0": Out(32),
        }, discovery_id=discovery_id, unknown_value=unknown_value)

    def latency(self, function_id: int) -> int:
        """Cycles from the command handshake to a valid response, with nothing else in flight."""
        for op in self._ops:
            if op.function_id == function_id:
                return op.latency
        return 2

    @property
    def fifo_depth(self) -> int:
        """Entries of the order FIFO: the most transfers one pipelined unit holds, and one more.

        Responses leave in order, one per cycle, so with the response taken every cycle no more
        than the deepest unit's transfers are ever in flight; a smaller FIFO only holds commands
        back (it never loses one), a larger one would cost registers and nothing else."""
        return _fifo_depth(self._ops)

    def elaborate(self, platform):
        m = Module()
        _build(m, self._ops, self._discovery_id, self._unknown_value, self)
        return m


def shared_groups(ops: Sequence[CfuOp]) -> dict[tuple, list[int]]:
    """The indices of the ops answering through each shared datapath, by :attr:`CfuOp.group`."""
    groups: dict[tuple, list[int]] = {}
    for index, op in enumerate(ops):
        if op.group is not None:
            groups.setdefault(op.group, []).append(index)
    return groups


def group_name(op: CfuOp) -> str:
    """The name of the shared datapath ``op`` answers through (its module name in the Verilog)."""
    kind = f"horner{op.plan.table.degree}" if op.shared == "horner" else op.shared
    return f"shared_{kind}_{op.plan.in_fmt.width}_{op.plan.out_fmt.width}x{op.lanes}{'_serial' if op.serial else ''}"


def _fifo_depth(ops: Sequence[CfuOp]) -> int:
    return max((op.capacity for op in ops if op.stages), default=0) + 1


def _check(ops: Sequence[CfuOp], discovery_id: int, unknown_value: int) -> None:
    """Raise unless the ops, their function ids and the unknown value make a CFU."""
    ops = tuple(ops)
    for op in ops:
        if not isinstance(op, CfuOp):
            raise TypeError(f"CFU ops must be CfuOp, not {op!r}")
        if not isinstance(op.plan, Plan):
            raise TypeError(f"plan of op {op.name!r} must be a hwact.plan.Plan, not {op.plan!r}")
        check_lanes(op.plan, op.lanes)
        if op.requant is not None:
            from ..requant import check_fusable

            check_fusable(op.plan, op.lanes)
        if not isinstance(op.stages, int) or isinstance(op.stages, bool) or not 0 <= op.stages <= MAX_STAGES:
            raise ValueError(f"stage count of op {op.name!r} must be an integer in 0..{MAX_STAGES}, not {op.stages!r}")
        if op.serial and op.stages < 1:
            raise ValueError(f"serial op {op.name!r} needs at least one pipeline stage, not {op.stages!r}")
        if op.serial and op.requant is not None:
            raise ValueError(f"op {op.name!r}: a fused requantize op cannot be serial")
    ids = [op.function_id for op in ops] + [discovery_id]
    for value in ids:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1 << FUNCTION_ID_BITS:
            raise ValueError(f"function id must be an integer in 0..1023, not {value!r}")
    if len(set(ids)) != len(ids):
        raise ValueError(f"function ids must be distinct (discovery id included), not {ids}")
    if not isinstance(unknown_value, int) or isinstance(unknown_value, bool) or not 0 <= unknown_value < 1 << 32:
        raise ValueError(f"unknown value must be a 32-bit unsigned integer, not {unknown_value!r}")


def _build(m: Module, ops: tuple[CfuOp, ...], discovery_id: int, unknown_value: int, bus) -> None:
    """Add the CFU's logic to ``m``, on the bus signals of ``bus`` (a :class:`Cfu`, or a wrapper's).

    :class:`CfuPcpi` builds the same logic into its own module, so its Verilog holds no
    dangling aliases of a submodule's bus ports.

    Every bus output is a register and no bus input reaches another bus output, so the CFU
    adds no combinational path to the core it sits beside: ``cmd_ready`` is "the command skid
    register is empty", ``rsp_valid`` and ``rsp_payload_outputs_0`` are the response register,
    and ``rsp_ready`` only moves that register and its skid. Inside, the order FIFO's head is a
    register (one bit per responder), so the response multiplexer and the units' pipeline
    enables are a few LUT levels from registers.
    """
    n_ops = len(ops)
    # What the command register needs to know about a function id, decoded before it is registered:
    # one bit per op, then the discovery id (an id matching none of them is unknown).
    def decode(fid: Value) -> Value:
        return Cat(*(_is(fid, op.function_id) for op in ops), _is(fid, discovery_id))

    # The command register and its skid: the bus's values are valid only in the handshake cycle.
    # cmd_ready is the skid's emptiness (a register); a command arriving while the command
    # register cannot move waits in the skid, so one command per cycle still goes through.
    c_valid = Signal()
    c_dec = Signal(n_ops + 1, reset_less=True)
    c_in0 = Signal(32, reset_less=True)
    c_in1 = Signal(32, reset_less=True)
    s_valid = Signal(name="skid_valid")
    s_dec = Signal(n_ops + 1, reset_less=True, name="skid_dec")
    s_in0 = Signal(32, reset_less=True, name="skid_in0")
    s_in1 = Signal(32, reset_less=True, name="skid_in1")
    taken = Signal()  # the command register's content leaves this cycle
    m.d.comb += bus.cmd_ready.eq(~s_valid)
    incoming = [decode(bus.cmd_payload_function_id), bus.cmd_payload_inputs_0, bus.cmd_payload_inputs_1]
    with m.If(~c_valid | taken):
        with m.If(s_valid):
            m.d.sync += [c_valid.eq(1), c_dec.eq(s_dec), c_in0.eq(s_in0), c_in1.eq(s_in1), s_valid.eq(0)]
        with m.Else():
            m.d.sync += [c_valid.eq(bus.cmd_valid), c_dec.eq(incoming[0]), c_in0.eq(incoming[1]),
                         c_in1.eq(incoming[2])]
    with m.Elif(bus.cmd_valid & ~s_valid):
        m.d.sync += [s_valid.eq(1), s_dec.eq(incoming[0]), s_in0.eq(incoming[1]), s_in1.eq(incoming[2])]
    selected = []
    for index, op in enumerate(ops):
        sel = Signal(name=f"sel_{op.name}")
        m.d.comb += sel.eq(c_valid & c_dec[index])
        selected.append(sel)

    # The response register and its skid: `space` (a register) is what the inside sees as ready.
    r_valid, r_data = bus.rsp_valid, bus.rsp_payload_outputs_0
    answer_valid = Signal(name="answer_valid")  # a response is offered to the response register
    answer = Signal(32, name="answer")
    if isinstance(bus.rsp_ready, Const) and bus.rsp_ready.value == 1:
        # PCPI takes every response at once: the response register alone, always with space
        # (no constant term, which Yosys would leave as an unused wire).
        def with_space(value):
            return value
        room, accept = Const(1), answer_valid
        m.d.sync += [r_valid.eq(answer_valid), r_data.eq(answer)]
    else:
        q_valid = Signal(name="rsp_skid_valid")
        q_data = Signal(32, reset_less=True, name="rsp_skid_data")
        space = Signal(name="rsp_space")
        m.d.comb += space.eq(~q_valid)

        def with_space(value):
            return value & space
        room, accept = space, Signal(name="answer_taken")
        with m.If(~r_valid | bus.rsp_ready):
            m.d.sync += [r_valid.eq(q_valid | answer_valid), r_data.eq(Mux(q_valid, q_data, answer)),
                         q_valid.eq(0)]
        with m.Elif(accept):
            m.d.sync += [q_valid.eq(1), q_data.eq(answer)]
        m.d.comb += accept.eq(answer_valid & space)

    # Responders: an op's own unit, or one shared datapath for every op of a group (hwact.hdl.shared).
    groups = shared_groups(ops)
    responders: list[list[int]] = []  # op indices per pipelined responder, in op order
    for index, op in enumerate(ops):
        if op.group is not None:
            if groups[op.group][0] == index:
                responders.append(groups[op.group])
        elif op.stages:
            responders.append([index])

    # The order FIFO: a shift register of one-hot responder entries, the oldest in entry 0, so
    # "responder k is at the head" is bit k of a register.
    depth = _fifo_depth(ops)
    width = max(1, len(responders))
    order = [Signal(width, name=f"order_{i}", reset_less=False) for i in range(depth)]
    used = [Signal(name=f"order_used_{i}") for i in range(depth)]
    push, pop = Signal(), Signal()
    full = used[-1]
    empty = Signal()
    m.d.comb += empty.eq(~used[0])

    pushes, direct_ops, answers, dispatches = [], [], [], []
    units = {}
    for index, op in enumerate(ops):
        if op.group is not None:
            continue
        if op.requant is not None:  # rs1 is an int32 accumulator (hwact.cfu.requant)
            from .requant import RequantUnit

            unit = RequantUnit(op.plan, op.requant, stages=op.stages)
            m.submodules[op.name] = unit
            m.d.comb += unit.i.payload.eq(Cat(c_in0, c_in1))
        else:
            unit = (SerialUnit if op.serial else ActivationUnit)(op.plan, lanes=op.lanes, stages=op.stages)
            m.submodules[op.name] = unit
            # The payload is rs1's fields with rs2's directly above them (hwact.layout).
            layout = transfer_layout(op.plan, op.lanes)
            registers = {"rs1": c_in0, "rs2": c_in1}
            m.d.comb += unit.i.payload.eq(Cat(*(registers[group.register][:group.bits] for group in layout.inputs)))
        units[index] = unit
        if not op.stages:  # combinational: answers straight from the command register when it is its turn
            m.d.comb += [unit.i.valid.eq(selected[index] & empty), unit.o.ready.eq(room)]
            direct_ops.append((selected[index], Value.cast(unit.o.payload)))
    for slot, members in enumerate(responders):
        first = ops[members[0]]
        if first.group is not None:
            unit = SharedDatapath([ops[i].plan for i in members], lanes=first.lanes, serial=first.serial)
            name = group_name(first)
            m.submodules[name] = unit
            for position, i in enumerate(members):
                with m.If(c_dec[i]):
                    m.d.comb += unit.i.payload.unit.eq(position)
            m.d.comb += unit.i.payload.x.eq(c_in0[:first.lanes * first.plan.in_fmt.width])
        else:
            name, unit = first.name, units[members[0]]
        chosen = Cat(*(selected[i] for i in members)).any()
        at_head = order[0][slot]  # entries are zero when unused
        m.d.comb += [unit.i.valid.eq(chosen & (~full | pop)), unit.o.ready.eq(with_space(at_head))]
        fire = Signal(name=f"fire_{name}")
        m.d.comb += fire.eq(unit.i.valid & unit.i.ready)
        dispatches.append(fire)
        pushes.append((fire, slot))
        answers.append((at_head & unit.o.valid, at_head, Value.cast(unit.o.payload)))

    pushed = Cat(*(fire for fire, _ in pushes)) if pushes else Const(0, width)  # one-hot
    for i in range(depth):
        last = i + 1 == depth
        later_used = Const(0) if last else used[i + 1]
        later = Const(0, width) if last else order[i + 1]
        # Where the pushed entry lands: the first free entry once the pop (if any) has shifted.
        # (Written without constant operands, which Yosys would fold and leave as unused wires.)
        lands = Mux(pop, used[i] if last else used[i] & ~used[i + 1], ~used[i] & used[i - 1] if i else ~used[i])
        with m.If(push & lands):
            m.d.sync += [order[i].eq(pushed), used[i].eq(1)]
        with m.Elif(pop):
            m.d.sync += [order[i].eq(later), used[i].eq(later_used)]

    is_discovery = c_dec[n_ops]
    known = c_dec[:n_ops].any() if ops else Const(0)
    direct_ops.append((c_valid & is_discovery, Const(discovery_word(len(ops)), 32)))
    direct_ops.append((c_valid & ~is_discovery & ~known, Const(unknown_value, 32)))

    direct = Signal()  # the command register holds a direct op, and nothing is in flight
    m.d.comb += direct.eq(empty & Cat(*(sel for sel, _ in direct_ops)).any())

    m.d.comb += push.eq(Cat(*(fire for fire, _ in pushes)).any() if pushes else Const(0))

    # The answer: an AND-OR of the head unit's output (the head bits are one-hot registers) and
    # the direct ops (only when nothing is in flight, so never both).
    direct_value = Signal(32)
    for sel, value in direct_ops:
        with m.If(sel):
            m.d.comb += direct_value.eq(value)
    terms = [Mux(at_head, value, 0) for _, at_head, value in answers] + [Mux(direct, direct_value, 0)]
    m.d.comb += answer_valid.eq(Cat(*(valid for valid, _, _ in answers), direct).any())
    combined = Const(0, 32)
    for term in terms:
        combined = combined | term
    m.d.comb += answer.eq(combined)
    m.d.comb += pop.eq(accept & ~empty)
    m.d.comb += taken.eq(Cat(*dispatches, with_space(direct)).any())


class CfuPcpi(_UnitsBehindABus):
    """The same units behind PicoRV32's Pico Co-Processor Interface (PCPI).

    A custom-0 instruction (``pcpi_insn[6:0] == 0001011``) is decoded into the CFU's function
    id (``funct7 << 3 | funct3``) and issued once; ``pcpi_wait`` stays high until the
    response, which is returned with ``pcpi_ready`` and ``pcpi_wr`` for one cycle. Other
    instructions are left to the core (and its own MUL/DIV co-processors). PicoRV32 holds
    ``pcpi_valid``, ``pcpi_insn`` and the operands stable until ``pcpi_ready``, and drops
    ``pcpi_valid`` in the cycle after, so an instruction is issued exactly once.

    Parameters
    ----------
    ops, discovery_id, unknown_value
        As for :class:`Cfu`.

    Members
    -------
    pcpi_valid, pcpi_insn, pcpi_rs1, pcpi_rs2 : In
        From the core.
    pcpi_wr, pcpi_rd, pcpi_wait, pcpi_ready : Out
        To the core.
    """

    def __init__(self, ops: Sequence[CfuOp], *, discovery_id: int = 1023, unknown_value: int = 0):
        super().__init__(ops, {
            "pcpi_valid": In(1),
            "pcpi_insn": In(32),
            "pcpi_rs1": In(32),
            "pcpi_rs2": In(32),
            "pcpi_wr": Out(1),
            "pcpi_rd": Out(32),
            "pcpi_wait": Out(1),
            "pcpi_ready": Out(1),
        }, discovery_id=discovery_id, unknown_value=unknown_value)

    def elaborate(self, platform):
        m = Module()
        # The CFU bus on this module's own signals (no alias wires are left for the linter):
        # the operands and the result pass straight through, the response is always taken.
        cfu = SimpleNamespace(
            cmd_valid=Signal(name="cmd_valid"), cmd_ready=Signal(name="cmd_ready"),
            cmd_payload_function_id=Cat(self.pcpi_insn[12:15], self.pcpi_insn[25:32]),
            cmd_payload_inputs_0=self.pcpi_rs1, cmd_payload_inputs_1=self.pcpi_rs2,
            rsp_valid=self.pcpi_ready, rsp_ready=Const(1), rsp_payload_outputs_0=self.pcpi_rd)
        _build(m, self._ops, self._discovery_id, self._unknown_value, cfu)
        issued = Signal()  # the command went out; waiting for its response
        ours = self.pcpi_wait
        m.d.comb += [
            ours.eq(self.pcpi_valid & (self.pcpi_insn[:7] == CUSTOM_0)),
            cfu.cmd_valid.eq(ours & ~issued),
            self.pcpi_wr.eq(self.pcpi_ready),
        ]
        with m.If(cfu.cmd_valid & cfu.cmd_ready):
            m.d.sync += issued.eq(1)
        with m.Elif(self.pcpi_ready):
            m.d.sync += issued.eq(0)
        return m

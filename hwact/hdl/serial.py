"""A multi-lane unit built from one lane of datapath: the lanes of a transfer take turns.

On a small FPGA a lane of a smooth function costs a multiplier, a block RAM read port (an
iCE40 SB_RAM40_4K has one) and the LUTs around them; four lanes cost four times that. A
:class:`SerialUnit` has the same ports and answers as :class:`~hwact.hdl.unit.ActivationUnit`
with the same ``lanes``, but feeds the lanes of a transfer one per cycle into a single-lane
unit and collects their outputs: the datapath (multipliers, ROM read ports) is built once, and
the unit accepts a new transfer every :attr:`SerialUnit.interval` cycles instead of every cycle.
"""

from __future__ import annotations

from amaranth.hdl import Array, Module, Signal

from ..plan import Plan
from .unit import ActivationUnit, StreamUnit, named_operands

__all__ = ["SerialUnit"]


class SerialUnit(StreamUnit):
    """Evaluate a :class:`~hwact.plan.Plan` on ``lanes`` codes per transfer, one lane per cycle.

    Parameters
    ----------
    plan
        The datapath to build (once).
    lanes
        Codes per transfer: 1, 2 or 4.
    stages
        Pipeline registers of the single-lane datapath (at least 1).

    Members
    -------
    i, o
        As :class:`~hwact.hdl.unit.ActivationUnit` with the same plan and lanes.

    A transfer is taken when the unit is empty; its lanes enter the datapath on the next
    ``lanes`` cycles, and the output is valid :attr:`latency` cycles after the transfer was taken
    and held until taken. The unit holds one transfer at a time.
    """

    def __new__(cls, plan: Plan, *, lanes: int = 1, stages: int = 1, **kwargs):
        return super().__new__(cls, plan, lanes=lanes, stages=stages, **kwargs)

    def __init__(self, plan: Plan, *, lanes: int = 1, stages: int = 1):
        super().__init__(plan, lanes=lanes, stages=stages)

    @staticmethod
    def _check(plan: Plan, lanes: int, stages: int) -> None:
        StreamUnit._check(plan, lanes, stages)
        if stages < 1:
            raise ValueError(f"a serial unit needs at least one pipeline stage, not {stages!r}")

    @property
    def latency(self) -> int:
        """Cycles from an accepted transfer to its output: one to capture it, one per lane to
        feed it, the datapath's stages for the last lane, one to collect it."""
        return self._lanes + self._stages + 1

    @property
    def interval(self) -> int:
        """Cycles between transfers taken back to back (the output taken as soon as it is valid)."""
        return self.latency + 1

    @property
    def throughput(self) -> float:
        """Transfers accepted per cycle without back-pressure."""
        return 1 / self.interval

    def elaborate(self, platform):
        m = Module()
        plan, lanes = self._plan, self._lanes
        m.submodules.lane = lane = ActivationUnit(plan, lanes=1, stages=self._stages)

        busy = Signal()  # a transfer is held (being fed, in the datapath, or waiting to be taken)
        held = Signal.like(self.i.payload, reset_less=True)
        fed = Signal(range(lanes + 1))  # lanes sent into the datapath
        got = Signal(range(lanes + 1))  # lanes collected
        result = Signal.like(self.o.payload, reset_less=True)

        operands = named_operands(m, self.i.payload, plan)
        m.d.comb += self.i.ready.eq(~busy)
        with m.If(self.i.valid & self.i.ready):
            if plan.operand_fmt is None:
                m.d.sync += [busy.eq(1), held.eq(operands["x"])]
            else:
                m.d.sync += [busy.eq(1), held.x.eq(operands["x"]), held.a.eq(operands["a"])]

        # Lane `fed` of the held transfer goes in; the datapath's single lane is lane 0.
        if plan.operand_fmt is None:
            m.d.comb += lane.i.payload[0].eq(Array(held[k] for k in range(lanes))[fed])
        else:
            m.d.comb += [lane.i.payload.x[0].eq(Array(held.x[k] for k in range(lanes))[fed]),
                         lane.i.payload.a[0].eq(Array(held.a[k] for k in range(lanes))[fed])]
        m.d.comb += lane.i.valid.eq(busy & (fed < lanes))
        with m.If(lane.i.valid & lane.i.ready):
            m.d.sync += fed.eq(fed + 1)

        # Every lane in flight has its slot in `result`, so the datapath never waits.
        m.d.comb += lane.o.ready.eq(1)
        with m.If(lane.o.valid):
            m.d.sync += got.eq(got + 1)
            outputs = plan.outputs
            for k in range(lanes):
                with m.If(got == k):
                    m.d.sync += [result[k * outputs + j].eq(lane.o.payload[j]) for j in range(outputs)]

        m.d.comb += [self.o.valid.eq(busy & (got == lanes)), self.o.payload.eq(result)]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += [busy.eq(0), fed.eq(0), got.eq(0)]
        return m

"""What a plan costs in hardware, generic and on a target FPGA (iCE40 UP5K, ECP5).

:func:`plan_cost` returns a :class:`Cost`: the plan's tables, multipliers and comparators as the
HDL builds them (:mod:`hwact.hdl.unit`), and figures derived from them. The planner's figure of
merit (:attr:`Cost.cost`, table bits plus multiplier and comparator area) does not depend on the
target, so every plan, and every proof of it, is the same whatever the target. The target decides
what the tables and the multipliers become:

``generic``
    Every table is logic, every multiplier partial-product bits.
``ice40``
    A table of at least :data:`BLOCK_RAM_MIN_BITS` read through a registered port is an
    SB_RAM40_4K (4 Kbit, 256x16 .. 2048x2, one read port: a lane needs its own copy); a
    multiplier up to 16x16 is one SB_MAC16.
``ecp5``
    Such a table is a DP16KD (18 Kbit, 1024x18 .. 16384x1 or 512x36 with one port; two read
    ports, so two lanes share a copy up to 18 bits wide); a multiplier up to 18x18 is one
    MULT18X18D.

An asynchronous read (a unit without a pipeline stage before its table) always becomes logic:
iCE40 block RAM has no asynchronous read port, and on ECP5 hwact keeps the rule the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil
from typing import Any

from .plan import BitSlice, Plan
from .widths import analyze, column_bits

__all__ = ["BLOCK_RAM_MIN_BITS", "ROM_MIN_DEPTH", "TARGETS", "Cost", "Table", "plan_cost", "check_target",
           "origin_rom", "varying_bits"]

#: Targets the cost knows.
TARGETS = ("generic", "ice40", "ecp5")

#: Coefficient columns with at least this many segments become ROMs (lib.memory), not multiplexers.
ROM_MIN_DEPTH = 16

#: A registered ROM this large goes to block RAM (the ``ram_block`` attribute the HDL sets on it);
#: a smaller one stays in LUTs, where it costs less than a whole 4 Kbit block.
BLOCK_RAM_MIN_BITS = 512

#: Block RAM shapes (depth, width) each target's primitive offers for one read port.
_BRAM_SHAPES = {
    "ice40": ((256, 16), (512, 8), (1024, 4), (2048, 2)),
    "ecp5": ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1)),
}
#: Read ports per block RAM (ECP5's DP16KD is true dual-port up to 18 bits wide).
_BRAM_READ_PORTS = {"ice40": 1, "ecp5": 2}
#: The widest operands one DSP block multiplies (SB_MAC16, MULT18X18D).
_DSP_WIDTH = {"ice40": 16, "ecp5": 18}
#: LUT4s per DSP block and per block RAM in the target-aware figure of merit: what the part
#: has of one over what it has of the other (UP5K: 5,280 LCs / 8 DSPs / 30 EBR; LFE5U-25F:
#: 24,288 LUT4 / 28 multipliers / 56 EBR), so a scarce block weighs what its share of the part does.
_WEIGHT = {"ice40": {"dsp": 5280 / 8, "bram": 5280 / 30}, "ecp5": {"dsp": 24288 / 28, "bram": 24288 / 56}}


def check_target(target: str) -> str:
    """Return ``target`` if the cost knows it, else raise a one-line ``ValueError``."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    return target


@dataclass(frozen=True)
class Table:
    """One ROM of a lane's datapath: a coefficient column (``c0``, ``c1``, ...) or the origins."""

    name: str
    depth: int
    width: int
    #: Bits of an entry that differ between entries, what synthesis stores (yosys drops a bit
    #: column that is the same in every entry); None: all ``width``.
    stored: int | None = None

    @property
    def bits(self) -> int:
        return self.depth * self.width

    def in_block_ram(self, registered: bool) -> bool:
        """Whether synthesis puts this table in block RAM (the HDL's ``ram_block`` rule)."""
        return registered and self.bits >= BLOCK_RAM_MIN_BITS

    def block_rams(self, target: str) -> int:
        """Block RAMs holding one copy of this table on ``target`` (0 for ``generic``)."""
        if target not in _BRAM_SHAPES:
            return 0
        stored = self.width if self.stored is None else self.stored
        blocks = min(ceil(self.depth / depth) * ceil(stored / width) for depth, width in _BRAM_SHAPES[target])
        if target == "ice40":
            # Yosys packs a ROM deeper than 256 entries densely across SB_RAM40_4Ks: each holds
            # every entry of floor(4096 / depth) of its bits (a 598 x 21 table in four, not the six
            # of the best single shape); up to 256 entries it uses 256 x 16 blocks. Measured on every
            # table of the up5k and default CFUs (yowasp yosys synth_ice40).
            if 256 < self.depth <= 4096:
                blocks = min(blocks, ceil(stored / (4096 // self.depth)))
        return blocks


@dataclass(frozen=True)
class Cost:
    """A plan's hardware, per lane: what the HDL builds and what auto compares plans by.

    ``multipliers`` lists one ``(a_bits, b_bits)`` per multiplier of one lane, exactly those the
    HDL instantiates (a product by 0 or a power of two is wiring and not listed), each operand as
    wide as :func:`hwact.widths.analyze` finds it. ``tables`` lists the ROMs (coefficient columns
    of at least :data:`ROM_MIN_DEPTH` segments); shorter columns are multiplexers, counted in
    ``table_bits`` like the ROMs. ``cost`` is the planner's figure of merit: table bits, plus a
    multiplier's partial-product bits, plus a comparator per threshold (one LUT per input bit).
    """

    table_bits: int
    segments: int
    comparators: int
    multipliers: tuple[tuple[int, int], ...]
    tables: tuple[Table, ...]
    in_bits: int
    cost: int

    def dsp_blocks(self, target: str, lanes: int = 1) -> int:
        """DSP blocks of ``lanes`` lanes on ``target`` (0 for ``generic``)."""
        if target not in _DSP_WIDTH:
            return 0
        width = _DSP_WIDTH[target]
        return lanes * sum(ceil(a / width) * ceil(b / width) for a, b in self.multipliers)

    def block_rams(self, target: str, lanes: int = 1, registered: bool = True) -> int:
        """Block RAMs of ``lanes`` lanes on ``target``: one copy of a table per read port the part lacks."""
        if target not in _BRAM_SHAPES:
            return 0
        total = 0
        for table in self.tables:
            if table.in_block_ram(registered):
                ports = _BRAM_READ_PORTS[target] if table.width <= 18 else 1
                total += table.block_rams(target) * ceil(lanes / ports)
        return total

    def logic_table_bits(self, target: str, registered: bool = True) -> int:
        """Table bits left in LUTs on ``target`` (all of them for ``generic``)."""
        if target not in _BRAM_SHAPES:
            return self.table_bits
        return self.table_bits - sum(t.bits for t in self.tables if t.in_block_ram(registered))

    def figure(self, target: str = "generic", registered: bool = True) -> float:
        """The figure of merit on ``target``, for one lane, in LUT4 equivalents (bits for ``generic``).

        On a part, table bits in logic and comparator bits count as LUTs would, and a DSP block or
        a block RAM as the share of the part it is (:data:`_WEIGHT`): on a UP5K a comparator is
        dear and a 4 Kbit table in block RAM cheap.
        """
        check_target(target)
        if target == "generic":
            return float(self.cost)
        weight = _WEIGHT[target]
        return (self.logic_table_bits(target, registered) / 16 + self.comparators * self.in_bits
                + self.dsp_blocks(target) * weight["dsp"] + self.block_rams(target, 1, registered) * weight["bram"])

    def to_dict(self, *, lanes: int = 1, stages: int = 0) -> dict[str, Any]:
        """The JSON a manifest carries: the plan's own figures, and per target what ``lanes``
        lanes of a unit with ``stages`` pipeline registers use (DSP blocks, block RAMs)."""
        registered = stages > 0
        return {
            "table_bits": self.table_bits,
            "segments": self.segments,
            "comparators": self.comparators,
            "multipliers": [list(m) for m in self.multipliers],
            "tables": [{"name": t.name, "depth": t.depth, "width": t.width} for t in self.tables],
            "cost": self.cost,
            "targets": {target: {"dsp": self.dsp_blocks(target, lanes),
                                 "block_ram": self.block_rams(target, lanes, registered),
                                 "logic_table_bits": self.logic_table_bits(target, registered),
                                 "figure": round(self.figure(target, registered), 1)}
                        for target in TARGETS if target != "generic"},
        }


def varying_bits(values, width: int) -> int:
    """How many bits of the ``width``-bit two's complement ``values`` are not the same in every one."""
    mask = (1 << width) - 1
    ones, zeros = mask, mask
    for value in values:
        ones &= int(value) & mask
        zeros &= ~int(value) & mask
    return max(width - bin(ones | zeros).count("1"), 1)


def origin_rom(plan: Plan) -> tuple[tuple[int, ...], int] | None:
    """What the origin table of a comparator plan holds: ``(entries, shift)``, or None without origins.

    The HDL keeps only the low :func:`~hwact.model.offset_bits` bits of ``x - origin`` (``t``
    is non-negative and below ``2**bits``), so only the origins' low ``bits`` bits matter: each is
    stored modulo ``2**bits`` as a signed number (the residue nearest zero), without the low
    ``shift`` bits that every entry has zero (origins aligned to ``2**shift``); the HDL computes
    ``t = (x - (entry << shift))[:bits]``, equal to ``x - origin`` on every code of the segment.
    """
    from .model import offset_bits

    origins = getattr(plan.select, "origins", None)
    if origins is None or isinstance(plan.select, BitSlice):
        return None
    bits = offset_bits(plan)
    half = 1 << (bits - 1)
    residues = [((origin + half) & ((1 << bits) - 1)) - half for origin in origins]
    shift = bits
    for residue in residues:
        if residue:
            shift = min(shift, (residue & -residue).bit_length() - 1)
    shift = min(shift, bits - 1)
    return tuple(residue >> shift for residue in residues), shift


def _tables(plan: Plan, prefix: str = "") -> list[Table]:
    """The ROMs the HDL builds for one lane (see :func:`hwact.hdl.primitives.lookup`)."""
    from .plan import is_wiring

    rows = plan.table.rows
    degree = plan.table.degree
    operand_columns = {k for _, k in plan.table.operand}
    tables = []
    if len(rows) >= ROM_MIN_DEPTH:
        for k in range(degree + 1):
            column = [row[k] for row in rows]
            if k in operand_columns or len(set(column)) == 1:
                continue
            if k == degree and degree and all(map(is_wiring, column)):  # shifted copies of t, no ROM
                continue
            tables.append(Table(f"{prefix}c{k}", len(rows), column_bits(column),
                                varying_bits(column, column_bits(column))))
        origins = origin_rom(plan)
        if origins is not None and len(set(origins[0])) > 1:
            tables.append(Table(f"{prefix}origin", len(rows), column_bits(origins[0]),
                                varying_bits(origins[0], column_bits(origins[0]))))
    if plan.product is not None and plan.product.factor_plan is not None:
        tables += _tables(plan.product.factor_plan, f"{prefix}f_")
    return tables


def plan_cost(plan: Plan) -> Cost:
    """What ``plan`` costs in hardware, per lane (see :class:`Cost`)."""
    rows = plan.table.rows
    degree = plan.table.degree
    columns = [[row[k] for row in rows] for k in range(degree + 1)]
    varying = [c for c in columns if len(set(c)) > 1]
    table_bits = len(rows) * sum(column_bits(c) for c in varying)
    origins = origin_rom(plan)
    if origins is not None and len(set(origins[0])) > 1:
        table_bits += len(rows) * column_bits(origins[0])
    comparators = 0 if isinstance(plan.select, BitSlice) else len(plan.select.thresholds)
    widths = analyze(plan)
    t_bits = widths.t.operand_bits
    multipliers = []
    if degree and plan.table.needs_multiplier(degree):
        # The first step multiplies by the table's top column (a run-time operand where PReLU
        # puts its slope); a column of 0 and powers of two is wiring (ReLU's 0 and 1).
        top = column_bits(columns[degree])
        if any(k == degree for _, k in plan.table.operand):
            top = max(top, plan.operand_fmt.width)
        multipliers.append((top, t_bits))
    # Later steps multiply the accumulator, always a multiplier (as the HDL builds them).
    multipliers += [(total.operand_bits, t_bits) for total in widths.sums[:-1]]
    if plan.product is not None:  # gated units: one more multiplier, and the factor's own plan
        multipliers.append((widths.unfolded.operand_bits, widths.factor.operand_bits))
        if plan.product.factor_plan is not None:
            inner = plan_cost(plan.product.factor_plan)
            table_bits += inner.table_bits
            comparators += inner.comparators
            multipliers += inner.multipliers
    # The figure of merit auto minimizes: ROM bits, plus a multiplier's partial-product bits,
    # plus a comparator per threshold (one LUT per input bit).
    cost = table_bits + sum(a * b for a, b in multipliers) + comparators * plan.in_fmt.width
    return Cost(table_bits=table_bits, segments=len(rows), comparators=comparators, multipliers=tuple(multipliers),
                tables=tuple(_tables(plan)), in_bits=plan.in_fmt.width, cost=cost)

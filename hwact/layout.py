"""The lane and operand packing of one transfer: the single definition every backend reads.

A unit processes ``lanes`` codes per transfer. Its operands travel in two 32-bit registers
``rs1`` and ``rs2`` and its results in one, ``rd`` (the names of the RISC-V custom
instruction; the stream unit's payload is the same bits, see :func:`payload_words`):

* one-operand units: ``rs1`` holds the input lanes, ``rs2`` is unused;
* two-operand units: ``rs1`` holds the input lanes ``x`` (the table's input: the gate input
  ``b`` of the GLU family), ``rs2`` the operand lanes ``a`` (PReLU's slope, maxout's second
  input, the GLU family's factor in ``glu(a, b) = a * sigmoid(b)``);
* ``rd`` holds the output lanes; a mirror plan (CReLU) has two outputs per lane, ``f(x)`` at
  field ``2 * lane`` and ``f(-x)`` at field ``2 * lane + 1``.

In every register field ``i`` occupies bits ``[i * width, (i + 1) * width)`` (lane 0 lowest)
with ``width`` the width of its format; codes are raw two's complement (or unsigned) bit
patterns, and the bits above the last field are zero on output and ignored on input. The
stream payload of a two-operand unit is the ``rs1`` fields with the ``rs2`` fields directly
above them (no padding between), so a 32-bit register pair maps onto it field for field.

Codes go in and come out as flat arrays in lane order: transfer ``j`` lane ``i`` is element
``j * lanes + i``. The Amaranth ``payload_layout`` (:mod:`hwact.hdl.unit`), the simulator glue
(:mod:`hwact.verify.runner`), the C header (:mod:`hwact.cgen`) and the CFU all derive their
packing from :func:`transfer_layout`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .fixed import Fmt, IntArray
from .plan import Plan

__all__ = ["LANES", "REGISTER_BITS", "Group", "TransferLayout", "check_lanes", "pack_inputs", "pack_outputs",
           "payload_words", "transfer_layout", "unpack_inputs", "unpack_outputs"]

#: Lane counts a unit may have.
LANES = (1, 2, 4)
#: A transfer must fit the 32-bit registers of the RISC-V cores the units serve.
REGISTER_BITS = 32


@dataclass(frozen=True)
class Group:
    """The fields of one operand (or of the results) in one register.

    Field ``i`` (``0 <= i < count``) sits at bits ``[offset(i), offset(i) + fmt.width)`` of
    ``register``, and at ``payload_offset + offset(i)`` of the stream payload.
    """

    #: ``"x"`` (the plan's input), ``"a"`` (the run-time operand) or ``"y"`` (the results).
    name: str
    #: ``"rs1"``, ``"rs2"`` or ``"rd"``.
    register: str
    fmt: Fmt
    #: Number of fields: the lane count (twice that for a mirror plan's results).
    count: int
    #: Where the group starts in the stream payload (the ``rs2`` group sits above ``rs1``'s).
    payload_offset: int

    @property
    def width(self) -> int:
        """Bits per field."""
        return self.fmt.width

    @property
    def bits(self) -> int:
        """Bits the group occupies (``count * width``)."""
        return self.count * self.fmt.width

    def offset(self, field: int) -> int:
        """The bit offset of field ``field`` in its register."""
        if not 0 <= field < self.count:
            raise ValueError(f"field must be in 0..{self.count - 1}, not {field}")
        return field * self.fmt.width


@dataclass(frozen=True)
class TransferLayout:
    """Where every code of one transfer sits (see the module docstring)."""

    lanes: int
    #: The input groups in payload order, lowest first (``rs1``'s group, then ``rs2``'s if any).
    inputs: tuple[Group, ...]
    output: Group

    @property
    def rs1(self) -> Group:
        return self.inputs[0]

    @property
    def rs2(self) -> Group | None:
        return self.inputs[1] if len(self.inputs) > 1 else None

    def group(self, name: str) -> Group:
        """The input group named ``"x"`` or ``"a"``, or the output group ``"y"``."""
        for group in (*self.inputs, self.output):
            if group.name == name:
                return group
        raise ValueError(f"this transfer has no group {name!r}")

    @property
    def payload_bits(self) -> int:
        """Width of the stream's input payload."""
        return sum(group.bits for group in self.inputs)


def check_lanes(plan: Plan, lanes: int) -> None:
    """Raise ``ValueError`` unless ``lanes`` lanes of ``plan``'s codes fit the registers."""
    if not isinstance(lanes, int) or isinstance(lanes, bool) or lanes not in LANES:
        raise ValueError(f"lane count must be one of {', '.join(map(str, LANES))}, not {lanes!r}")
    widest = max(f.width for f in (plan.in_fmt, plan.out_fmt, plan.operand_fmt) if f is not None)
    if lanes * widest > REGISTER_BITS:
        raise ValueError(f"{lanes} lanes of {widest}-bit codes do not fit a {REGISTER_BITS}-bit register")
    if lanes * plan.outputs * plan.out_fmt.width > REGISTER_BITS:
        raise ValueError(f"{lanes} lanes of {plan.outputs} {plan.out_fmt.width}-bit outputs do not fit a "
                         f"{REGISTER_BITS}-bit register")


def transfer_layout(plan: Plan, lanes: int) -> TransferLayout:
    """The field layout of one transfer of ``plan`` with ``lanes`` lanes."""
    if not isinstance(plan, Plan):
        raise TypeError(f"plan must be a hwact.plan.Plan, not {plan!r}")
    check_lanes(plan, lanes)
    x = ("x", plan.in_fmt)
    if plan.operand_fmt is None:
        order = [x]
    else:
        a = ("a", plan.operand_fmt)
        order = [x, a]
    inputs, offset = [], 0
    for (name, fmt), register in zip(order, ("rs1", "rs2")):
        inputs.append(Group(name, register, fmt, lanes, offset))
        offset += lanes * fmt.width
    return TransferLayout(lanes, tuple(inputs), Group("y", "rd", plan.out_fmt, lanes * plan.outputs, 0))


# -- packing on NumPy arrays ------------------------------------------------------------------


def _fields(codes: npt.ArrayLike, group: Group, what: str) -> np.ndarray:
    """Codes as raw field bits, one row per transfer (``count`` columns)."""
    array = np.asarray(codes, dtype=np.int64).reshape(-1)
    if array.size % group.count:
        raise ValueError(f"{what}: {array.size} codes do not fill whole transfers of {group.count} fields")
    if array.size and (array.min() < group.fmt.min_code or array.max() > group.fmt.max_code):
        raise ValueError(f"{what} codes must lie in {group.fmt.min_code}..{group.fmt.max_code} for format {group.fmt}")
    return group.fmt.to_bits(array).astype(np.uint64).reshape(-1, group.count)


def _word(codes: npt.ArrayLike, group: Group, what: str, shift: int = 0) -> np.ndarray:
    bits = _fields(codes, group, what)
    shifts = np.arange(group.count, dtype=np.uint64) * np.uint64(group.width) + np.uint64(shift)
    return np.bitwise_or.reduce(bits << shifts, axis=1) if group.count else np.zeros(len(bits), np.uint64)


def _operands(plan: Plan, x: npt.ArrayLike, a: npt.ArrayLike | None) -> dict[str, npt.ArrayLike]:
    if (a is None) != (plan.operand_fmt is None):
        raise ValueError(f"{plan.function} takes {plan.operands} operand(s)")
    return {"x": x} if a is None else {"x": x, "a": a}


def pack_inputs(plan: Plan, lanes: int, x: npt.ArrayLike, a: npt.ArrayLike | None = None
                ) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """Pack input codes (and operand codes) into register words ``(rs1, rs2)``.

    ``x`` and ``a`` are flat arrays of codes in lane order (a multiple of ``lanes`` long);
    ``rs2`` is all zeros for a one-operand unit.
    """
    layout = transfer_layout(plan, lanes)
    given = _operands(plan, x, a)
    words = [_word(given[group.name], group, group.name).astype(np.uint32) for group in layout.inputs]
    if len(words) == 2 and words[0].shape != words[1].shape:
        raise ValueError(f"x and a must have as many codes, not {words[0].size * lanes} and {words[1].size * lanes}")
    return words[0], words[1] if len(words) == 2 else np.zeros_like(words[0])


def payload_words(plan: Plan, lanes: int, x: npt.ArrayLike, a: npt.ArrayLike | None = None) -> npt.NDArray[np.uint64]:
    """The stream unit's input payload of each transfer: ``rs1``'s fields, then ``rs2``'s above them."""
    layout = transfer_layout(plan, lanes)
    rs1, rs2 = pack_inputs(plan, lanes, x, a)
    return rs1.astype(np.uint64) | (rs2.astype(np.uint64) << np.uint64(layout.rs1.bits))


def unpack_inputs(plan: Plan, lanes: int, rs1: npt.ArrayLike, rs2: npt.ArrayLike | None = None
                  ) -> tuple[IntArray, IntArray | None]:
    """Codes ``(x, a or None)`` from register words (the inverse of :func:`pack_inputs`)."""
    layout = transfer_layout(plan, lanes)
    registers = {"rs1": rs1, "rs2": np.zeros_like(np.asarray(rs1)) if rs2 is None else rs2}
    found = {group.name: _unpack(registers[group.register], group) for group in layout.inputs}
    return found["x"], found.get("a")


def pack_outputs(plan: Plan, lanes: int, y: npt.ArrayLike) -> npt.NDArray[np.uint32]:
    """Pack output codes into ``rd`` words; a mirror plan's ``y`` has a last axis of 2."""
    return _word(y, transfer_layout(plan, lanes).output, "output").astype(np.uint32)


def unpack_outputs(plan: Plan, lanes: int, words: npt.ArrayLike) -> IntArray:
    """Output codes from ``rd`` words, in lane order (``(n, 2)`` for a mirror plan)."""
    codes = _unpack(words, transfer_layout(plan, lanes).output)
    return codes.reshape(-1, 2) if plan.mirror else codes


def _unpack(words: npt.ArrayLike, group: Group) -> IntArray:
    array = np.asarray(words)
    if array.size and (array.min() < 0 or array.max() >= 1 << REGISTER_BITS):
        raise ValueError("register words must be 32-bit unsigned integers")
    array = array.astype(np.uint64).reshape(-1, 1)
    shifts = np.arange(group.count, dtype=np.uint64) * np.uint64(group.width)
    raw = (array >> shifts) & np.uint64((1 << group.width) - 1)
    return group.fmt.from_bits(raw.astype(np.int64)).reshape(-1)
